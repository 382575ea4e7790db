"""Test settings: the real settings with debug on (for a placeholder key), plain static
file storage (no collectstatic needed) and a fast password hasher."""

import os
import tempfile

os.environ.setdefault("DJANGO_DEBUG", "1")

from config.settings import *  # noqa: F403

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
MEDIA_ROOT = tempfile.mkdtemp(prefix="bytepress-test-media-")
STATIC_ROOT = tempfile.mkdtemp(prefix="bytepress-test-static-")
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Pages are rendered on every request unless a test turns the page cache on: the query
# counts pinned elsewhere are those of a cold page.
BYTEPRESS_PAGE_CACHE = False
