"""Admin pages of a post's revisions: the list, a readable diff, and restore.

They sit beside the admin (config.urls) rather than in PostAdmin.get_urls, and use the
admin's own chrome, login and permission rules: staff who may change posts.
"""

from functools import wraps

from django.contrib import admin, messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.http import require_POST

from . import dates, revisions, services
from .models import Post, Revision


def _editor_view(view):
    may_edit = permission_required("blog.change_post", raise_exception=True)
    return admin.site.admin_view(may_edit(view))


def saved_revisions(post):
    """A post's revisions but its autosaves, which are offered in the form instead."""
    return Revision.objects.filter(post=post).exclude(kind=Revision.Kind.AUTOSAVE)


def _context(request, post, title, **extra):
    return {
        **admin.site.each_context(request),
        "opts": Post._meta,
        "original": post,
        "title": title,
        "change_url": reverse("admin:blog_post_change", args=[post.pk]),
        **extra,
    }


@_editor_view
def revision_list(request, post_id):
    post = get_object_or_404(Post, pk=post_id)
    entries = list(saved_revisions(post).select_related("created_by").defer("data"))
    return TemplateResponse(
        request,
        "admin/blog/post/revisions.html",
        _context(request, post, f"Revisions of “{post}”", revisions=entries),
    )


@_editor_view
def revision_diff(request, post_id, revision_id):
    """This revision against the one before it (``?against=previous``, the default) or
    against the post as it is now (``?against=current``)."""
    revision = get_object_or_404(saved_revisions(post_id), pk=revision_id)
    post = revision.post
    against = request.GET.get("against", "previous")
    if against == "current":
        older, newer = revision.data, revisions.snapshot(post)
        heading = "From this revision to the post as it is now"
    elif against == "previous":
        previous = (
            saved_revisions(post)
            .filter(  # newest first: the one just before
                Q(created_at__lt=revision.created_at)
                | Q(created_at=revision.created_at, pk__lt=revision.pk)
            )
            .first()
        )
        older, newer = (previous.data if previous else None), revision.data
        heading = "What this revision changed" if previous else "The first revision kept"
    else:
        raise Http404("Compare with “previous” or “current”.")
    changes = revisions.diff(older, newer) if older is not None else None
    return TemplateResponse(
        request,
        "admin/blog/post/revision_diff.html",
        _context(
            request,
            post,
            f"{revision} · “{post}”",
            revision=revision,
            heading=heading,
            against=against,
            changes=changes,
            whole=None if older is not None else revisions.readable(newer),
        ),
    )


@_editor_view
@require_POST
def revision_restore(request, post_id, revision_id):
    revision = get_object_or_404(saved_revisions(post_id), pk=revision_id)
    try:
        result = services.restore_revision(revision, user=request.user)
    except ValidationError as error:
        messages.error(request, "The revision was not restored: " + " ".join(error.messages))
        return redirect("post-revisions", post_id)
    messages.success(
        request,
        f"Restored the revision of {revision.created_at:%d %b %Y, %H:%M}; "
        "it is now the latest revision (the publication state is unchanged).",
    )
    if result.not_restored:
        messages.warning(request, "Could not be restored: " + "; ".join(result.not_restored) + ".")
    return redirect("admin:blog_post_change", post_id)


# --- autosave --------------------------------------------------------------------------


def _autosave_endpoint(view):
    """Staff who may add or change posts, by POST with a CSRF token; answers JSON.

    Not behind admin_view: an expired session must get a 401 the editor can explain,
    not the login page.
    """

    @require_POST
    @wraps(view)
    def wrapped(request):
        user = request.user
        if not user.is_authenticated:
            return JsonResponse({"error": "Your session has ended; log in again."}, status=401)
        may_edit = user.has_perm("blog.change_post") or user.has_perm("blog.add_post")
        if not (user.is_active and user.is_staff and may_edit):
            return JsonResponse({"error": "You may not edit posts."}, status=403)
        post_id = request.POST.get("_post_id", "")
        post = None
        if post_id:
            post = Post.objects.filter(pk=post_id).first() if post_id.isdigit() else None
            if post is None:
                return JsonResponse({"error": "This post no longer exists."}, status=404)
        return view(request, post)

    return wrapped


@_autosave_endpoint
def autosave(request, post):
    revision = services.autosave(post=post, user=request.user, form=dict(request.POST.lists()))
    return JsonResponse({"saved_at": dates.iso(revision.created_at), "id": revision.pk})


@_autosave_endpoint
def discard_autosave(request, post):
    services.latest_autosave(post=post, user=request.user, newer_than_post=False).delete()
    return JsonResponse({"discarded": True})
