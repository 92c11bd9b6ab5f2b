// The form builder: a live check and phone preview as the owner types, and only
// the fields that matter for each kind of item. Everything here also works by
// pressing "Check" (the server answers the same), so the page works without it.
(function () {
  "use strict";

  var form = document.getElementById("builder");
  if (!form) { return; }
  var problems = document.getElementById("builder-problems");
  var preview = document.getElementById("builder-preview");
  var live = document.getElementById("builder-live");
  var url = form.getAttribute("data-check-url");
  var timer = null;
  var pending = null;
  var lastSummary = "";

  var CHOICE_TYPES = ["ordinal", "choice"];

  // Number bounds only for number items, an answer set only for choices.
  function showFieldsFor(select) {
    var entry = select.closest(".builder-entry");
    if (!entry) { return; }
    var kind = select.value;
    var numbers = entry.querySelector("[data-number-fields]");
    if (numbers) { numbers.hidden = kind !== "number"; }
    var set = entry.querySelector("select[name$='-answer_set'], input[name$='-answer_set']");
    if (set) {
      var field = set.closest(".field");
      if (field) { field.hidden = CHOICE_TYPES.indexOf(kind) === -1; }
    }
    var reverse = entry.querySelector("input[name$='-reverse']");
    if (reverse) {
      var check = reverse.closest(".field");
      if (check) { check.hidden = kind === "text"; }
    }
  }

  function typeSelects() {
    return form.querySelectorAll("select[name^='items-'][name$='-type']");
  }

  typeSelects().forEach(showFieldsFor);

  function check() {
    var data = new FormData(form);
    data.delete("action");
    if (pending) { pending.abort(); }
    pending = new AbortController();
    fetch(url, {
      method: "POST",
      body: data,
      credentials: "same-origin",
      headers: {"X-Requested-With": "fetch"},
      signal: pending.signal
    }).then(function (response) {
      if (!response.ok) { throw new Error(String(response.status)); }
      return response.json();
    }).then(function (answer) {
      problems.innerHTML = answer.problems;
      preview.innerHTML = answer.preview;
      var summary = document.getElementById("builder-summary");
      var text = summary ? summary.textContent.trim() : "";
      // Announced only when it changes, so typing is not interrupted at every key.
      if (text !== lastSummary) {
        live.textContent = text;
        lastSummary = text;
      }
    }).catch(function (error) {
      if (error && error.name === "AbortError") { return; }
      live.textContent = form.getAttribute("data-check-failed") || "";
    });
  }

  function soon() {
    window.clearTimeout(timer);
    timer = window.setTimeout(check, 500);
  }

  form.addEventListener("input", soon);
  form.addEventListener("change", function (event) {
    if (event.target.matches("select[name$='-type']")) { showFieldsFor(event.target); }
    soon();
  });
  var language = document.getElementById("preview-language");
  if (language) { language.addEventListener("change", soon); }

  // The preview shows what clients see; nothing in it is sent anywhere.
  preview.addEventListener("submit", function (event) { event.preventDefault(); });

  check();
})();
