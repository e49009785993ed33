// Job dashboard: live refresh of the overview, select-all, and confirmation of destructive actions.
// Served from the assembly under the page's Content-Security-Policy (script-src 'self'): no inline code.
(function () {
  "use strict";

  function refresh(section) {
    var src = section.getAttribute("data-src");
    var every = parseInt(section.getAttribute("data-refresh"), 10) || 5000;
    function tick() {
      if (document.hidden) { setTimeout(tick, every); return; }
      fetch(src, { credentials: "same-origin", headers: { "Accept": "text/html" } })
        .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
        .then(function (html) {
          section.innerHTML = html;
          section.setAttribute("data-updated", new Date().toISOString());
          var stamp = document.getElementById("live-status");
          if (stamp) { stamp.textContent = "live"; stamp.className = "badge ok"; }
        })
        .catch(function () {
          var stamp = document.getElementById("live-status");
          if (stamp) { stamp.textContent = "not updating"; stamp.className = "badge bad"; }
        })
        .finally(function () { setTimeout(tick, every); });
    }
    setTimeout(tick, every);
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-src][data-refresh]").forEach(refresh);

    document.querySelectorAll("input[data-select-all]").forEach(function (all) {
      all.addEventListener("change", function () {
        document.querySelectorAll("input[name='ids']").forEach(function (box) { box.checked = all.checked; });
      });
    });

    document.querySelectorAll("[data-confirm]").forEach(function (button) {
      button.addEventListener("click", function (e) {
        if (!window.confirm(button.getAttribute("data-confirm"))) { e.preventDefault(); }
      });
    });
  });
})();
