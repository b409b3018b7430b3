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
  // The board's refresh says which lanes the tablet shows, and which of them it has loaded: the answer draws
  // the changed cells of those, the heads of the others, or the whole board when a lane is new to it.
  document.addEventListener("htmx:configRequest", function (event) {
    if (event.detail.elt.id !== "board-sync") return;
    var lanes = [], loaded = [];
    document.querySelectorAll("#board .lane[data-lane-key]").forEach(function (lane) {
      lanes.push(lane.dataset.laneKey);
      if (!lane.classList.contains("pending")) loaded.push(lane.dataset.laneKey);
    });
    event.detail.parameters.lanes = lanes.join(".");
    event.detail.parameters.loaded = loaded.join(".");
  });
  // Coming back to a hidden tab: refresh at once instead of waiting for the next tick.
  document.addEventListener("visibilitychange", function () {
    if (!document.hidden) {
      document.querySelectorAll("[data-poll]").forEach(function (elt) { htmx.trigger(elt, "board-changed"); });
    }
  });

  // The drawer: opening it moves the focus to the card's title in it (keyboards and screen readers follow);
  // closing it (its button, Escape, or Done emptying it) gives the focus back to the card that opened it.
  var opener = null;                                 // {id: the opener's element id or its card's, elt: itself}

  function openerOf(elt) {
    var item = elt && elt.closest ? elt.closest("li[id]") : null;
    return { elt: elt, id: item ? item.id : null };
  }
  function returnFocus() {
    if (!opener) return;
    var elt = opener.elt;
    if (!elt || !elt.isConnected) {                  // the list was redrawn: the same card, found by its id
      var item = opener.id && document.getElementById(opener.id);
      elt = item && item.querySelector(".card-link");
    }
    opener = null;
    if (elt && elt.isConnected) elt.focus();
  }
  document.addEventListener("htmx:afterSwap", function (event) {
    var drawer = event.detail.target;
    if (!drawer || drawer.id !== "drawer") return;
    var elt = event.detail.requestConfig && event.detail.requestConfig.elt;
    if (elt && !drawer.contains(elt) && elt.isConnected) opener = openerOf(elt);
    if (!drawer.firstElementChild) { returnFocus(); return; }
    if (!drawer.contains(document.activeElement)) {
      var title = drawer.querySelector(".detail-title");
      if (title) title.focus();
    }
  });
  function closeDrawer() {
    var drawer = document.getElementById("drawer");
    if (!drawer || !drawer.firstElementChild) return;
    drawer.innerHTML = "";
    returnFocus();
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

  // Done in the drawer (the server's HX-Trigger "card-done", before its answer empties the drawer): the drawer
  // moves on to the next card of the list the card is in (the previous one at the end of the list), or stays
  // closed when it was the last; the list itself follows by board-changed and lets the done card go.
  document.body.addEventListener("card-done", function (event) {
    var id = event.detail && event.detail.card;
    var item = id && (document.getElementById("card-" + id) || document.getElementById("mine-card-" + id));
    if (!item || !document.getElementById("drawer")) return;
    var next = null;
    [item.nextElementSibling, item.previousElementSibling].forEach(function (sibling) {
      var link = !next && sibling && sibling.querySelector(".card-link[hx-get]");
      if (link) next = link.getAttribute("hx-get");
    });
    if (next) htmx.ajax("GET", next, { target: "#drawer", swap: "innerHTML" });
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
    event.preventDefault();                          // without JavaScript the button posts (the server folds it)
    var lane = button.closest(".lane");
    var fold = !lane.classList.contains("collapsed");
    lane.classList.toggle("collapsed", fold);
    button.setAttribute("aria-expanded", fold ? "false" : "true");
    var keys = folded(board).filter(function (key) { return key !== button.dataset.lane; });
    if (fold) keys.push(button.dataset.lane);
    keep(board, keys);
    // A lane folded when the board was drawn came with its head only: unfolded, its cards are fetched.
    if (!fold && lane.classList.contains("pending") && lane.dataset.src) {
      htmx.ajax("GET", lane.dataset.src, { source: lane, target: lane, swap: "outerHTML" });
    }
  });

  // The column heads stick below the header; each lane's head below them (--board-head-h).
  function measure() {
    var heads = document.querySelector("#board .board-columns");
    if (heads) document.documentElement.style.setProperty("--board-head-h", heads.offsetHeight + "px");
  }
  htmx.onLoad(measure);
  window.addEventListener("resize", measure);
})();
