// Staff pages: the little behaviour that would otherwise be inline (the Content
// Security Policy allows scripts from files only).
(function () {
  "use strict";

  // A new API token is selected whole when its field is focused, ready to copy.
  document.querySelectorAll("[data-select-on-focus]").forEach(function (field) {
    field.addEventListener("focus", function () { field.select(); });
    field.addEventListener("click", function () { field.select(); });
  });

  // A form preview shows what clients see; submitting it does nothing.
  document.querySelectorAll("form[data-preview-only]").forEach(function (form) {
    form.addEventListener("submit", function (event) { event.preventDefault(); });
  });
})();
