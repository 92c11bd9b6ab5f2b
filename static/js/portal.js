// Client portal: save each answer as it is given, keep the progress bar true,
// and make "Quick exit" leave at once. Without JavaScript the page still works:
// the form's own buttons save, and the exit link signs out on the server.
(function () {
  "use strict";

  function csrfToken(form) {
    var input = form.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function valueOf(field) {
    if (field.type === "radio") {
      var checked = field.form.querySelector('input[name="' + CSS.escape(field.name) + '"]:checked');
      if (!checked) return null;
      var number = Number(checked.value);
      return Number.isNaN(number) ? checked.value : number;
    }
    return field.value.trim() === "" ? null : field.value;
  }

  function setItemError(fieldset, message) {
    var box = fieldset.querySelector(".item-error");
    if (!box) return;
    box.textContent = message || "";
    box.hidden = !message;
    fieldset.classList.toggle("has-error", Boolean(message));
    if (message) {
      fieldset.setAttribute("aria-describedby", box.id);
    } else {
      fieldset.removeAttribute("aria-describedby");
    }
  }

  function updateProgress(form, answered, total) {
    var bar = document.getElementById("progress");
    var text = document.getElementById("progress-text");
    if (bar) { bar.max = total; bar.value = answered; }
    if (text && form.dataset.progressTemplate) {
      text.textContent = form.dataset.progressTemplate
        .replace("%(a)s", answered).replace("%(t)s", total);
    }
  }

  function setupAutosave(form) {
    var url = form.dataset.autosave;
    var status = document.getElementById("save-status");
    var pending = {};
    var timer = null;
    var inFlight = false;
    var retryDelay = 3000;
    var signedOut = false;

    function requeue(answers) {
      Object.keys(answers).forEach(function (k) { if (!(k in pending)) pending[k] = answers[k]; });
    }

    function retryLater(answers) {
      // Offline or server trouble: keep the answers queued and try again, less often each time.
      requeue(answers);
      if (status) status.textContent = form.dataset.failedText;
      timer = setTimeout(flush, retryDelay);
      retryDelay = Math.min(retryDelay * 2, 60000);
    }

    function flush(leaving) {
      timer = null;
      if (signedOut) return;
      if (inFlight && leaving !== true) { timer = setTimeout(flush, 300); return; }
      var answers = pending;
      pending = {};
      if (Object.keys(answers).length === 0) return;
      inFlight = true;
      fetch(url, {
        method: "PATCH",
        credentials: "same-origin",
        // When the page is being left, let the request outlive it.
        keepalive: leaving === true,
        headers: {
          "Content-Type": "application/json",
          "Accept": "application/json",
          "X-CSRFToken": csrfToken(form)
        },
        body: JSON.stringify({ answers: answers })
      }).then(function (response) {
        // An error page from a proxy is not JSON: read it as "no body".
        return response.text().then(function (text) {
          var body = null;
          try { body = JSON.parse(text); } catch (e) { body = null; }
          return { ok: response.ok, status: response.status, body: body };
        });
      }).then(function (result) {
        inFlight = false;
        if (result.ok && result.body) {
          retryDelay = 3000;
          Object.keys(answers).forEach(function (linkId) {
            var fieldset = form.querySelector('[data-link-id="' + CSS.escape(linkId) + '"]');
            if (fieldset) setItemError(fieldset, "");
          });
          updateProgress(form, result.body.answered, result.body.total);
          if (status) status.textContent = form.dataset.savedText;
          return;
        }
        if (result.status === 401 || result.status === 403) {
          // Signed out (idle, or from another device): say so and keep the page as it is,
          // so the partner can see what was not saved before signing in again.
          signedOut = true;
          if (status) status.textContent = form.dataset.signedOutText;
          return;
        }
        if (!result.body || result.status >= 500 || result.status === 429) {
          retryLater(answers);
          return;
        }
        var fields = (result.body.error && result.body.error.fields) || {};
        Object.keys(fields).forEach(function (name) {
          var linkId = name.replace(/^answers\./, "");
          var fieldset = form.querySelector('[data-link-id="' + CSS.escape(linkId) + '"]');
          if (fieldset) setItemError(fieldset, fields[name][0]);
        });
        if (status) status.textContent = form.dataset.failedText;
      }).catch(function () {
        inFlight = false;
        retryLater(answers);
      });
    }

    function queue(field) {
      var fieldset = field.closest("[data-link-id]");
      if (!fieldset) return;
      pending[fieldset.dataset.linkId] = valueOf(field);
      if (timer) clearTimeout(timer);
      timer = setTimeout(flush, field.tagName === "TEXTAREA" ? 800 : 150);
    }

    form.addEventListener("change", function (event) { queue(event.target); });
    form.addEventListener("input", function (event) {
      if (event.target.tagName === "TEXTAREA") queue(event.target);
    });
    window.addEventListener("pagehide", function () { flush(true); });
  }

  function setupQuickExit(link) {
    link.addEventListener("click", function (event) {
      event.preventDefault();
      var exitUrl = link.getAttribute("href");
      try { navigator.sendBeacon(exitUrl); } catch (e) { /* the server visit below still signs out */ }
      // Replace this page in history so Back does not return to it.
      window.location.replace(link.dataset.neutral || exitUrl);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form[data-autosave]").forEach(setupAutosave);
    document.querySelectorAll("[data-quick-exit]").forEach(setupQuickExit);
    var errors = document.getElementById("form-errors");
    if (errors) errors.focus();
  });
})();
