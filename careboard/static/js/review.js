// The weekly review. No inline scripts (strict CSP).
//  - Meeting mode: one section per screen. The bar's previous/next links are real URLs (?section=N) and work
//    without JavaScript; here they step without reloading, and so do ←/→ and Page Up/Page Down (what a
//    presenter's clicker sends), Space, Home and End. The address keeps the section, so a reload stays put.
//  - A card's link opens the card's details in a dialog over the review instead of leaving it (htmx loads the
//    board's detail block into #drawer); Esc, × or a tap beside it closes it and focus goes back to the link.

(function () {
  "use strict";
  var root = document.querySelector("[data-review].meeting");
  if (!root) return;
  var sections = Array.prototype.slice.call(root.querySelectorAll("[data-section]"));
  if (!sections.length) return;
  var counter = document.querySelector("[data-counter]");
  var previous = document.querySelector('[data-step="prev"]');
  var next = document.querySelector('[data-step="next"]');
  var index = Math.max(0, sections.findIndex(function (s) { return s.classList.contains("current"); }));
  // An older link to a section by its #fragment
  var byHash = sections.findIndex(function (s) { return "#" + s.id === window.location.hash; });
  if (byHash >= 0) index = byHash;

  function urlOf(i) {
    var url = new URL(window.location.href);
    url.searchParams.set("section", String(i + 1));
    url.hash = "";
    return url.pathname + url.search;
  }
  function point(link, i) {
    if (!link) return;
    if (i >= 0 && i < sections.length) {
      link.setAttribute("href", urlOf(i));
      link.removeAttribute("aria-disabled");
      link.removeAttribute("role");
    } else {                                          // the first or the last: shown, but leads nowhere
      link.removeAttribute("href");
      link.setAttribute("role", "link");
      link.setAttribute("aria-disabled", "true");
    }
  }
  function show(i, scroll) {
    index = Math.min(Math.max(i, 0), sections.length - 1);
    sections.forEach(function (s, n) { s.classList.toggle("current", n === index); });
    if (counter) counter.textContent = (index + 1) + " / " + sections.length;
    point(previous, index - 1);
    point(next, index + 1);
    history.replaceState(history.state, "", urlOf(index));
    if (scroll) window.scrollTo(0, 0);         // the section's heading right below the bar
  }

  document.addEventListener("click", function (event) {
    var link = event.target.closest("[data-step]");
    if (!link || event.ctrlKey || event.metaKey || event.shiftKey) return;
    event.preventDefault();
    show(index + (link.dataset.step === "next" ? 1 : -1), true);
  });
  var STEPS = { ArrowRight: 1, PageDown: 1, " ": 1, ArrowLeft: -1, PageUp: -1 };
  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.altKey || event.ctrlKey || event.metaKey || event.shiftKey) return;
    if (document.querySelector("dialog[open]")) return;              // keys belong to the card's details
    var target = event.target;
    if (target.closest && target.closest("input, textarea, select, [contenteditable]")) return;
    if (event.key === " " && target.closest && target.closest("a, button, summary")) return;
    if (event.key === "Home" || event.key === "End") {
      event.preventDefault();
      show(event.key === "Home" ? 0 : sections.length - 1, true);
    } else if (STEPS[event.key]) {
      event.preventDefault();
      show(index + STEPS[event.key], true);
    }
  });
  show(index, byHash >= 0);
})();

(function () {
  "use strict";
  var dialog = document.getElementById("card-dialog");
  var host = document.getElementById("drawer");
  if (!dialog || !host) return;
  var supported = typeof dialog.showModal === "function";
  var opener = null;

  // A modal dialog makes the rest of the page inert: the toasts (a change's answer and its "Undo") go into it
  // while it is open, and back after.
  function moveToasts(into) {
    var toasts = document.getElementById("toasts");
    if (toasts && toasts.parentNode !== into) into.appendChild(toasts);
  }
  function focusTitle() {
    var title = host.querySelector(".detail-title");
    if (!title) return;
    title.setAttribute("tabindex", "-1");
    title.focus();
  }

  document.addEventListener("htmx:beforeRequest", function (event) {
    var link = event.detail.elt.closest && event.detail.elt.closest("[data-card-dialog]");
    if (!link) return;
    if (!supported) {                                   // no <dialog>: the card's page, as without JavaScript
      event.preventDefault();
      window.location.href = link.href;
      return;
    }
    opener = link;
  });
  document.addEventListener("htmx:afterSettle", function (event) {
    if (event.detail.target !== host) return;
    if (!host.querySelector(".card-detail")) {          // Done answers with the toast alone: the card is finished
      if (dialog.open) dialog.close();
      return;
    }
    if (!dialog.open) {
      moveToasts(dialog);
      dialog.showModal();
      dialog.scrollTop = 0;
      focusTitle();
    } else if (!dialog.contains(document.activeElement) || document.activeElement === dialog) {
      focusTitle();                                     // the form that was used was replaced by the answer
    }
  });
  var pressed = null;                                   // a tap beside the details: pressed and released there
  dialog.addEventListener("pointerdown", function (event) { pressed = event.target; });
  dialog.addEventListener("click", function (event) {
    if (event.target.closest("[data-close-drawer]") || (event.target === dialog && pressed === dialog)) {
      event.preventDefault();
      dialog.close();
    }
  });
  dialog.addEventListener("close", function () {        // ×, Esc (the dialog's own cancel) or Done
    host.innerHTML = "";
    moveToasts(document.body);
    if (opener && document.body.contains(opener)) opener.focus();
    opener = null;
  });
})();
