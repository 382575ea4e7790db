from django.conf import settings
from django.contrib import admin
from django.shortcuts import redirect
from django.templatetags.static import static as static_url
from django.urls import include, path, re_path
from django.views.static import serve

from blog import admin_views, editor, sitemaps
from blog.views import robots_txt


def favicon(request):
    # Browsers ask for /favicon.ico whatever the page says. The static URL is looked up
    # per request: with hashed static files it exists only after collectstatic.
    return redirect(static_url("favicon.ico"), permanent=True)


def after_login(request):
    """Where a login without a usable ``next`` lands: staff in the admin, others home.

    (Django's default, /accounts/profile/, is no page here.)
    """
    return redirect("admin:index" if request.user.is_staff else "blog:home")


# Views of ours under the admin's prefix (settings.BYTEPRESS_ADMIN_PATH). They come before
# the admin, whose catch-all would swallow them.
admin_extras = [
    path("markdownx/markdownify/", editor.markdownify, name="markdownx_markdownify"),
    path("markdownx/upload/", editor.upload_image, name="markdownx_upload"),
    path("blog/post/autosave/", admin_views.autosave, name="post-autosave"),
    path(
        "blog/post/autosave/discard/",
        admin_views.discard_autosave,
        name="post-autosave-discard",
    ),
    path(
        "blog/post/<int:post_id>/revisions/",
        admin_views.revision_list,
        name="post-revisions",
    ),
    path(
        "blog/post/<int:post_id>/revisions/<int:revision_id>/",
        admin_views.revision_diff,
        name="post-revision",
    ),
    path(
        "blog/post/<int:post_id>/revisions/<int:revision_id>/restore/",
        admin_views.revision_restore,
        name="post-revision-restore",
    ),
]

urlpatterns = [
    path("accounts/after-login/", after_login, name="after-login"),
    path(settings.BYTEPRESS_ADMIN_PATH, include(admin_extras)),
    path(settings.BYTEPRESS_ADMIN_PATH, admin.site.urls),
    path("favicon.ico", favicon),
    # The index, and the sitemaps it lists (each in pages: ?p=2, …).
    path("sitemap.xml", sitemaps.index, name="sitemap"),
    path("sitemap-<slug:section>.xml", sitemaps.sitemap, name="sitemap-section"),
    path("robots.txt", robots_txt, name="robots-txt"),
    path("", include("blog.urls")),
]

if settings.DEBUG:
    # Development only; in production the web server or object storage serves media.
    # MEDIA_ROOT is read per request so that tests may point it elsewhere.
    def serve_media(request, path):
        return serve(request, path, document_root=settings.MEDIA_ROOT)

    urlpatterns = [
        re_path(rf"^{settings.MEDIA_URL.lstrip('/')}(?P<path>.*)$", serve_media),
        *urlpatterns,
    ]
