"""The admin editor's preview and upload endpoints (replacing django-markdownx's own)."""

import io
import json

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import resolve, reverse
from PIL import Image

from blog.markdown import ALT_PLACEHOLDER

from .conftest import gps_exif, image_bytes

PREVIEW = reverse("markdownx_markdownify")
UPLOAD = reverse("markdownx_upload")
XHR = {"HTTP_X_REQUESTED_WITH": "XMLHttpRequest"}

pytestmark = pytest.mark.django_db


def upload(client, data, name="photo.png", content_type="image/png"):
    return client.post(
        UPLOAD, {"image": SimpleUploadedFile(name, data, content_type=content_type)}, **XHR
    )


def test_widget_urls_point_at_the_protected_endpoints():
    assert settings.MARKDOWNX_URLS_PATH == PREVIEW
    assert settings.MARKDOWNX_UPLOAD_URLS_PATH == UPLOAD


def test_library_endpoints_are_not_routed():
    """django-markdownx's own (open) views are reachable under no URL."""
    from markdownx import views as library_views

    for path in ("/markdownx/markdownify/", "/markdownx/upload/", "/admin/markdownx/upload/"):
        view = resolve(path).func
        assert getattr(view, "view_class", None) not in {
            library_views.MarkdownifyView,
            library_views.ImageUploadView,
        }
    assert Client().get("/markdownx/markdownify/").status_code == 404


@pytest.mark.parametrize("url", [PREVIEW, UPLOAD])
def test_anonymous_callers_are_refused(client, url, media_files):
    response = client.post(url, {"content": "# hi", "image": io.BytesIO(image_bytes())}, **XHR)
    assert response.status_code in {302, 403}
    if response.status_code == 302:
        assert response["Location"].startswith(reverse("admin:login"))
    assert media_files() == []


@pytest.mark.parametrize("url", [PREVIEW, UPLOAD])
def test_logged_in_non_staff_users_are_refused(client, django_user_model, url, media_files):
    client.force_login(django_user_model.objects.create_user(username="reader"))
    response = client.post(url, {"content": "# hi"}, **XHR)
    assert response.status_code in {302, 403}
    assert media_files() == []


def test_anonymous_requests_with_csrf_checks_are_refused_too():
    response = Client(enforce_csrf_checks=True).post(PREVIEW, {"content": "x"})
    assert response.status_code == 403


def test_get_is_not_allowed(staff_client):
    assert staff_client.get(PREVIEW).status_code == 405


def test_preview_uses_the_site_renderer_and_sanitises(staff_client):
    source = "# Title\n\n```python\nx = 1\n```\n\n<script>alert(1)</script>[x](javascript:alert(1))"
    response = staff_client.post(PREVIEW, {"content": source}, **XHR)
    assert response.status_code == 200
    body = response.content.decode()
    assert '<h2 id="title">' in body
    assert 'class="highlight"' in body
    assert "<script" not in body
    assert "javascript:" not in body


@pytest.mark.parametrize(
    ("fmt", "extension", "options"),
    [
        ("JPEG", "jpg", {}),
        ("PNG", "png", {}),
        ("WEBP", "webp", {}),
        ("GIF", "gif", {}),
    ],
)
def test_raster_uploads_are_stored_and_return_markdown_with_alt_prompt(
    staff_client, media_files, fmt, extension, options
):
    data = image_bytes(fmt, size=(1800, 1200), **options)
    # The client's file name and Content-Type are irrelevant: the bytes decide.
    response = upload(staff_client, data, name="upload.bin", content_type="application/x-foo")
    assert response.status_code == 200, response.content
    code = response.json()["image_code"]
    assert code.startswith(f"![{ALT_PLACEHOLDER}](/media/uploads/")
    assert code.endswith(f".{extension})")
    [stored] = media_files()
    with Image.open(settings.MEDIA_ROOT / stored) as image:
        assert image.format == fmt
        assert image.size == (1800, 1200), "no silent resize or crop"


