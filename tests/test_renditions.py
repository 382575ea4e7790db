"""The image library: renditions, their sizes and formats, metadata, and maintenance."""

import io
from io import StringIO

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse
from PIL import Image as PILImage
from PIL import features

from blog import services
from blog.images import clean_image
from blog.models import Image, Rendition
from blog.renditions import ensure_renditions

from .conftest import gps_exif, image_bytes

pytestmark = pytest.mark.django_db

EXPECTED_FORMATS = (["avif"] if features.check("avif") else []) + ["webp"]


def library_image(data, name="photo.jpg", **fields):
    """An Image made the way uploads make them: cleaned first, then stored, through the
    library's write path (with its renditions), under a name of our choosing."""
    cleaned = clean_image(SimpleUploadedFile(name, data))
    image = Image(alt=fields.pop("alt", "A test picture"), **fields)
    stored = f"{name.rsplit('.', 1)[0]}.{cleaned.extension}"
    image.file.save(stored, ContentFile(cleaned.content), save=False)
    services.save_image(image)
    image.refresh_from_db()
    return image


def widths(image, fmt):
    return sorted(image.renditions.filter(kind="width", format=fmt).values_list("width", flat=True))


def test_a_wide_photo_gets_every_width_in_modern_formats_and_its_own(db):
    image = library_image(image_bytes("JPEG", size=(2000, 1000)))
    for fmt in [*EXPECTED_FORMATS, "jpeg"]:
        assert widths(image, fmt) == [480, 960, 1600], fmt
    assert not image.renditions.filter(format="png").exists()
    for rendition in image.renditions.filter(kind="width"):
        assert rendition.height == round(1000 * rendition.width / 2000)
        with default_storage.open(rendition.file.name) as handle, PILImage.open(handle) as stored:
            assert stored.size == (rendition.width, rendition.height)
            assert stored.format.lower() == {"jpeg": "jpeg"}.get(rendition.format, rendition.format)
        assert rendition.size == default_storage.size(rendition.file.name)


def test_no_rendition_is_wider_than_its_original(db):
    image = library_image(image_bytes("PNG", size=(700, 400)), name="shot.png")
    assert widths(image, "png") == [480]
    assert widths(image, "webp") == [480]
    assert all(r.width <= 700 for r in image.renditions.filter(kind="width"))


def test_an_image_narrower_than_the_smallest_width_keeps_its_own(db):
    image = library_image(image_bytes("PNG", size=(300, 200)), name="icon.png")
    assert widths(image, "webp") == [300]


def test_social_card_is_1200_by_630(db):
    image = library_image(image_bytes("JPEG", size=(900, 1400)))
    [card] = image.renditions.filter(kind="social")
    assert (card.width, card.height, card.format) == (1200, 630, "jpeg")


def test_no_stored_file_carries_exif_or_gps(db):
    image = library_image(image_bytes("JPEG", size=(1800, 1200), exif=gps_exif(orientation=6)))
    assert (image.width, image.height) == (1200, 1800), "orientation applied first"
    names = [image.file.name, *image.renditions.values_list("file", flat=True)]
    for name in names:
        with default_storage.open(name) as handle:
            raw = handle.read()
        assert b"PhoneMaker" not in raw, name
        with PILImage.open(io.BytesIO(raw)) as stored:
            assert not stored.getexif().get_ifd(0x8825), name
            assert dict(stored.getexif()) == {}, name


def test_renditions_are_made_once(db):
    image = library_image(image_bytes("JPEG", size=(1000, 800)))
    count = image.renditions.count()
    assert ensure_renditions(image) == []
    out = StringIO()
    call_command("build_renditions", stdout=out)
    assert "0 rendition(s) made" in out.getvalue()
    assert image.renditions.count() == count


def test_build_renditions_replaces_missing_files(db):
    image = library_image(image_bytes("JPEG", size=(1000, 800)))
    lost = image.renditions.filter(format="webp").first()
    default_storage.delete(lost.file.name)
    Rendition.objects.filter(format="jpeg", kind="width").delete()
    out = StringIO()
    call_command("build_renditions", stdout=out)
    assert "1 with missing files replaced" in out.getvalue()
    assert widths(image, "webp") == [480, 960]
    assert widths(image, "jpeg") == [480, 960]
    for rendition in image.renditions.all():
        assert default_storage.exists(rendition.file.name)


def test_replacing_the_file_rebuilds_renditions(db):
    image = library_image(image_bytes("JPEG", size=(1000, 800)))
    old_names = set(image.renditions.values_list("file", flat=True))
    cleaned = clean_image(SimpleUploadedFile("new.png", image_bytes("PNG", size=(600, 600))))
    image.file.save("new.png", ContentFile(cleaned.content), save=False)
    services.save_image(image)
    assert widths(image, "png") == [480]
    assert not old_names & set(image.renditions.values_list("file", flat=True))
    assert not any(default_storage.exists(name) for name in old_names)


