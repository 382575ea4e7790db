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
    assert '<h2 id="p-title">' in body
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
    assert code.startswith(f"![{ALT_PLACEHOLDER}](/media/images/")
    assert code.endswith(f".{extension})")
    [stored] = [f for f in media_files() if f.startswith("images/")]
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
    [stored] = [f for f in media_files() if f.startswith("images/")]
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
    [stored] = [f for f in media_files() if f.startswith("images/")]
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


def _gif(frames, size=(20, 20), durations=None):
    # Distinct colours: Pillow merges identical consecutive frames.
    images = [Image.new("RGB", size, (i % 256, (i * 7) % 256, i // 256)) for i in range(frames)]
    out = io.BytesIO()
    images[0].save(
        out, "GIF", save_all=True, append_images=images[1:], duration=durations or 100, loop=0
    )
    return out.getvalue()


def test_animated_gif_keeps_its_frames_and_delays(staff_client, media_files):
    data = _gif(3, durations=[100, 2000, 300])
    assert upload(staff_client, data).status_code == 200
    [stored] = [f for f in media_files() if f.startswith("images/")]
    with Image.open(settings.MEDIA_ROOT / stored) as image:
        delays = []
        for index in range(image.n_frames):
            image.seek(index)
            delays.append(image.info["duration"])
    assert delays == [100, 2000, 300]


def test_gif_with_too_many_frames_is_refused(staff_client, media_files):
    response = upload(staff_client, _gif(301, size=(2, 2)))
    assert response.status_code == 400
    assert "frames" in response.json()["error"]
    assert media_files() == []


def test_gif_whose_frames_add_up_to_too_many_pixels_is_refused(
    staff_client, media_files, monkeypatch
):
    from blog import images

    monkeypatch.setattr(images, "MAX_ANIMATION_PIXELS", 40 * 250 * 250 - 1)
    response = upload(staff_client, _gif(40, size=(250, 250)))
    assert response.status_code == 400
    assert "animation is too large" in response.json()["error"]


def _gif_image_block(gif: bytes) -> bytes:
    """The first image (descriptor and data) of a GIF, found by walking its blocks."""
    flags = gif[10]
    position = 13 + (3 * 2 ** ((flags & 7) + 1) if flags & 0x80 else 0)
    while gif[position] == 0x21:  # extension blocks: skip their sub-blocks
        position += 2
        while gif[position]:
            position += gif[position] + 1
        position += 1
    assert gif[position] == 0x2C
    return gif[position:-1]


def test_gif_with_a_later_frame_larger_than_the_canvas_is_refused(
    staff_client, media_files, settings
):
    settings.BYTEPRESS_UPLOAD_MAX_PIXELS = 500 * 500
    # Spliced by hand: Pillow itself would crop the second frame to the canvas.
    first = _gif(1, size=(10, 10))[:-1]  # without the trailer
    data = first + _gif_image_block(_gif(1, size=(900, 900))) + b";"
    with Image.open(io.BytesIO(data)) as probe:
        assert probe.size == (10, 10), "the header alone looks harmless"
    response = upload(staff_client, data)
    assert response.status_code == 400
    assert "900×900" in response.json()["error"]
    assert media_files() == []


def test_gif_with_a_truncated_later_frame_is_a_400_not_a_500(staff_client, media_files):
    data = _gif(3, size=(200, 200))
    response = upload(staff_client, data[: len(data) - 40])
    assert response.status_code == 400
    assert media_files() == []


def test_jpeg_comments_and_xmp_are_stripped(staff_client, media_files):
    data = image_bytes("JPEG", comment=b"SECRET-COMMENT<script>", xmp=b"<x:xmpmeta>SECRET-XMP")
    assert b"SECRET-COMMENT" in data and b"SECRET-XMP" in data
    assert upload(staff_client, data).status_code == 200
    [stored] = [f for f in media_files() if f.startswith("images/")]
    raw = (settings.MEDIA_ROOT / stored).read_bytes()
    assert b"SECRET" not in raw
    assert b"\xff\xfe" not in raw, "no JPEG COM segment"


def test_mpo_from_a_camera_is_stored_as_jpeg(staff_client, media_files):
    out = io.BytesIO()
    first, second = Image.new("RGB", (40, 30), "red"), Image.new("RGB", (40, 30), "blue")
    first.save(out, "MPO", save_all=True, append_images=[second])
    with Image.open(io.BytesIO(out.getvalue())) as probe:
        assert probe.format == "MPO"
    response = upload(staff_client, out.getvalue())
    assert response.status_code == 200
    assert response.json()["image_code"].endswith(".jpg)")


def test_animated_webp_is_refused_with_a_message(staff_client, media_files):
    frames = [Image.new("RGB", (20, 20), c) for c in ("red", "blue")]
    out = io.BytesIO()
    frames[0].save(out, "WEBP", save_all=True, append_images=frames[1:], duration=100)
    response = upload(staff_client, out.getvalue())
    assert response.status_code == 400
    assert "Animated WebP" in response.json()["error"]


def test_preview_of_unrenderable_text_is_a_400_with_the_reason(staff_client):
    deep = "".join("    " * level + "- item\n" for level in range(400))
    response = staff_client.post(PREVIEW, {"content": deep}, **XHR)
    assert response.status_code == 400
    assert "nested too deeply" in response.content.decode()
