// Exports page: follow each running export in the background and show its progress,
// without reloading the page. Without JavaScript, reloading the page shows the same.
(function () {
  "use strict";

  function follow(row) {
    var url = row.dataset.exportStatus;
    var delay = 1000;
    function poll() {
      fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (state) {
          if (!state) { setTimeout(poll, Math.min(delay *= 2, 30000)); return; }
          var bar = row.querySelector("progress");
          var percent = row.querySelector("[data-part=percent]");
          var status = row.querySelector("[data-part=status]");
          bar.value = state.progress;
          percent.textContent = state.progress + "%";
          status.textContent = state.status_label + (state.error ? " · " + state.error : "");
          if (state.download_url) {
            var link = document.createElement("a");
            link.className = "button small";
            link.href = state.download_url;
            link.textContent = document.getElementById("download-label").textContent;
            var cell = row.querySelector("[data-part=file]");
            cell.textContent = "";
            cell.appendChild(link);
          }
          if (state.status === "queued" || state.status === "running") {
            setTimeout(poll, delay);
          }
        })
        .catch(function () { setTimeout(poll, Math.min(delay *= 2, 30000)); });
    }
    poll();
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("tr[data-export-status]").forEach(function (row) {
      if (row.dataset.exportStatus) follow(row);
    });
  });
})();