def test_exif_and_gps_are_stripped_after_applying_orientation(staff_client, media_files):
    # Orientation 6 means "rotate 90° clockwise to display": a 60x40 sensor image
    # is shown 40 wide and 60 tall.
    data = image_bytes("JPEG", size=(60, 40), exif=gps_exif(orientation=6))
    with Image.open(io.BytesIO(data)) as original:
        assert original.getexif().get_ifd(0x8825), "the fixture really carries GPS"
    assert upload(staff_client, data).status_code == 200
    [stored] = media_files()
    raw = (settings.MEDIA_ROOT / stored).read_bytes()
    with Image.open(io.BytesIO(raw)) as image:
        assert image.size == (40, 60)
        assert dict(image.getexif()) == {}
        assert "exif" not in image.info
    assert b"Exif\x00\x00" not in raw
    assert b"PhoneMaker" not in raw


@pytest.mark.parametrize("fmt", ["PNG", "WEBP"])
def test_exif_is_stripped_from_png_and_webp(staff_client, media_files, fmt):
    data = image_bytes(fmt, exif=gps_exif())
    assert upload(staff_client, data).status_code == 200
    [stored] = media_files()
    raw = (settings.MEDIA_ROOT / stored).read_bytes()
    assert b"PhoneMaker" not in raw
    with Image.open(io.BytesIO(raw)) as image:
        assert dict(image.getexif()) == {}


SVG = b'<svg xmlns="http://www.w3.org/2000/svg" onload=alert(1)><rect width="1"/></svg>'
HTML_AS_PNG = b"<!doctype html><html><script>alert(1)</script></html>"
TRUNCATED_PNG = image_bytes("PNG", size=(300, 300), mode="RGB")[:200]


@pytest.mark.parametrize(
    ("data", "name", "content_type", "message"),
    [
        (SVG, "logo.svg", "image/svg+xml", "not a readable image"),
        (HTML_AS_PNG, "photo.png", "image/png", "not a readable image"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, "broken.png", "image/png", "not a readable image"),
        (TRUNCATED_PNG, "cut.png", "image/png", "not a readable image"),
        (image_bytes("BMP"), "old.bmp", "image/bmp", "Only JPEG, PNG, WebP and GIF"),
        (image_bytes("TIFF"), "scan.png", "image/png", "Only JPEG, PNG, WebP and GIF"),
        (b"", "empty.png", "image/png", "empty"),
    ],
)
def test_bad_uploads_get_a_clear_400_and_save_nothing(
    staff_client, media_files, data, name, content_type, message
):
    response = upload(staff_client, data, name=name, content_type=content_type)
    assert response.status_code == 400
    assert message in json.loads(response.content)["error"]
    assert media_files() == []


def test_oversize_file_is_refused(staff_client, media_files, settings):
    settings.BYTEPRESS_UPLOAD_MAX_BYTES = 2000
    response = upload(staff_client, image_bytes("PNG", size=(400, 400), compress_level=0))
    assert response.status_code == 400
    assert "larger than" in response.json()["error"]
    assert media_files() == []


def test_ten_megabyte_limit_by_default(staff_client, media_files):
    assert settings.BYTEPRESS_UPLOAD_MAX_BYTES == 10 * 1024 * 1024
    data = image_bytes("PNG", size=(8, 8)) + b"\x00" * (10 * 1024 * 1024)
    response = upload(staff_client, data)
    assert response.status_code == 400
    assert "larger than 10 MB" in response.json()["error"]
    assert media_files() == []


def test_more_than_forty_megapixels_is_refused(staff_client, media_files):
    # 8000x5001 = 40,008,000 pixels; a flat PNG of it is only a few hundred KB.
    data = image_bytes("PNG", size=(8000, 5001), mode="L")
    response = upload(staff_client, data)
    assert response.status_code == 400
    assert "megapixels" in response.json()["error"]
    assert media_files() == []


def test_decompression_bomb_is_refused_from_its_header(staff_client, media_files):
    # A 20,000 x 20,000 PNG header with a tiny body: refused before decoding any pixel.
    bomb = _png_header_only(20_000, 20_000)
    response = upload(staff_client, bomb)
    assert response.status_code == 400
    assert "megapixels" in response.json()["error"]
    assert media_files() == []


def test_missing_file_is_a_400(staff_client):
    response = staff_client.post(UPLOAD, {}, **XHR)
    assert response.status_code == 400
    assert response.json()["error"] == "No image was received."


def _png_header_only(width, height):
    import struct
    import zlib

    def chunk(kind, payload):
        return (
            struct.pack(">I", len(payload))
            + kind
            + payload
            + struct.pack(">I", zlib.crc32(kind + payload))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