def test_deleting_an_image_deletes_its_files(db):
    image = library_image(image_bytes("JPEG", size=(1000, 800)))
    names = [image.file.name, *image.renditions.values_list("file", flat=True)]
    image.delete()
    assert not any(default_storage.exists(name) for name in names)


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (image_bytes("JPEG", size=(900, 600), mode="CMYK"), "cmyk.jpg"),
        (image_bytes("PNG", size=(900, 600), mode="I;16"), "deep.png"),
        (image_bytes("PNG", size=(900, 600), mode="LA"), "grey-alpha.png"),
    ],
)
def test_unusual_colour_modes_are_converted(db, data, name):
    image = library_image(data, name=name)
    assert widths(image, "webp") == [480]
    for rendition in image.renditions.all():
        with default_storage.open(rendition.file.name) as handle, PILImage.open(handle) as stored:
            assert stored.mode in {"RGB", "RGBA", "L", "LA", "P", "I;16", "I"}


def test_palette_image_with_transparency_keeps_it_in_webp(db):
    picture = PILImage.new("P", (600, 400), 0)
    picture.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    picture.info["transparency"] = 0
    out = io.BytesIO()
    picture.save(out, "PNG", transparency=0)
    image = library_image(out.getvalue(), name="logo.png")
    webp = image.renditions.get(format="webp", kind="width")
    with default_storage.open(webp.file.name) as handle, PILImage.open(handle) as stored:
        assert stored.mode == "RGBA"
        assert stored.getpixel((10, 10))[3] == 0


def test_animated_gif_renditions_come_from_the_first_frame(db):
    frames = [PILImage.new("RGB", (600, 400), colour) for colour in ("red", "blue")]
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:], duration=100)
    image = library_image(out.getvalue(), name="anim.gif")
    assert widths(image, "gif") == [480]
    webp = image.renditions.get(format="webp", kind="width")
    with default_storage.open(webp.file.name) as handle, PILImage.open(handle) as stored:
        assert stored.convert("RGB").getpixel((5, 5))[0] > 200, "red: the first frame"


def test_alt_text_is_required_unless_decorative(db):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as excinfo:
        Image(alt="", decorative=False).clean()
    assert "alt" in excinfo.value.message_dict
    Image(alt="", decorative=True).clean()


def test_admin_upload_makes_a_cleaned_image_with_renditions(staff_client, media_files):
    data = image_bytes("JPEG", size=(1300, 700), exif=gps_exif())
    upload = SimpleUploadedFile("holiday.jpg", data, content_type="image/jpeg")
    url = reverse("admin:blog_image_add")
    form = {"file": upload, "alt": "", "caption": "", "credit": "", "renditions-TOTAL_FORMS": "0",
            "renditions-INITIAL_FORMS": "0", "renditions-MIN_NUM_FORMS": "0",
            "renditions-MAX_NUM_FORMS": "0"}  # fmt: skip
    response = staff_client.post(url, form)
    assert response.status_code == 200, "alt text is required"
    assert media_files() == []
    form["file"] = SimpleUploadedFile("holiday.jpg", data, content_type="image/jpeg")
    form["alt"] = "A beach at dusk"
    response = staff_client.post(url, form)
    assert response.status_code == 302
    image = Image.objects.get()
    assert (image.width, image.height) == (1300, 700)
    assert widths(image, "webp") == [480, 960]
    changelist = staff_client.get(reverse("admin:blog_image_changelist"))
    assert "A beach at dusk" in changelist.content.decode()


def test_replacing_an_unused_file_deletes_the_old_original(db):
    image = library_image(image_bytes("JPEG", size=(1000, 800)))
    old = image.file.name
    cleaned = clean_image(SimpleUploadedFile("n.png", image_bytes("PNG", size=(600, 600))))
    image.file.save("n.png", ContentFile(cleaned.content), save=False)
    services.save_image(image)
    assert not default_storage.exists(old)


def test_a_very_tall_screenshot_skips_only_the_formats_that_cannot_hold_it(db):
    image = library_image(image_bytes("PNG", size=(1000, 18000), mode="L"), name="tall.png")
    assert widths(image, "png") == [480, 960], "PNG copes with any height"
    assert 960 not in widths(image, "webp"), "WebP stops at 16,383 px"
    assert 480 in widths(image, "webp")


def test_sixteen_bit_grey_keeps_its_tone(db):
    picture = PILImage.new("I;16", (600, 400), 32768)
    out = io.BytesIO()
    picture.save(out, "PNG")
    image = library_image(out.getvalue(), name="grey.png")
    webp = image.renditions.get(format="webp", kind="width")
    with default_storage.open(webp.file.name) as handle, PILImage.open(handle) as stored:
        value = stored.convert("L").getpixel((10, 10))
    assert 110 < value < 145, value


def test_transparency_from_a_trns_chunk_survives(db):
    picture = PILImage.new("L", (600, 400), 0)
    out = io.BytesIO()
    picture.save(out, "PNG", transparency=0)
    image = library_image(out.getvalue(), name="clear.png")
    webp = image.renditions.get(format="webp", kind="width")
    with default_storage.open(webp.file.name) as handle, PILImage.open(handle) as stored:
        assert stored.mode == "RGBA"
        assert stored.getpixel((10, 10))[3] == 0
