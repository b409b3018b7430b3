// A card's detail, in the drawer or on its own page: a refused change points at what to correct, and the
// reassign menu can be narrowed by typing a name. No inline scripts (strict CSP).
(function () {
  "use strict";

  // After a 409 or 422 the answer is swapped into the card's host: bring the field in error (or the message)
  // into view and focus it, so the tap that was refused is answered where the person is looking.
  document.addEventListener("htmx:afterSettle", function (event) {
    var host = event.detail.target;
    var xhr = event.detail.xhr;
    if (!host || !host.hasAttribute || !host.hasAttribute("data-card-host") || !xhr) return;
    if (xhr.status !== 409 && xhr.status !== 422) return;
    var target = host.querySelector(".has-error select, .has-error input:not([type=hidden]), .has-error textarea") ||
      host.querySelector("[data-focus-error]");
    if (!target) return;
    target.scrollIntoView({ block: "center" });
    target.focus({ preventScroll: true });
  });

  // The reassign menu: typing hides the people whose name (or role) does not match.
  function filterOptions(input) {
    var select = document.getElementById(input.dataset.optionFilter);
    if (!select) return;
    var words = input.value.trim().toLowerCase();
    var firstShown = null;
    Array.prototype.forEach.call(select.options, function (option) {
      var group = option.parentNode.tagName === "OPTGROUP" ? option.parentNode.label : "";
      var shown = !words || (option.text + " " + group).toLowerCase().indexOf(words) >= 0;
      option.hidden = !shown;
      if (shown && !firstShown) firstShown = option;
    });
    Array.prototype.forEach.call(select.querySelectorAll("optgroup"), function (group) {
      group.hidden = !Array.prototype.some.call(group.children, function (o) { return !o.hidden; });
    });
    var selected = select.options[select.selectedIndex];
    if (firstShown && (!selected || selected.hidden)) select.value = firstShown.value;
  }
  document.addEventListener("input", function (event) {
    if (event.target.matches && event.target.matches("[data-option-filter]")) filterOptions(event.target);
  });
  function showFilters(root) {
    if (!root.querySelectorAll) return;
    root.querySelectorAll("[data-option-filter]").forEach(function (input) { input.hidden = false; });
  }
  if (window.htmx) window.htmx.onLoad(showFilters);
  else document.addEventListener("DOMContentLoaded", function () { showFilters(document); });
})();
