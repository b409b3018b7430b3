// The 5S run page: a save that does not reach the server (no connection: htmx:sendError) or that the server
// fails on (5xx: htmx:responseError) marks its item and offers a retry, so a tap is never lost silently; the
// note names the cause, the connection only when the request did not reach the server. The item's form keeps the tapped
// answer (or chosen photo) for the retry. A save the server refuses (4xx: not a photo, too large, a stale
// page) is no connection failure: the server's message is the only one shown (issue 17, item 12).
(function () {
  "use strict";

  function itemOf(event) {
    var form = event.detail && event.detail.elt && event.detail.elt.closest("form");
    var item = form && form.closest(".run-item");
    return item ? { form: form, item: item } : null;
  }

  function clear(item) {
    item.classList.remove("save-failed");
    var note = item.querySelector(".save-failed-note");
    if (note) note.hidden = true;
  }

  function failed(event) {
    var found = itemOf(event);
    if (!found) return;
    var status = event.detail.xhr ? event.detail.xhr.status : 0;
    if (status >= 400 && status < 500) return;          // refused by the server: its own message says why
    found.item.classList.add("save-failed");
    found.item.dataset.retryForm = found.form.classList.contains("photo-form") ? "photo" : "answer";
    var note = found.item.querySelector(".save-failed-note");
    if (!note) return;
    var cause = event.type === "htmx:sendError" ? "network" : "server";
    note.querySelectorAll("[data-cause]").forEach(function (span) { span.hidden = span.dataset.cause !== cause; });
    note.hidden = false;
  }
  document.addEventListener("htmx:sendError", failed);
  document.addEventListener("htmx:responseError", failed);

  // A new attempt from an item: the note and the "offline" toast of an earlier attempt no longer hold.
  document.addEventListener("htmx:beforeRequest", function (event) {
    var found = itemOf(event);
    if (!found) return;
    clear(found.item);
    document.querySelectorAll('#toasts .toast[data-kind="offline"]').forEach(function (toast) { toast.remove(); });
  });

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-retry]");
    if (!button) return;
    var item = button.closest(".run-item");
    var form = item.querySelector(item.dataset.retryForm === "photo" ? ".photo-form" : ".answer-form");
    clear(item);
    if (form && window.htmx) window.htmx.trigger(form, "change");
  });
})();
