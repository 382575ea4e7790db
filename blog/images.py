"""Checking and cleaning uploaded images.

An upload is judged by decoding it with Pillow, never by the client's Content-Type or
file name. Accepted images are re-encoded: orientation from EXIF is applied to the
pixels and then every metadata block (EXIF with its GPS tags, XMP, comments) is dropped.
Nothing is resized or cropped here.
"""

import io
import logging
import sys
import warnings
from contextlib import contextmanager
from dataclasses import dataclass

from django.conf import settings
from PIL import Image, ImageOps, UnidentifiedImageError

# Pillow format name -> (file extension, MIME type)
FORMATS = {
    "JPEG": ("jpg", "image/jpeg"),
    "PNG": ("png", "image/png"),
    "WEBP": ("webp", "image/webp"),
    "GIF": ("gif", "image/gif"),
}


# Animated GIFs are decoded frame by frame: bound the work one upload can cause.
MAX_FRAMES = 300
MAX_ANIMATION_PIXELS = 200_000_000


logger = logging.getLogger(__name__)


class ImageRejected(ValueError):
    """The upload is not an image we accept; the message is meant for the author."""


class StorageUnavailable(ImageRejected):
    """The media storage (a bucket out of reach, a full disk) did not take the file.

    A kind of ImageRejected so that every upload path already shows its message to the
    author instead of failing with a server error.
    """


def storage_errors() -> tuple[type[Exception], ...]:
    """What a storage backend raises when it cannot do its job: the disk's OSError, and
    for S3-compatible storage the SDK's own errors, which are not OSErrors.

    Asked for at each ``except``, not imported up front: the SDK is about 11 MB in every
    process, and only a site whose storage is a bucket has loaded it (its storage class
    imports it), so its errors can only be raised where its modules are already loaded.
    """
    errors: list[type[Exception]] = [OSError]
    botocore = sys.modules.get("botocore.exceptions")
    if botocore is not None:
        errors += [botocore.BotoCoreError, botocore.ClientError]
    boto3 = sys.modules.get("boto3.exceptions")
    if boto3 is not None:
        errors.append(boto3.Boto3Error)
    return tuple(errors)


@contextmanager
def storage_errors_for_author():
    """Turn a storage failure into StorageUnavailable, with a message for the author
    (the details, such as the bucket's address, go to the log)."""
    try:
        yield
    except storage_errors() as exc:
        logger.error("The media storage failed: %s", exc)
        raise StorageUnavailable(
            "The image could not be saved: the media storage did not answer, so nothing "
            "was stored. Please try again in a few minutes."
        ) from exc


@dataclass(frozen=True)
class CleanImage:
    content: bytes
    extension: str
    content_type: str


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
            fmt = "JPEG" if probe.format == "MPO" else probe.format  # MPO: a JPEG + extras
            if fmt not in FORMATS:
                raise ImageRejected(
                    "Only JPEG, PNG, WebP and GIF images can be uploaded"
                    + (f" (this file is {probe.format})." if probe.format else ".")
                )
            # The header gives the size before any pixel is decoded: refuse bombs here.
            if probe.width * probe.height > _max_pixels():
                raise ImageRejected(_too_many_pixels(probe.width, probe.height))
            # An MPO's extra frames (depth maps, previews) are dropped: only the photo stays.
            frames = 1 if probe.format == "MPO" else getattr(probe, "n_frames", 1)
            if frames > 1 and fmt != "GIF":
                raise ImageRejected(
                    "Animated WebP and PNG images are not supported; upload a GIF or a still image."
                )
            if frames > MAX_FRAMES or frames * probe.width * probe.height > MAX_ANIMATION_PIXELS:
                raise ImageRejected(
                    f"The animation is too large ({frames} frames of "
                    f"{probe.width}×{probe.height}); keep it under {MAX_FRAMES} frames and "
                    f"{MAX_ANIMATION_PIXELS // 1_000_000} megapixels in all."
                )
            if fmt == "GIF":
                # A later frame can be larger than the canvas (Pillow then grows it):
                # read every frame's size from the file before decoding any.
                for width, height in gif_frame_sizes(data):
                    if width * height > _max_pixels():
                        raise ImageRejected(_too_many_pixels(width, height))
            probe.verify()
            image = Image.open(io.BytesIO(data))
            image.load()
            content = _reencode(image, fmt, frames)
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
    extension, content_type = FORMATS[fmt]
    return CleanImage(content, extension, content_type)


def gif_frame_sizes(data: bytes):
    """Yield (width, height) of every image in a GIF by walking its blocks, undecoded."""
    try:
        flags = data[10]
        position = 13 + (3 * 2 ** ((flags & 7) + 1) if flags & 0x80 else 0)
        while data[position] != 0x3B:  # trailer
            kind = data[position]
            if kind == 0x21:  # extension: label, then sub-blocks
                position += 2
            elif kind == 0x2C:  # image descriptor
                width = int.from_bytes(data[position + 5 : position + 7], "little")
                height = int.from_bytes(data[position + 7 : position + 9], "little")
                yield width, height
                local = data[position + 9]
                position += 10 + (3 * 2 ** ((local & 7) + 1) if local & 0x80 else 0)
                position += 1  # LZW minimum code size
            else:
                raise ImageRejected("The GIF file is damaged.")
            while data[position]:  # data sub-blocks
                position += data[position] + 1
            position += 1
    except IndexError:
        return  # a truncated file: Pillow's decoding reports it


def _too_many_pixels(width: int, height: int) -> str:
    return (
        f"The image is {width}×{height} pixels; the limit is "
        f"{_max_pixels() // 1_000_000} megapixels."
    )


def _reencode(image: Image.Image, fmt: str, frames: int) -> bytes:
    out = io.BytesIO()
    if fmt == "GIF":
        # GIFs carry no EXIF orientation; frame sizes were checked in clean_image.
        image.info.pop("comment", None)
        image.info.pop("extension", None)
        # Without a duration argument Pillow keeps each frame's own delay.
        image.save(out, "GIF", save_all=frames > 1, optimize=False)
        return out.getvalue()
    image = ImageOps.exif_transpose(image)  # turn the pixels, as the camera meant
    image.info.pop("comment", None)  # Pillow would write a JPEG comment back
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


def original_name(upload) -> str:
    """The uploaded file's own name, without folders, for the library's title."""
    name = (getattr(upload, "name", "") or "").replace("\\", "/").rsplit("/", 1)[-1]
    return name[:255]


def decoded_size(content: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(content)) as decoded:  # reads the header only
        return decoded.size
