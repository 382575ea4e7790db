/* Bytepress additions to the django-markdownx editor in the admin.
 *
 * 1. After an image upload, the inserted Markdown carries placeholder alt text; select
 *    it so the author types the description straight away.
 *    The image also gets blank lines around it: the library types it at the cursor as
 *    is, and only an image alone in its paragraph becomes a figure with caption and srcset.
 * 2. When the server refuses an upload, show its message instead of the library's
 *    bare "Invalid response" text, which is taken back out of the editor.
 * 3. Inline rows added with "Add another" get the live preview too, when they hold an
 *    editor: the library only initialises editors present at page load, so it is
 *    loaded again for new rows.
 * 4. The Link rows (blog/forms.py LinkForm): commentary previewed on demand, and a
 *    group picker whose "New heading…" reveals a text box; headings typed in one row
 *    are offered in the others before saving.
 */
"use strict";
(function () {
  var ALT_PLACEHOLDER = "Describe this image";
  var LIBRARY_ERROR_TEXT = "Invalid response";

  function statusBox(container) {
    var box = container.querySelector(".bytepress-editor-status");
    if (!box) {
      box = document.createElement("p");
      box.className = "bytepress-editor-status";
      box.setAttribute("role", "status");
      box.setAttribute("aria-live", "polite");
      container.appendChild(box);
    }
    return box;
  }

  function say(container, message, isError) {
    var box = statusBox(container);
    box.textContent = message;
    box.classList.toggle("is-error", Boolean(isError));
  }

  // Put the image code at `at` on a block of its own: a blank line before it (unless it
  // starts the text or follows one) and after it (unless one follows). Returns where the
  // code now starts.
  function makeBlock(editor, at, code) {
    var before = editor.value.slice(0, at);
    var after = editor.value.slice(at + code.length);
    var lead = "\n\n";
    if (/^\s*$/.test(before) || /\n[ \t]*\n[ \t]*$/.test(before)) lead = "";
    else if (/\n[ \t]*$/.test(before)) lead = "\n";
    var tail = "\n\n";
    if (/^[ \t]*\n[ \t]*\n/.test(after)) tail = "";
    else if (/^[ \t]*\n/.test(after)) tail = "\n";
    if (lead || tail) {
      editor.value = before + lead + code + tail + after;
      // The library re-renders the preview on input events.
      editor.dispatchEvent(new Event("input"));
    }
    return at + lead.length;
  }

  function onUploaded(event) {
    var container = event.currentTarget;
    var editor = container.querySelector(".markdownx-editor");
    var response = event.detail && event.detail[0];
    var code = response && response.image_code;
    // The library leaves the cursor at the end of the text, so find the code itself:
    // its URL is new with every upload (blog/images.py names files by UUID).
    var start = code ? editor.value.indexOf(code) : -1;
    if (start !== -1) {
      start = makeBlock(editor, start, code);
    } else {
      start = editor.value.lastIndexOf("![" + ALT_PLACEHOLDER + "]");
    }
    if (start !== -1) {
      editor.focus();
      editor.setSelectionRange(start + 2, start + 2 + ALT_PLACEHOLDER.length);
    }
    say(container, "Image uploaded. Type its alt text: a short description for readers who can't see it.");
  }

  function onUploadFailed(event) {
    var container = event.currentTarget;
    var editor = container.querySelector(".markdownx-editor");
    // The library fires this event and then types its error text at the cursor:
    // once it has, put the author's text back exactly as it was.
    var before = editor.value;
    var start = editor.selectionStart;
    var end = editor.selectionEnd;
    setTimeout(function () {
      var polluted = before.slice(0, start) + LIBRARY_ERROR_TEXT + before.slice(end);
      if (editor.value === polluted) {
        editor.value = before;
        editor.setSelectionRange(start, end);
      }
    }, 0);
    var message = "The image could not be uploaded.";
    var detail = event.detail && event.detail[0];
    try {
      var parsed = typeof detail === "string" ? JSON.parse(detail) : detail;
      if (parsed && parsed.error) message = parsed.error;
    } catch (e) {
      /* not JSON: keep the generic message */
    }
    say(container, message, true);
  }

  function watch(root) {
    root.querySelectorAll(".markdownx").forEach(function (container) {
      if (container.dataset.bytepressWatched) return;
      container.dataset.bytepressWatched = "1";
      container.addEventListener("markdownx.fileUploadEnd", onUploaded);
      container.addEventListener("markdownx.fileUploadError", onUploadFailed);
      container.addEventListener("markdownx.update", fillLinkSlots);
    });
  }

  // --- Placed link groups in the body's preview --------------------------------------
  // A "[links: Heading]" line renders as an empty slot; the page puts the post's links
  // under that heading there. The preview does the same with the link rows as they
  // are in the form now, saved or not (commentary as plain text: it is previewed in
  // its own row).

  function linkRows() {
    var rows = [];
    document.querySelectorAll("#links-group tr.form-row:not(.empty-form)").forEach(function (row) {
      var remove = row.querySelector('input[name$="-DELETE"]');
      var title = row.querySelector('input[name$="-title"]');
      if (!title || !title.value.trim() || (remove && remove.checked)) return;
      var picker = row.querySelector(".bytepress-group-picker");
      var heading = picker && picker.classList.contains("is-new")
        ? picker.querySelector(".bytepress-group-new").value.trim()
        : (row.querySelector('select[name$="-group"]') || {}).value || "";
      rows.push({
        heading: heading,
        position: Number((row.querySelector('input[name$="-position"]') || {}).value || 0),
        title: title.value.trim(),
        url: (row.querySelector('input[name$="-url"]') || {}).value || "",
        commentary: (row.querySelector('textarea[name$="-commentary"]') || {}).value || "",
      });
    });
    return rows.sort(function (a, b) { return a.position - b.position; });
  }

  // Edits to the link rows show in the body's preview at once, too.
  function refillLinkSlots(event) {
    if (!event.target.closest || !event.target.closest("#links-group")) return;
    document.querySelectorAll(".markdownx").forEach(function (container) {
      fillLinkSlots({ currentTarget: container });
    });
  }
  document.addEventListener("input", refillLinkSlots);
  document.addEventListener("change", refillLinkSlots);

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text) node.textContent = text;
    return node;
  }

  function fillLinkSlots(event) {
    var preview = event.currentTarget.querySelector(".markdownx-preview");
    var slots = preview ? preview.querySelectorAll(".link-slot[data-link-group]") : [];
    if (!slots.length) return;
    var rows = linkRows();
    slots.forEach(function (slot) {
      var heading = slot.getAttribute("data-link-group");
      var links = rows.filter(function (row) { return row.heading === heading; });
      slot.replaceChildren();
      if (!links.length) {
        slot.appendChild(element("p", "bytepress-slot-missing",
          "No link has the heading “" + heading + "”: add one below, or correct this line."));
        return;
      }
      slot.appendChild(element("h2", "links__heading", heading));
      var list = element("ul", "links");
      links.forEach(function (link) {
        var item = element("li", "link");
        var line = element("p", "link__title");
        var anchor = element("a", "", link.title);
        if (/^https?:\/\//i.test(link.url)) anchor.href = link.url;
        line.appendChild(anchor);
        item.appendChild(line);
        if (link.commentary.trim()) item.appendChild(element("p", "link__commentary", link.commentary));
        list.appendChild(item);
      });
      slot.appendChild(list);
    });
  }

  function reloadLibrary() {
    var current = document.querySelector('script[src*="markdownx/js/markdownx"]');
    if (!current) return;
    var script = document.createElement("script");
    script.src = current.src;
    document.body.appendChild(script);
  }

  // --- Link rows: commentary preview -------------------------------------------------

  function previewCommentary(button) {
    var field = button.closest(".bytepress-commentary-field");
    var text = field.querySelector("textarea").value;
    var box = field.querySelector(".bytepress-commentary-preview");
    box.hidden = false;
    box.classList.remove("is-error");
    if (!text.trim()) {
      box.textContent = "Nothing to preview yet.";
      return;
    }
    box.textContent = "Rendering…";
    var data = new FormData();
    data.append("content", text);
    data.append("csrfmiddlewaretoken", button.form.elements.csrfmiddlewaretoken.value);
    fetch(button.dataset.url, { method: "POST", body: data, credentials: "same-origin" })
      .then(function (response) {
        // An expired session is answered with the login page, not an error status.
        if (response.redirected) {
          throw new Error("Your session has ended: log in again to preview.");
        }
        return response.text().then(function (body) {
          if (!response.ok) throw new Error(body || "The preview failed.");
          // Rendered and sanitised by the server (blog/markdown.py), as the main preview is.
          box.innerHTML = body;
        });
      })
      .catch(function (error) {
        box.textContent = error.message || "The preview failed.";
        box.classList.add("is-error");
      });
  }

  // --- Link rows: group picker -------------------------------------------------------

  // The post's headings, then those typed in rows so far, each once, in order.
  function offeredHeadings() {
    var pickers = document.querySelectorAll(".bytepress-group-picker");
    if (!pickers.length) return [];
    var headings = JSON.parse(pickers[0].dataset.groups);
    pickers.forEach(function (picker) {
      var typed = picker.querySelector(".bytepress-group-new").value.trim();
      if (picker.classList.contains("is-new") && typed && headings.indexOf(typed) === -1) {
        headings.push(typed);
      }
    });
    return headings;
  }

  function refreshPickers() {
    var headings = offeredHeadings();
    document.querySelectorAll(".bytepress-group-picker").forEach(function (picker) {
      var select = picker.querySelector("select");
      var current = select.value;
      var isNew = picker.classList.contains("is-new");
      var none = select.options[0];
      var newOption = select.options[select.options.length - 1];
      while (select.options.length > 2) select.remove(1);
      var offered = headings.slice();
      // A heading picked here stays, even if the row that typed it has changed it since.
      if (current && !isNew && offered.indexOf(current) === -1) offered.push(current);
      offered.forEach(function (heading) {
        var option = new Option(heading, heading);
        select.add(option, newOption);
        if (!isNew && heading === current) option.selected = true;
      });
      if (isNew) newOption.selected = true;
      else if (!current) none.selected = true;
    });
  }

  function onGroupPicked(select) {
    var picker = select.closest(".bytepress-group-picker");
    var text = picker.querySelector(".bytepress-group-new");
    var isNew = select.options[select.selectedIndex].hasAttribute("data-new");
    picker.classList.toggle("is-new", isNew);
    if (isNew) {
      text.focus();
    } else {
      // A typed heading would win over the pick on the server.
      text.value = "";
    }
    refreshPickers();
  }

  // The text boxes are there for browsers without JavaScript; here they show only for
  // "New heading…" (editor.css).
  document.documentElement.classList.add("bytepress-js");

  document.addEventListener("click", function (event) {
    var button = event.target.closest(".bytepress-preview-button");
    if (button) previewCommentary(button);
  });
  document.addEventListener("change", function (event) {
    if (event.target.matches(".bytepress-group-picker select")) onGroupPicked(event.target);
  });
  document.addEventListener("input", function (event) {
    var target = event.target;
    if (target.matches(".bytepress-group-new")) refreshPickers();
    if (target.matches(".bytepress-commentary")) {
      // A preview of text since changed would mislead.
      target.closest(".bytepress-commentary-field").querySelector(
        ".bytepress-commentary-preview"
      ).hidden = true;
    }
  });

  document.addEventListener("DOMContentLoaded", function () {
    watch(document);
    document.querySelectorAll(".bytepress-preview-button").forEach(function (button) {
      button.hidden = false;
    });
    // After a refused save, headings typed in rows are offered in the others again.
    refreshPickers();
  });
  // A new link goes after the others: the model's default position, 0, would sort it first.
  function placeLast(row) {
    var input = row.querySelector(".field-position input");
    var group = row.closest(".bytepress-links");
    if (!input || !group || input.value !== "0") return;
    var last = 0;
    group.querySelectorAll(".field-position input").forEach(function (other) {
      if (other !== input) last = Math.max(last, parseInt(other.value, 10) || 0);
    });
    input.value = last + 1;
  }

  document.addEventListener("formset:added", function (event) {
    placeLast(event.target);
    refreshPickers();
    var editors = event.target.querySelectorAll(".markdownx-editor");
    if (!editors.length) return;
    // The row is a copy of the formset's hidden template, which the library already
    // marked as initialised: clear the mark so the new editor gets its own instance.
    editors.forEach(function (editor) {
      editor.removeAttribute("data-markdownx-init");
    });
    watch(event.target);
    reloadLibrary();
  });
  document.addEventListener("formset:removed", refreshPickers);
})();
