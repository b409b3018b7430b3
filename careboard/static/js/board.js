// The board's behaviour: conditional polling (ETag, paused while hidden or dragging), the drawer,
// and drag and drop with SortableJS posting through htmx. No inline scripts, no eval.
(function () {
  "use strict";
  var etags = {};
  var dragging = false;

  // Polls send the ETag they last saw; an unchanged board answers 304 and nothing is swapped.
  document.addEventListener("htmx:configRequest", function (event) {
    var elt = event.detail.elt;
    if (elt.hasAttribute("data-poll") && etags[elt.id] && event.detail.verb === "get" &&
        event.detail.path === elt.getAttribute("hx-get")) {
      event.detail.headers["If-None-Match"] = etags[elt.id];
    }
  });
  document.addEventListener("htmx:beforeRequest", function (event) {
    var elt = event.detail.elt;
    if (elt.hasAttribute("data-poll") && (document.hidden || dragging)) {
      event.preventDefault();                        // paused while the tab is hidden or a card is in hand
    }
  });
  document.addEventListener("htmx:afterRequest", function (event) {
    var elt = event.detail.elt;
    var xhr = event.detail.xhr;
    if (elt && elt.hasAttribute && elt.hasAttribute("data-poll") && xhr && xhr.status === 200) {
      var tag = xhr.getResponseHeader("ETag");
      if (tag) etags[elt.id] = tag;
    }
  });
  // Coming back to a hidden tab: refresh at once instead of waiting for the next tick.
  document.addEventListener("visibilitychange", function () {
    if (!document.hidden) {
      document.querySelectorAll("[data-poll]").forEach(function (elt) { htmx.trigger(elt, "board-changed"); });
    }
  });

  // The drawer: close with its button or Escape.
  function closeDrawer() {
    var drawer = document.getElementById("drawer");
    if (drawer) drawer.innerHTML = "";
  }
  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-close-drawer]") && document.getElementById("drawer")) {
      event.preventDefault();
      closeDrawer();
    }
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") closeDrawer();
  });

  // Drag and drop.
  function boardOf(elt) { return elt.closest("#board"); }

  function mayDrop(from, to, board) {
    if (board.dataset.canReassign === "1") return true;
    // Staff move their own cards between columns of their own lane only.
    return (to.dataset.assignee || "") === (from.dataset.assignee || "") &&
      (board.dataset.lanes === "role" || to.dataset.assignee === board.dataset.viewer);
  }

  function onEnd(event) {
    dragging = false;
    var item = event.item;
    var to = event.to;
    if (event.from === to && event.oldIndex === event.newIndex) return;
    var board = boardOf(to);
    var values = {
      card: item.dataset.card,
      column: to.dataset.column,
      position: board.dataset.lanes === "role" ? -1 : event.newIndex,
      version: item.dataset.version
    };
    if (to.dataset.assignee !== undefined) values.assignee = to.dataset.assignee;
    // The answer is a toast (with its undo), or the error's toast; the board follows by its board-changed event.
    htmx.ajax("POST", board.dataset.dropUrl, { source: item, target: "#toasts", swap: "beforeend", values: values });
  }

  function initSortable(root) {
    if (typeof Sortable === "undefined") return;
    var lists = root.querySelectorAll ? root.querySelectorAll("ol[data-sortable]") : [];
    lists.forEach(function (list) {
      if (list.dataset.sortableReady) return;
      list.dataset.sortableReady = "1";
      Sortable.create(list, {
        group: {
          name: "board",
          put: function (to, from) { return mayDrop(from.el, to.el, boardOf(to.el)); }
        },
        animation: 150,
        filter: ".locked",
        preventOnFilter: false,
        delay: 120,
        delayOnTouchOnly: true,
        forceFallback: true,            // one code path for mouse and touch (tablets)
        fallbackTolerance: 4,
        onStart: function () { dragging = true; },
        onEnd: onEnd
      });
    });
  }
  htmx.onLoad(initSortable);
})();

// Lanes fold and unfold with the button in their head; the folded ones are kept per person in a cookie, so the
// server renders the board as they left it (no flash on load, and the poll's morph keeps it).
(function () {
  "use strict";
  function folded(board) {
    var name = board.dataset.lanesCookie + "=";
    var entry = document.cookie.split("; ").filter(function (c) { return c.indexOf(name) === 0; })[0];
    return entry ? entry.slice(name.length).split(".").filter(Boolean) : [];
  }
  function keep(board, keys) {
    var secure = window.location.protocol === "https:" ? "; Secure" : "";
    document.cookie = board.dataset.lanesCookie + "=" + keys.join(".") + "; path=/; max-age=31536000; SameSite=Lax" + secure;
  }
  document.addEventListener("click", function (event) {
    var button = event.target.closest(".lane-toggle");
    var board = button && button.closest("#board");
    if (!board) return;
    var lane = button.closest(".lane");
    var fold = !lane.classList.contains("collapsed");
    lane.classList.toggle("collapsed", fold);
    button.setAttribute("aria-expanded", fold ? "false" : "true");
    var keys = folded(board).filter(function (key) { return key !== button.dataset.lane; });
    if (fold) keys.push(button.dataset.lane);
    keep(board, keys);
  });

  // The column heads stick below the header; each lane's head below them (--board-head-h).
  function measure() {
    var heads = document.querySelector("#board .board-columns");
    if (heads) document.documentElement.style.setProperty("--board-head-h", heads.offsetHeight + "px");
  }
  htmx.onLoad(measure);
  window.addEventListener("resize", measure);
})();
