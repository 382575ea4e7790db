"""The admin editor's endpoints: Markdown preview and image upload, for staff only.

They replace django-markdownx's own views, which check no login, accept SVG and trust
the client's Content-Type. The markdownx widget finds them through
MARKDOWNX_URLS_PATH and MARKDOWNX_UPLOAD_URLS_PATH.
"""

from csp.decorators import csp
from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpResponse, JsonResponse
from django.views.decorators.http import require_POST

from . import services
from .images import ImageRejected
from .markdown import ALT_PLACEHOLDER, MarkdownError, render_markdown


def _staff_only(view):
    # Anonymous or non-staff callers are sent to the admin login, never served.
    return staff_member_required(require_POST(view))


# The preview is a fragment that the editor's script puts into the admin page, whose
# policy governs it there (sanitised HTML: no script, no style attribute). Opened by
# itself, it may load, run and submit nothing.
PREVIEW_POLICY = {
    "default-src": "'none'",
    "base-uri": "'none'",
    "form-action": "'none'",
    "frame-ancestors": "'none'",
    "sandbox": True,
}


@csp(PREVIEW_POLICY)
@_staff_only
def markdownify(request):
    content = request.POST.get("content", "")
    # The renderer refuses text over its size limit or time budget (blog.render_budget)
    # with a message for the author, before and while it works.
    try:
        html = render_markdown(content)
    except MarkdownError as exc:
        return HttpResponse(str(exc), status=400, content_type="text/plain; charset=utf-8")
    return HttpResponse(html, content_type="text/html; charset=utf-8")


@_staff_only
def upload_image(request):
    upload = request.FILES.get("image")
    if upload is None:
        return JsonResponse({"error": "No image was received."}, status=400)
    try:
        image = services.add_image(upload)
    except ImageRejected as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    return JsonResponse({"image_code": f"![{ALT_PLACEHOLDER}]({image.file.url})"})
