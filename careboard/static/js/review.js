// Meeting mode of the weekly review: one section at a time; tap, → or Space for the next, ← for the previous.
(function () {
  "use strict";
  var root = document.querySelector("[data-review].meeting");
  if (!root) return;
  var sections = Array.prototype.slice.call(root.querySelectorAll("[data-section]"));
  var counter = root.querySelector("[data-counter]");
  var index = Math.max(0, sections.findIndex(function (s) { return "#" + s.id === window.location.hash; }));
  root.classList.add("js");
  function show(i) {
    index = Math.min(Math.max(i, 0), sections.length - 1);
    sections.forEach(function (s, n) { s.classList.toggle("current", n === index); });
    if (counter) counter.textContent = (index + 1) + " / " + sections.length;
    history.replaceState(null, "", "#" + sections[index].id);
  }
  document.addEventListener("keydown", function (event) {
    if (event.target.closest("input, textarea, select")) return;
    if (event.key === "ArrowRight" || event.key === " " || event.key === "PageDown") { event.preventDefault(); show(index + 1); }
    if (event.key === "ArrowLeft" || event.key === "PageUp") { event.preventDefault(); show(index - 1); }
  });
  root.addEventListener("click", function (event) {
    if (event.target.closest("a, button, input, textarea, select, label")) return;
    show(index + 1);
  });
  show(index);
})();
