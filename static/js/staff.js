// Staff pages: the little behaviour that would otherwise be inline (the Content
// Security Policy allows scripts from files only).
(function () {
  "use strict";

  // A new API token is selected whole when its field is focused, ready to copy.
  document.querySelectorAll("[data-select-on-focus]").forEach(function (field) {
    field.addEventListener("focus", function () { field.select(); });
    field.addEventListener("click", function () { field.select(); });
  });

  // Fields that only matter when a checkbox is ticked (the repeat schedule of an
  // assignment) are hidden while it is not. Without script they simply all show.
  document.querySelectorAll("[data-shown-by]").forEach(function (block) {
    var box = document.getElementById(block.getAttribute("data-shown-by"));
    if (!box) { return; }
    var sync = function () { block.hidden = !box.checked; };
    box.addEventListener("change", sync);
    sync();
  });

  // A form preview shows what clients see; submitting it does nothing.
  document.querySelectorAll("form[data-preview-only]").forEach(function (form) {
    form.addEventListener("submit", function (event) { event.preventDefault(); });
  });
})();
