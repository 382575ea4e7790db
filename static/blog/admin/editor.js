/* Bytepress additions to the django-markdownx editor in the admin.
 *
 * 1. After an image upload, the inserted Markdown carries placeholder alt text; select
 *    it so the author types the description straight away.
 * 2. When the server refuses an upload, show its message instead of the library's
 *    bare "Invalid response" text, which is taken back out of the editor.
 * 3. Inline rows added with "Add another" (Links) get the live preview too: the library
 *    only initialises editors present at page load, so it is loaded again for new rows.
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

  function onUploaded(event) {
    var container = event.currentTarget;
    var editor = container.querySelector(".markdownx-editor");
    var marker = "![" + ALT_PLACEHOLDER + "]";
    var start = editor.value.lastIndexOf(marker, editor.selectionStart);
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
    });
  }

  function reloadLibrary() {
    var current = document.querySelector('script[src*="markdownx/js/markdownx"]');
    if (!current) return;
    var script = document.createElement("script");
    script.src = current.src;
    document.body.appendChild(script);
  }

  document.addEventListener("DOMContentLoaded", function () {
    watch(document);
  });
  document.addEventListener("formset:added", function (event) {
    // The row is a copy of the formset's hidden template, which the library already
    // marked as initialised: clear the mark so the new editor gets its own instance.
    event.target.querySelectorAll(".markdownx-editor").forEach(function (editor) {
      editor.removeAttribute("data-markdownx-init");
    });
    watch(event.target);
    reloadLibrary();
  });
})();
