// CareBoard's only hand-written script: toasts, the idle logout timer. No inline scripts (strict CSP).
(function () {
  "use strict";

  function toast(message, kind) {
    var box = document.getElementById("toasts");
    if (!box) return;
    var el = document.createElement("div");
    el.className = "toast toast-error";
    if (kind) el.dataset.kind = kind;
    el.setAttribute("role", "alert");
    var text = document.createElement("span");
    text.textContent = message;
    var close = document.createElement("button");
    close.type = "button";
    close.className = "toast-close";
    close.textContent = "×";
    el.appendChild(text);
    el.appendChild(close);
    box.appendChild(el);
  }
  window.careboardToast = toast;

  document.addEventListener("click", function (event) {
    var close = event.target.closest(".toast-close");
    if (!close) return;
    event.preventDefault();                       // a toast drawn with the page closes by a link without JavaScript
    close.closest(".toast").remove();
  });

  // A toast that answers a change (data-dismiss: milliseconds) goes by itself; not while it is being used.
  function dismissLater(el) {
    var wait = parseInt(el.dataset.dismiss || "0", 10);
    if (!wait) return;
    setTimeout(function () {
      if (el.matches(":hover, :focus-within")) dismissLater(el);
      else el.remove();
    }, wait);
  }
  var box = document.getElementById("toasts");
  if (box) box.querySelectorAll(".toast[data-dismiss]").forEach(dismissLater);   // drawn with the page (a 303)
  if (box && window.MutationObserver) {
    new MutationObserver(function (records) {
      records.forEach(function (record) {
        record.addedNodes.forEach(function (node) {
          if (node.nodeType === 1 && node.matches(".toast[data-dismiss]")) dismissLater(node);
        });
      });
    }).observe(box, { childList: true });
  }

  // A request that never reached the server: say so, never fail silently.
  document.addEventListener("htmx:sendError", function () {
    toast(document.body.dataset.offlineMessage, "offline");
  });

  // Idle logout on shared tablets: after the idle time without touch or keys, reload; the server,
  // which keeps the authoritative clock, then logs the user out and shows the login page.
  var idle = parseInt(document.body.dataset.idleMs || "0", 10);
  if (idle > 0) {
    var timer = null;
    var arm = function () {
      if (timer) clearTimeout(timer);
      timer = setTimeout(function () { window.location.reload(); }, idle + 5000);
    };
    ["pointerdown", "keydown", "scroll"].forEach(function (name) {
      document.addEventListener(name, arm, { passive: true });
    });
    arm();
  }
})();
document.addEventListener("click", function (event) {
  if (event.target.closest("[data-print]")) { event.preventDefault(); window.print(); }
});

// The header's height as --topbar-h, for what sticks below it (the board's column heads). The stylesheet
// holds the usual heights; this corrects them when the bar wraps differently (a long name, a narrow window).
(function () {
  "use strict";
  var bar = document.querySelector("header.topbar");
  if (!bar) return;
  var root = document.documentElement;
  function measure() { root.style.setProperty("--topbar-h", bar.offsetHeight + "px"); }
  measure();
  if (window.ResizeObserver) new ResizeObserver(measure).observe(bar);
  // The phone's menu (a checkbox): Escape closes it and gives the focus back to it.
  document.addEventListener("keydown", function (event) {
    var toggle = document.getElementById("menu-toggle");
    if (event.key === "Escape" && toggle && toggle.checked) { toggle.checked = false; toggle.focus(); }
  });
})();

// A table that scrolls inside itself (every .table on a phone that is not .stacked, a .table-wrap) can be
// scrolled from the keyboard: while it is wider than its box and holds nothing focusable, it takes the focus
// itself (tabindex=0), and gives it up when it fits again.
(function () {
  "use strict";
  var FOCUSABLE = "a[href], button, input, select, textarea, [tabindex]:not([data-scroll-focus])";
  function mark(root) {
    var scope = root && root.querySelectorAll ? root : document;
    scope.querySelectorAll(".table, .table-wrap").forEach(function (box) {
      var scrolls = box.scrollWidth > box.clientWidth + 1 && !box.querySelector(FOCUSABLE);
      if (scrolls && !box.hasAttribute("tabindex")) {
        box.setAttribute("tabindex", "0");
        box.setAttribute("data-scroll-focus", "");
      } else if (!scrolls && box.hasAttribute("data-scroll-focus")) {
        box.removeAttribute("tabindex");
        box.removeAttribute("data-scroll-focus");
      }
    });
  }
  if (window.htmx) window.htmx.onLoad(mark);
  else document.addEventListener("DOMContentLoaded", function () { mark(document); });
  window.addEventListener("load", function () { mark(document); });
  window.addEventListener("resize", function () { mark(document); });
})();
