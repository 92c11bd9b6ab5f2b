// Client portal: save each answer as it is given, keep unsent answers in this tab's
// storage until the server has them, and make "Quick exit" leave at once. Without
// JavaScript the page still works: the form's own buttons save, and the exit link
// signs out on the server.
(function () {
  "use strict";

  // Translations come from the djangojs catalogue (portal/i18n/<lang>.js); these
  // fall-backs only matter if that script failed to load.
  var gettext = window.gettext || function (s) { return s; };
  var ngettext = window.ngettext || function (s, p, n) { return n === 1 ? s : p; };
  var interpolate = window.interpolate || function (f, a) { return f.replace("%s", a[0]); };

  var PREFIX = "attune.draft.";
  var FIRST_RETRY_MS = 1000;
  var LONGEST_RETRY_MS = 30000;

  // --- Unsent answers, in sessionStorage --------------------------------------------------
  // Keyed by a random value the server gives this sign-in (never the partner's name) and
  // the form, so answers stay with one partner's session in one tab.

  var drafts = {
    scope: function () { return document.body.dataset.draftScope || ""; },
    key: function (occurrence) { return PREFIX + drafts.scope() + "." + occurrence; },
    read: function (occurrence) {
      if (!drafts.scope()) return {};
      try { return JSON.parse(sessionStorage.getItem(drafts.key(occurrence)) || "{}") || {}; }
      catch (e) { return {}; }
    },
    write: function (occurrence, answers) {
      if (!drafts.scope()) return;
      try {
        if (Object.keys(answers).length === 0) sessionStorage.removeItem(drafts.key(occurrence));
        else sessionStorage.setItem(drafts.key(occurrence), JSON.stringify(answers));
      } catch (e) { /* storage full or disabled: the answers are still on the page */ }
    },
    // Forget everything kept for other sign-ins (another partner on this device, or an
    // ended session), or everything at all when signing out or leaving.
    clear: function (keepScope) {
      try {
        var doomed = [];
        for (var i = 0; i < sessionStorage.length; i++) {
          var name = sessionStorage.key(i);
          if (name && name.indexOf(PREFIX) === 0 &&
              (!keepScope || name.indexOf(PREFIX + keepScope + ".") !== 0)) doomed.push(name);
        }
        doomed.forEach(function (name) { sessionStorage.removeItem(name); });
      } catch (e) { /* nothing stored */ }
    }
  };

  function csrfToken() {
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  // --- The saver: one per form, shared by the questions page and the review page ----------

  function Saver(occurrence, url, status) {
    this.occurrence = occurrence;
    this.url = url;
    this.status = status;
    this.pending = drafts.read(occurrence);
    this.timer = null;
    this.inFlight = false;
    this.failures = 0;
    this.stopped = false;
    this.onSaved = function () {};
    this.onRejected = function () {};
    this.onIdle = function () {};
  }

  Saver.prototype.say = function (text, kind) {
    if (!this.status) return;
    this.status.textContent = text;
    this.status.dataset.state = kind || "";
  };

  Saver.prototype.hasPending = function () { return Object.keys(this.pending).length > 0; };

  Saver.prototype.set = function (linkId, value) {
    this.pending[linkId] = value;
    drafts.write(this.occurrence, this.pending);
  };

  Saver.prototype.schedule = function (ms) {
    var self = this;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(function () { self.flush(false); }, ms);
  };

  // Exponential backoff with jitter, so many browsers coming back after an outage do not
  // all retry in the same second.
  Saver.prototype.retryLater = function () {
    this.failures += 1;
    var ceiling = Math.min(LONGEST_RETRY_MS, FIRST_RETRY_MS * Math.pow(2, this.failures - 1));
    this.schedule(ceiling / 2 + Math.random() * ceiling / 2);
  };

  Saver.prototype.flush = function (leaving) {
    var self = this;
    this.timer = null;
    if (this.stopped || !this.hasPending()) { this.onIdle(); return; }
    if (this.inFlight && !leaving) { this.schedule(300); return; }
    var sent = {};
    Object.keys(this.pending).forEach(function (k) { sent[k] = self.pending[k]; });
    this.inFlight = true;
    this.say(gettext("Saving…"), "saving");
    fetch(this.url, {
      method: "PATCH",
      credentials: "same-origin",
      // When the page is being left, let the request outlive it.
      keepalive: leaving === true,
      headers: {
        "Content-Type": "application/json",
        "Accept": "application/json",
        "X-CSRFToken": csrfToken()
      },
      body: JSON.stringify({ answers: sent })
    }).then(function (response) {
      // An error page from a proxy is not JSON: read it as "no body".
      return response.text().then(function (text) {
        var body = null;
        try { body = JSON.parse(text); } catch (e) { body = null; }
        return { ok: response.ok, status: response.status, body: body };
      });
    }).then(function (result) {
      self.inFlight = false;
      if (result.ok && result.body) {
        self.failures = 0;
        self.forget(sent);
        self.say(gettext("Saved"), "saved");
        self.onSaved(sent, result.body);
        if (self.hasPending()) self.schedule(150); else self.onIdle();
        return;
      }
      if (result.status === 401 || result.status === 403) {
        // Signed out (idle, or from another device): say so and keep the page as it is,
        // so the partner can see what was not saved before signing in again.
        self.stopped = true;
        self.say(gettext("You have been signed out, so your latest answers are not saved. They are still on this page: note anything you want to keep, then sign in again from your email."), "signed-out");
        self.onIdle();
        return;
      }
      if (result.status >= 500 || result.status === 429 || !result.body) {
        self.say(gettext("The server had a problem saving your answers. They are kept on this device and will be sent again shortly."), "server-error");
        self.retryLater();
        return;
      }
      // Refused as invalid: those answers are dropped from what is kept, and shown with
      // their error; the rest of the batch is sent again.
      var fields = (result.body.error && result.body.error.fields) || {};
      var refused = {};
      Object.keys(fields).forEach(function (name) {
        refused[name.replace(/^answers\./, "")] = fields[name][0];
      });
      var invalid = {};
      Object.keys(refused).forEach(function (k) { if (k in sent) invalid[k] = sent[k]; });
      if (Object.keys(invalid).length === 0) invalid = sent;  // a form-level refusal
      self.forget(invalid);
      self.say(gettext("Please look at the marked question: that answer was not saved."), "invalid");
      self.onRejected(refused);
      if (self.hasPending()) self.schedule(150); else self.onIdle();
    }).catch(function () {
      self.inFlight = false;
      self.say(gettext("Connection lost. Your answers are kept on this device and will be sent when the connection is back."), "offline");
      self.retryLater();
    });
  };

  // Drop answers the server now has, unless they were changed again meanwhile.
  Saver.prototype.forget = function (sent) {
    var self = this;
    Object.keys(sent).forEach(function (k) {
      if (k in self.pending && self.pending[k] === sent[k]) delete self.pending[k];
    });
    drafts.write(this.occurrence, this.pending);
  };

  Saver.prototype.watchLeaving = function () {
    var self = this;
    window.addEventListener("pagehide", function () { if (self.hasPending()) self.flush(true); });
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "hidden" && self.hasPending()) self.flush(true);
    });
    window.addEventListener("online", function () {
      if (self.hasPending()) { self.failures = 0; self.schedule(0); }
    });
  };

  // --- The questions page ----------------------------------------------------------------

  function valueOf(field) {
    if (field.type === "radio") {
      var checked = field.form.querySelector('input[name="' + CSS.escape(field.name) + '"]:checked');
      if (!checked) return null;
      var number = Number(checked.value);
      return Number.isNaN(number) ? checked.value : number;
    }
    if (field.type === "number") {
      if (field.value.trim() === "") return null;
      var typed = Number(field.value);
      // Not a number: send it as typed so the server's message names the problem.
      return Number.isNaN(typed) ? field.value : typed;
    }
    return field.value.trim() === "" ? null : field.value;
  }

  function answerIn(form, fieldset) {
    var field = fieldset.querySelector("input, textarea");
    if (!field) return null;
    if (field.type === "radio") {
      var checked = fieldset.querySelector("input:checked");
      return checked ? valueOf(checked) : null;
    }
    return valueOf(field);
  }

  // Questions with a condition (FHIR enableWhen, "=" only) show when earlier answers
  // match; a hidden question counts as unanswered for those after it, as on the server.
  function applyConditions(form) {
    var shown = {};
    form.querySelectorAll("fieldset[data-link-id]").forEach(function (fieldset) {
      var rule = fieldset.dataset.enableWhen ? JSON.parse(fieldset.dataset.enableWhen) : null;
      var visible = true;
      if (rule) {
        var hits = rule.conditions.map(function (condition) {
          var other = form.querySelector('[data-link-id="' + CSS.escape(condition.item) + '"]');
          return Boolean(shown[condition.item]) && other !== null &&
            answerIn(form, other) === condition.answer;
        });
        visible = rule.behavior === "all" ? hits.every(Boolean) : hits.some(Boolean);
      }
      fieldset.hidden = !visible;
      if (visible) shown[fieldset.dataset.linkId] = true;
    });
  }

  function setItemError(fieldset, message) {
    var box = fieldset.querySelector(".item-error");
    if (!box) return;
    box.textContent = message || "";
    box.hidden = !message;
    fieldset.classList.toggle("has-error", Boolean(message));
    if (message) fieldset.setAttribute("aria-describedby", box.id);
    else fieldset.removeAttribute("aria-describedby");
  }

  function updateProgress(answered, total) {
    var bar = document.getElementById("progress");
    var text = document.getElementById("progress-text");
    if (bar) { bar.max = total; bar.value = answered; }
    if (text) {
      text.textContent = interpolate(gettext("%(a)s of %(t)s answered"), { a: answered, t: total }, true);
    }
  }

  // Put answers kept in this tab back on the page (after a reload or a trip elsewhere).
  function restore(form, answers) {
    Object.keys(answers).forEach(function (linkId) {
      var fieldset = form.querySelector('[data-link-id="' + CSS.escape(linkId) + '"]');
      if (!fieldset) return;
      var value = answers[linkId];
      var typed = fieldset.querySelector("textarea, input[type=number]");
      if (typed) { typed.value = value === null ? "" : value; return; }
      fieldset.querySelectorAll("input[type=radio]").forEach(function (radio) {
        radio.checked = value !== null && String(value) === radio.value;
      });
    });
  }

  function setupForm(form) {
    var saver = new Saver(form.dataset.occurrence, form.dataset.autosave,
                          document.getElementById("save-status"));
    saver.onSaved = function (sent, body) {
      Object.keys(sent).forEach(function (linkId) {
        var fieldset = form.querySelector('[data-link-id="' + CSS.escape(linkId) + '"]');
        if (fieldset) setItemError(fieldset, "");
      });
      updateProgress(body.answered, body.total);
    };
    saver.onRejected = function (refused) {
      Object.keys(refused).forEach(function (linkId) {
        var fieldset = form.querySelector('[data-link-id="' + CSS.escape(linkId) + '"]');
        if (fieldset) setItemError(fieldset, refused[linkId]);
      });
    };
    if (saver.hasPending()) restore(form, saver.pending);
    // Answers given before this script ran (on a slow connection the page can be
    // answered before it is fully loaded) or put back by the browser differ from what
    // the server drew: they are sent like any other.
    form.querySelectorAll("[data-link-id]").forEach(function (fieldset) {
      var fields = fieldset.querySelectorAll("input, textarea, select");
      var changed = Array.prototype.some.call(fields, function (field) {
        if (field.type === "radio" || field.type === "checkbox") {
          return field.checked !== field.defaultChecked;
        }
        return field.value !== field.defaultValue;
      });
      if (changed) saver.set(fieldset.dataset.linkId, valueOf(fields[0]));
    });
    if (saver.hasPending()) saver.schedule(0);

    function queue(field) {
      var fieldset = field.closest("[data-link-id]");
      if (!fieldset) return;
      saver.set(fieldset.dataset.linkId, valueOf(field));
      saver.schedule(field.tagName === "TEXTAREA" ? 800 : 150);
    }
    form.addEventListener("change", function (event) {
      applyConditions(form);
      queue(event.target);
    });
    form.addEventListener("input", function (event) {
      if (event.target.tagName === "TEXTAREA") queue(event.target);
    });
    // The no-JS buttons post the whole form, which saves everything on the page: what is
    // kept here is then on its way to the server too.
    form.addEventListener("submit", function () { saver.flush(true); });
    saver.watchLeaving();
  }

  // --- The review page -------------------------------------------------------------------
  // Answers still waiting in this tab are shown as given, never as missing, and are sent
  // before the form is.

  function setupReview(list) {
    var status = document.getElementById("save-status");
    var saver = new Saver(list.dataset.review, list.dataset.autosave, status);
    var submitForm = document.querySelector("form[data-review-submit]");
    var submitWanted = false;

    function show() {
      var missing = 0;
      list.querySelectorAll("li[data-link-id]").forEach(function (row) {
        var linkId = row.dataset.linkId;
        var answer = row.querySelector(".review-answer");
        var waiting = Object.prototype.hasOwnProperty.call(saver.pending, linkId) &&
                      saver.pending[linkId] !== null;
        if (waiting && answer) {
          var labels = {};
          var data = row.querySelector("script[type='application/json']");
          try { labels = JSON.parse(data ? data.textContent : "{}"); } catch (e) { labels = {}; }
          var value = saver.pending[linkId];
          answer.textContent = labels[String(value)] || String(value);
          var note = document.createElement("span");
          note.className = "muted small waiting";
          note.textContent = " (" + gettext("waiting to be sent") + ")";
          answer.appendChild(note);
          row.classList.remove("has-error");
          row.dataset.waiting = "1";
        } else if (row.dataset.waiting) {
          var done = answer && answer.querySelector(".waiting");
          if (done) done.remove();
          delete row.dataset.waiting;
        }
        if (row.hasAttribute("data-missing") && !waiting && !row.dataset.answeredHere) missing += 1;
      });
      var count = document.getElementById("missing-count");
      if (count) {
        count.hidden = missing === 0;
        count.textContent = interpolate(ngettext("%s question still needs an answer.",
                                                 "%s questions still need an answer.", missing), [missing]);
      }
    }

    saver.onSaved = function (sent) {
      Object.keys(sent).forEach(function (linkId) {
        var row = list.querySelector('li[data-link-id="' + CSS.escape(linkId) + '"]');
        if (row && sent[linkId] !== null) row.dataset.answeredHere = "1";
      });
      show();
    };
    saver.onRejected = function () { show(); };
    saver.onIdle = function () {
      show();
      if (submitWanted && !saver.hasPending() && !saver.stopped) {
        submitWanted = false;
        submitForm.submit();
      }
    };

    if (submitForm) {
      submitForm.addEventListener("submit", function (event) {
        if (!saver.hasPending()) return;
        // Send what is still waiting first; the form goes once the server has it all.
        event.preventDefault();
        submitWanted = true;
        saver.say(gettext("Sending your last answers first…"), "saving");
        saver.failures = 0;
        saver.schedule(0);
      });
    }
    show();
    if (saver.hasPending()) saver.schedule(0);
    saver.watchLeaving();
  }

  // --- Quick exit and sign-out -------------------------------------------------------------

  function setupQuickExit(link) {
    link.addEventListener("click", function (event) {
      event.preventDefault();
      drafts.clear();
      var exitUrl = link.getAttribute("href");
      try { navigator.sendBeacon(exitUrl); } catch (e) { /* the server visit below still signs out */ }
      // Replace this page in history so Back does not return to it.
      window.location.replace(link.dataset.neutral || exitUrl);
    });
  }

  // Tabbing into a question shows all of its options when they fit on the screen
  // (the sticky progress bar is kept clear by the options' scroll-margin in the CSS).
  function showOptionsOnFocus(event) {
    var input = event.target;
    if (!input.matches || !input.matches(".option input")) return;
    var options = input.closest(".options");
    var fits = options && options.getBoundingClientRect().height < window.innerHeight * 0.8;
    (fits ? options : input.closest(".option")).scrollIntoView({ block: "nearest" });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var scope = document.body.dataset.draftScope;
    if (scope) drafts.clear(scope);
    document.querySelectorAll("[data-clear-drafts]").forEach(function (node) {
      var which = node.dataset.clearDrafts;
      if (node.tagName === "FORM") {
        node.addEventListener("submit", function () { drafts.clear(); });
      } else if (which === "all") {
        drafts.clear();
      } else if (which) {
        drafts.write(which, {});
      }
    });
    document.querySelectorAll("form[data-autosave]").forEach(function (form) {
      setupForm(form);
      // After any answers kept in this tab are put back: they decide what shows.
      applyConditions(form);
    });
    document.querySelectorAll("[data-review]").forEach(setupReview);
    document.querySelectorAll("[data-quick-exit]").forEach(setupQuickExit);
    document.addEventListener("focusin", showOptionsOnFocus);
    var errors = document.getElementById("form-errors");
    if (errors) errors.focus();
  });
})();
