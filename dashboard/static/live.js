// Refreshes the figures marked data-live every two seconds from /api/overview (one request
// per open page that has such figures, none while the tab is hidden). Only textContent is
// set: nothing is parsed as HTML.
"use strict";
(function () {
  var PERIOD_MS = 2000;
  function refresh() {
    if (document.hidden) { return; }
    fetch("/api/overview", { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (queues) {
        if (!queues) { return; }
        document.querySelectorAll("[data-queue]").forEach(function (scope) {
          var figures = queues[scope.getAttribute("data-queue")];
          if (!figures) { return; }
          scope.querySelectorAll("[data-live]").forEach(function (cell) {
            var value = figures[cell.getAttribute("data-live")];
            if (value !== undefined && cell.textContent !== value) { cell.textContent = value; }
          });
        });
        document.body.setAttribute("data-refreshed", String(Date.now()));
      })
      .catch(function () { /* the next tick tries again */ });
  }
  // A page without live figures (workers, schedules, a job, sign-in) asks for nothing.
  var live = document.querySelector("[data-queue] [data-live]") !== null;
  document.documentElement.setAttribute("data-polling", live ? "on" : "off");
  if (live) { setInterval(refresh, PERIOD_MS); }
})();
