from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.templatetags.static import static as static_url
from django.urls import include, path
from django.views.generic import RedirectView

from blog import editor

urlpatterns = [
    # The editor's endpoints sit before the admin, whose catch-all would swallow them.
    path("admin/markdownx/markdownify/", editor.markdownify, name="markdownx_markdownify"),
    path("admin/markdownx/upload/", editor.upload_image, name="markdownx_upload"),
    path("admin/", admin.site.urls),
    # Browsers ask for /favicon.ico whatever the page says; send them to the static file.
    path("favicon.ico", RedirectView.as_view(url=static_url("favicon.ico"), permanent=True)),
    path("", include("blog.urls")),
]

if settings.DEBUG:
    urlpatterns = static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT) + urlpatterns
