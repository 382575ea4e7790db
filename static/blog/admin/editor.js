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
    var end = editor.selectionStart;
    var start = end - LIBRARY_ERROR_TEXT.length;
    if (start >= 0 && editor.value.slice(start, end) === LIBRARY_ERROR_TEXT) {
      editor.value = editor.value.slice(0, start) + editor.value.slice(end);
      editor.setSelectionRange(start, start);
    }
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
    watch(event.target);
    reloadLibrary();
  });
})();
