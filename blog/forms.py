from django import forms
from django.core.files.uploadedfile import SimpleUploadedFile

from .images import ImageRejected, clean_image


class CleanImageField(forms.ImageField):
    """An image form field that applies Bytepress's upload rules (see blog/images.py).

    The file the model stores is the cleaned re-encoding: no EXIF or GPS metadata,
    orientation applied, only JPEG/PNG/WebP/GIF within the size and pixel limits.
    """

    def to_python(self, data):
        upload = super().to_python(data)
        if upload is None:
            return None
        try:
            image = clean_image(upload)
        except ImageRejected as exc:
            raise forms.ValidationError(str(exc), code="invalid_image") from None
        stem = (upload.name or "image").rsplit("/", 1)[-1].rsplit(".", 1)[0][:80] or "image"
        cleaned = SimpleUploadedFile(
            f"{stem}.{image.extension}", image.content, content_type=image.content_type
        )
        cleaned.image = getattr(upload, "image", None)
        return cleaned
