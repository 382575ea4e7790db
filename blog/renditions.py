"""Renditions: smaller copies of library images, made once and stored.

Each image gets widths from RENDITION_WIDTHS that are not wider than the original (never
upscaled; an image narrower than the smallest width gets one rendition at its own
width), in WebP, in the original's format and in AVIF when Pillow can write it, plus a
1200x630 social card. Files go through Django's storage API only, so any storage
backend (local disk, S3-compatible) works unchanged. Making them is idempotent: what
exists is kept, what is missing is made.
"""

import io
import logging

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from PIL import Image as PILImage
from PIL import ImageOps, features

from . import faults
from .models import Image, Rendition

logger = logging.getLogger(__name__)

RENDITION_WIDTHS = (480, 960, 1600)
SOCIAL_SIZE = (1200, 630)
# Pillow format name, file extension and save options per rendition format.
FORMATS = {
    "avif": ("AVIF", "avif", {"quality": 60, "speed": 8}),
    "webp": ("WEBP", "webp", {"quality": 80, "method": 4}),
    "jpeg": ("JPEG", "jpg", {"quality": 82, "optimize": True, "progressive": True}),
    "png": ("PNG", "png", {"optimize": True}),
    "gif": ("GIF", "gif", {}),
}
# Stored originals are always re-encoded by blog.images, so the extension is the format.
_FORMAT_OF_EXTENSION = {extension: fmt for fmt, (_, extension, _) in FORMATS.items()}


def original_format(image: Image) -> str:
    """The rendition format matching the image's own (stored) format."""
    extension = image.file.name.rsplit(".", 1)[-1].lower()
    return _FORMAT_OF_EXTENSION.get(extension, "jpeg")


def rendition_formats(image: Image) -> list[str]:
    """Modern formats first (the order <picture> offers them), then the original's."""
    formats = ["avif"] if features.check("avif") else []
    formats.append("webp")
    if original_format(image) not in formats:
        formats.append(original_format(image))
    return formats


def rendition_widths(width: int) -> list[int]:
    widths = [w for w in RENDITION_WIDTHS if w <= width]
    return widths or [width]


def _to_8_bit(original: PILImage.Image) -> PILImage.Image:
    """RGB or RGBA with 8 bits a channel, keeping transparency however it is stored."""
    if original.mode in {"I;16", "I;16B", "I;16L", "I"}:
        # Scale 16-bit grey down; convert() alone would clip everything to white.
        scale = 1 / 256 if original.mode != "I" or original.getextrema()[1] > 255 else 1
        grey = original.convert("I").point(lambda value: value * scale).convert("L")
        return grey.convert("RGB")
    transparent = (
        "A" in original.getbands() or "transparency" in original.info or original.mode == "P"
    )
    return original.convert("RGBA" if transparent else "RGB")


def _encode(picture: PILImage.Image, fmt: str) -> bytes:
    pil_format, _, options = FORMATS[fmt]
    if fmt == "jpeg" and picture.mode not in {"RGB", "L"}:
        picture = picture.convert("RGB")
    elif fmt in {"webp", "avif"} and picture.mode not in {"RGB", "RGBA"}:
        picture = picture.convert("RGBA" if "A" in picture.getbands() else "RGB")
    out = io.BytesIO()
    picture.save(out, pil_format, **options)
    return out.getvalue()


def _store(image: Image, kind: str, fmt: str, picture: PILImage.Image) -> Rendition | None:
    try:
        content = _encode(picture, fmt)
    except (ValueError, OSError) as exc:
        # e.g. WebP stops at 16,383 px: a very tall screenshot gets no WebP rendition,
        # and pages fall back to the formats that worked.
        logger.warning("No %s rendition of %s at %s px: %s", fmt, image, picture.width, exc)
        return None
    extension = FORMATS[fmt][1]
    stem = image.file.name.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    name = default_storage.save(
        f"renditions/{stem}-{kind}-{picture.width}w.{extension}", ContentFile(content)
    )
    rendition = Rendition(
        image=image,
        kind=kind,
        format=fmt,
        width=picture.width,
        height=picture.height,
        file=name,
        size=len(content),
    )
    faults.delete_unless_committed(rendition.file)
    return rendition


def ensure_renditions(image: Image) -> list[Rendition]:
    """Make the renditions this image is missing; returns the ones made.

    All or nothing: when one fails (a storage error half-way), the files already stored
    for the others are deleted with the transaction that would have recorded them."""
    with faults.atomic_with_files():
        made = _make_missing(image)
        # Two builds racing for the same image: the second one's rows are dropped, and
        # so are its files, which no row will ever point at.
        Rendition.objects.bulk_create(made, ignore_conflicts=True)
        return _drop_unrecorded(image, made)


def _make_missing(image: Image) -> list[Rendition]:
    existing = set(image.renditions.values_list("kind", "format", "width"))
    with image.file.open("rb") as handle, PILImage.open(handle) as original:
        original.seek(0)  # an animated GIF is rendered from its first frame
        source = _to_8_bit(original)
    made = []
    formats = rendition_formats(image)
    for width in rendition_widths(source.width):
        height = max(1, round(source.height * width / source.width))
        resized = None
        for fmt in formats:
            if (Rendition.Kind.WIDTH, fmt, width) in existing:
                continue
            if resized is None:
                resized = (
                    source
                    if width == source.width
                    else source.resize((width, height), PILImage.Resampling.LANCZOS)
                )
            made.append(_store(image, Rendition.Kind.WIDTH, fmt, resized))
    if (Rendition.Kind.SOCIAL, "jpeg", SOCIAL_SIZE[0]) not in existing:
        card = ImageOps.fit(source.convert("RGB"), SOCIAL_SIZE, PILImage.Resampling.LANCZOS)
        made.append(_store(image, Rendition.Kind.SOCIAL, "jpeg", card))
    return [rendition for rendition in made if rendition is not None]


def _drop_unrecorded(image: Image, made: list[Rendition]) -> list[Rendition]:
    """The renditions whose rows were written; the files of the others are deleted."""
    if not made:
        return []
    names = [rendition.file.name for rendition in made]
    recorded = set(image.renditions.filter(file__in=names).values_list("file", flat=True))
    for rendition in made:
        if rendition.file.name not in recorded:
            default_storage.delete(rendition.file.name)
    return [rendition for rendition in made if rendition.file.name in recorded]


def drop_missing(image: Image) -> int:
    """Forget renditions whose file is gone from storage, so they are made again."""
    missing = [r.pk for r in image.renditions.all() if not default_storage.exists(r.file.name)]
    Rendition.objects.filter(pk__in=missing).delete()
    return len(missing)
