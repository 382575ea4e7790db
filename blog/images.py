"""Checking and cleaning uploaded images.

An upload is judged by decoding it with Pillow, never by the client's Content-Type or
file name. Accepted images are re-encoded: orientation from EXIF is applied to the
pixels and then every metadata block (EXIF with its GPS tags, XMP, comments) is dropped.
Nothing is resized or cropped here.
"""

import io
import uuid
import warnings
from dataclasses import dataclass

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone
from PIL import Image, ImageOps, UnidentifiedImageError

# Pillow format name -> (file extension, MIME type)
FORMATS = {
    "JPEG": ("jpg", "image/jpeg"),
    "PNG": ("png", "image/png"),
    "WEBP": ("webp", "image/webp"),
    "GIF": ("gif", "image/gif"),
}


class ImageRejected(ValueError):
    """The upload is not an image we accept; the message is meant for the author."""


@dataclass(frozen=True)
class CleanImage:
    content: bytes
    extension: str
    content_type: str
    width: int
    height: int


def _max_bytes() -> int:
    return settings.BYTEPRESS_UPLOAD_MAX_BYTES


def _max_pixels() -> int:
    return settings.BYTEPRESS_UPLOAD_MAX_PIXELS


def clean_image(upload) -> CleanImage:
    """Validate an uploaded file and return its cleaned re-encoding, or raise ImageRejected."""
    size = getattr(upload, "size", None)
    if size is None or size > _max_bytes():
        raise ImageRejected(
            f"The file is larger than {_max_bytes() // (1024 * 1024)} MB; "
            "please upload a smaller image."
        )
    if size == 0:
        raise ImageRejected("The file is empty.")
    upload.seek(0)
    data = upload.read()
    try:
        with warnings.catch_warnings():
            # Pillow only warns below twice its own limit; treat that as a refusal too.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            probe = Image.open(io.BytesIO(data))
            fmt = probe.format
            if fmt not in FORMATS:
                raise ImageRejected(
                    "Only JPEG, PNG, WebP and GIF images can be uploaded"
                    + (f" (this file is {fmt})." if fmt else ".")
                )
            # The header gives the size before any pixel is decoded: refuse bombs here.
            if probe.width * probe.height > _max_pixels():
                raise ImageRejected(_too_many_pixels(probe.width, probe.height))
            probe.verify()
            image = Image.open(io.BytesIO(data))
            image.load()
    except ImageRejected:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageRejected(
            "The image has too many pixels to be processed safely "
            f"(the limit is {_max_pixels() // 1_000_000} megapixels)."
        ) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageRejected(
            "The file is not a readable image (JPEG, PNG, WebP or GIF); it may be damaged."
        ) from exc
    content = _reencode(image, fmt)
    extension, content_type = FORMATS[fmt]
    with Image.open(io.BytesIO(content)) as result:
        width, height = result.size
    return CleanImage(content, extension, content_type, width, height)


def _too_many_pixels(width: int, height: int) -> str:
    return (
        f"The image is {width}×{height} pixels; the limit is "
        f"{_max_pixels() // 1_000_000} megapixels."
    )


def _reencode(image: Image.Image, fmt: str) -> bytes:
    out = io.BytesIO()
    if fmt == "GIF":
        # GIFs carry no EXIF orientation; keep every frame, drop comments and extensions.
        frames = getattr(image, "n_frames", 1)
        image.info.pop("comment", None)
        image.save(
            out,
            "GIF",
            save_all=frames > 1,
            loop=image.info.get("loop", 0),
            duration=image.info.get("duration", 100),
            optimize=False,
        )
        return out.getvalue()
    image = ImageOps.exif_transpose(image)  # turn the pixels, as the camera meant
    if fmt == "JPEG":
        if image.mode not in {"RGB", "L", "CMYK"}:
            image = image.convert("RGB")
        image.save(out, "JPEG", quality=90, optimize=True, exif=b"")
    elif fmt == "PNG":
        transparency = image.info.get("transparency")
        options = {"optimize": True, "exif": b""}
        if transparency is not None:
            options["transparency"] = transparency
        image.save(out, "PNG", **options)
    else:  # WEBP
        lossless = image.info.get("lossless", False)
        if image.mode not in {"RGB", "RGBA"}:
            image = image.convert("RGBA" if "A" in image.getbands() else "RGB")
        image.save(out, "WEBP", quality=85, lossless=lossless, exif=b"", xmp=b"")
    return out.getvalue()


def store_upload(upload, *, folder: str = "uploads") -> tuple[str, CleanImage]:
    """Clean an uploaded image and save it through the default storage; returns its name."""
    image = clean_image(upload)
    name = f"{folder}/{timezone.now():%Y/%m}/{uuid.uuid4().hex}.{image.extension}"
    return default_storage.save(name, ContentFile(image.content)), image
