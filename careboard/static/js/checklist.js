// The 5S run page: a save that fails (no connection, server error) marks its item and offers a retry,
// so a tap is never lost silently. The item's form keeps the tapped answer (or chosen photo) for the retry.
(function () {
  "use strict";

  function failed(event) {
    var form = event.detail && event.detail.elt && event.detail.elt.closest("form");
    var item = form && form.closest(".run-item");
    if (!item) return;
    item.classList.add("save-failed");
    item.dataset.retryForm = form.classList.contains("photo-form") ? "photo" : "answer";
    var note = item.querySelector(".save-failed-note");
    if (note) note.hidden = false;
  }
  document.addEventListener("htmx:sendError", failed);
  document.addEventListener("htmx:responseError", failed);

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-retry]");
    if (!button) return;
    var item = button.closest(".run-item");
    var form = item.querySelector(item.dataset.retryForm === "photo" ? ".photo-form" : ".answer-form");
    item.classList.remove("save-failed");
    button.closest(".save-failed-note").hidden = true;
    if (form && window.htmx) window.htmx.trigger(form, "change");
  });
})();
