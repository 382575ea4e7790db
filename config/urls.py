from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path

from blog import editor

urlpatterns = [
    # The editor's endpoints sit before the admin, whose catch-all would swallow them.
    path("admin/markdownx/markdownify/", editor.markdownify, name="markdownx_markdownify"),
    path("admin/markdownx/upload/", editor.upload_image, name="markdownx_upload"),
    path("admin/", admin.site.urls),
    path("", include("blog.urls")),
]

if settings.DEBUG:
    urlpatterns = static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT) + urlpatterns
