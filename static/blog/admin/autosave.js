/* Autosave of the post form: never lose a word.
 *
 * - Every change is copied at once into this browser (localStorage), and a few seconds
 *   later sent to the server as an autosave, which never touches the live post.
 * - If the server cannot be reached or the session has ended, the author is told, and
 *   the browser's copy stays until the post is saved.
 * - On opening the form, a newer autosave (the server's, else the browser's) is offered:
 *   restore it into the form, or discard it.
 * - Leaving the page with unsaved changes asks first.
 */
"use strict";
(function () {
  var config = JSON.parse(document.getElementById("bytepress-autosave").textContent);
  var form = document.getElementById("post_form");
  var box = document.querySelector(".bytepress-autosave");
  var DELAY_MS = 3000;
  var SKIPPED = ["csrfmiddlewaretoken", "_post_id"];
  // Kept with each copy and restored with it, so that a save of restored text is still
  // checked against saves made since the text was written; but it is not content.
  var BASE = "_opened_revision";
  var dirty = false;
  var submitting = false;
  var timer = null;

  function csrfToken() {
    var field = form.querySelector('input[name="csrfmiddlewaretoken"]');
    return field ? field.value : "";
  }

  function values() {
    var data = {};
    new FormData(form).forEach(function (value, name) {
      if (SKIPPED.indexOf(name) !== -1 || typeof value !== "string") return;
      (data[name] = data[name] || []).push(value);
    });
    return data;
  }

  function show(message, kind, actions) {
    box.hidden = false;
    box.className = "bytepress-autosave" + (kind ? " is-" + kind : "");
    box.replaceChildren(document.createTextNode(message));
    (actions || []).forEach(function (action) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "button";
      button.textContent = action.label;
      button.addEventListener("click", action.run);
      box.appendChild(document.createTextNode(" "));
      box.appendChild(button);
    });
  }

  function clock(iso) {
    return new Date(iso).toLocaleString([], { dateStyle: "medium", timeStyle: "short" });
  }

  // --- the browser's copy ---------------------------------------------------------------

  function readLocal() {
    try {
      return JSON.parse(localStorage.getItem(config.storageKey) || "null");
    } catch (error) {
      return null;
    }
  }

  function writeLocal(data) {
    try {
      localStorage.setItem(config.storageKey, JSON.stringify({ savedAt: new Date().toISOString(), form: data }));
    } catch (error) {
      /* storage full or disabled: the server copy is all there is */
    }
  }

  function dropLocal(key) {
    try {
      localStorage.removeItem(key || config.storageKey);
    } catch (error) {
      /* nothing to drop */
    }
  }

  // A save that went through (see PostAdmin.response_add/response_change) spent a copy.
  var saved = document.cookie.match(/(?:^|; )bytepress_saved=([^;]*)/);
  if (saved) {
    dropLocal(decodeURIComponent(saved[1]));
    document.cookie = "bytepress_saved=; Max-Age=0; Path=/; SameSite=Lax";
  }

  // --- saving ---------------------------------------------------------------------------

  function send() {
    var body = new FormData(form);
    body.set("_post_id", config.postId);
    fetch(config.url, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken() },
    })
      .then(function (response) {
        return response.json().catch(function () { return {}; }).then(function (data) {
          if (!response.ok && !data.error && response.status === 403) {
            throw new Error("This page is out of date (after logging in again, say): reload it.");
          }
          if (!response.ok) throw new Error(data.error || "The server answered " + response.status + ".");
          return data;
        });
      })
      .then(function (data) {
        show("Autosaved at " + clock(data.saved_at) + ". Readers see the post as it was last saved.", "ok");
      })
      .catch(function (error) {
        var reason = error instanceof TypeError ? "The server cannot be reached." : error.message;
        show(reason + " Your changes are not saved on the server: they are kept in this browser until you save.", "error");
      });
  }

  function changed() {
    if (submitting) return;
    dirty = true;
    writeLocal(values());
    clearTimeout(timer);
    timer = setTimeout(send, DELAY_MS);
  }

  form.addEventListener("input", changed);
  form.addEventListener("change", changed);
  form.addEventListener("submit", function () {
    submitting = true;
    clearTimeout(timer);
  });
  window.addEventListener("beforeunload", function (event) {
    if (!dirty || submitting) return;
    event.preventDefault();
    event.returnValue = "";
  });

  // --- restoring ------------------------------------------------------------------------

  function ensureRows(prefix, count) {
    var total = form.querySelector('input[name="' + prefix + '-TOTAL_FORMS"]');
    var add = document.querySelector("#" + prefix + "-group .add-row a");
    while (total && add && Number(total.value) < count) {
      add.click();
    }
  }

  function fill(data) {
    var rowsKept = {};  // inline prefix -> rows the copy has
    Object.keys(data).forEach(function (name) {
      var match = name.match(/^(\w+)-TOTAL_FORMS$/);
      if (match) {
        rowsKept[match[1]] = Number(data[name][0]);
        ensureRows(match[1], rowsKept[match[1]]);
      }
    });
    Array.prototype.forEach.call(form.elements, function (field) {
      if (!field.name || SKIPPED.indexOf(field.name) !== -1 || field.type === "file") return;
      if (/-(TOTAL|INITIAL|MIN_NUM|MAX_NUM)_FORMS$/.test(field.name)) return;
      var row = field.name.match(/^(\w+)-(\d+)-(.+)$/);
      if (row && row[1] in rowsKept && Number(row[2]) >= rowsKept[row[1]]) {
        // A row the copy did not have: it was deleted then, so delete it now.
        if (row[3] === "DELETE") field.checked = true;
        return;
      }
      // A row's own id and its post's are the page's, whatever the copy says.
      if (row && (row[3] === "id" || row[3] === "post")) return;
      var wanted = data[field.name] || [];
      if (field.type === "checkbox" || field.type === "radio") {
        field.checked = wanted.indexOf(field.value) !== -1;
      } else if (field.tagName === "SELECT") {
        // A searchable select lists only its current choice: add the one the copy had.
        wanted.forEach(function (value) {
          var known = Array.prototype.some.call(field.options, function (o) { return o.value === value; });
          if (value && !known) field.add(new Option(value, value));
        });
        Array.prototype.forEach.call(field.options, function (option) {
          option.selected = wanted.indexOf(option.value) !== -1;
        });
      } else if (field.type !== "submit" && field.type !== "button") {
        field.value = wanted.length ? wanted[0] : "";
      }
      field.dispatchEvent(new Event("change", { bubbles: true }));
      field.dispatchEvent(new Event("input", { bubbles: true }));
    });
  }

  function offer(copy, source, discard) {
    show(
      "There are unsaved changes from " + clock(copy.savedAt) + " (" + source + ").",
      "offer",
      [
        {
          label: "Restore them",
          run: function () {
            fill(copy.form);
            show("Restored the changes from " + clock(copy.savedAt) + ". Save to keep them.", "ok");
          },
        },
        {
          label: "Discard",
          run: function () {
            discard();
            show("Discarded the unsaved changes.", "ok");
          },
        },
      ]
    );
  }

  function differs(data) {
    var now = values();
    return Object.keys(data).some(function (name) {
      if (/_FORMS$/.test(name) || name === BASE) return false;
      return JSON.stringify(data[name]) !== JSON.stringify(now[name] || []);
    });
  }

  function discardOnServer() {
    var body = new FormData();
    body.set("_post_id", config.postId);
    fetch(config.discardUrl, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken() },
    });
  }

  var local = readLocal();
  if (document.querySelector(".errornote")) {
    // The form came back with errors: it holds what was typed; keep copying it.
    return;
  }
  // The newer of the server's autosave and the browser's copy is offered; discarding
  // it drops that one only.
  var server = config.offered && config.offered.form && differs(config.offered.form) ? config.offered : null;
  var browser = local && local.form && differs(local.form) ? local : null;
  if (server && (!browser || new Date(server.savedAt) >= new Date(browser.savedAt))) {
    offer(server, "autosaved", discardOnServer);
  } else if (browser) {
    offer(browser, "kept in this browser", dropLocal);
  }
})();
