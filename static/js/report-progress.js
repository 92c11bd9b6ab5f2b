// Report and batch pages: follow the rendering in the background instead of reloading
// the page, say each change once in the polite live region (#live-progress), and when
// nothing is left in progress bring in the finished section of the page (links,
// actions). Without JavaScript, reloading the page shows the same.
(function () {
  "use strict";

  function swapFinishedSection() {
    return fetch(window.location.href, { credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (!html) return;
        // An inert template: nothing in the fetched page runs or applies its styles.
        var fresh = document.createElement("template");
        fresh.innerHTML = html;
        var incoming = fresh.content.querySelector("[data-live-page]");
        var current = document.querySelector("[data-live-page]");
        if (incoming && current) current.replaceChildren.apply(current, Array.from(incoming.childNodes));
      });
  }

  function follow(source, live) {
    var url = source.getAttribute("data-poll-url");
    var bar = source.querySelector("progress");
    var delay = 2000;
    var said = live.textContent.trim();
    function poll() {
      fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (state) {
          if (!state) { setTimeout(poll, Math.min(delay *= 2, 30000)); return; }
          if (bar && typeof state.finished === "number") {
            bar.max = state.total;
            bar.value = state.finished;
            bar.textContent = state.finished + "/" + state.total;
          }
          if (state.in_progress) {
            if (state.message !== said) { live.textContent = state.message; said = state.message; }
            setTimeout(poll, delay);
            return;
          }
          swapFinishedSection().then(function () { live.textContent = state.message; });
        })
        .catch(function () { setTimeout(poll, Math.min(delay *= 2, 30000)); });
    }
    setTimeout(poll, delay);
  }

  document.addEventListener("DOMContentLoaded", function () {
    var live = document.getElementById("live-progress");
    var source = document.querySelector("[data-poll-url]");
    if (live && source) follow(source, live);
  });
})();
