"""The S3 storage behind MEDIA_STORAGE=s3 (config/media.py builds its options)."""

from storages.backends.s3 import S3Storage

from config.media import media_headers


class MediaS3Storage(S3Storage):
    """django-storages' S3Storage, with each object's Content-Type and
    Content-Disposition stored from its name (config.media.media_headers): the bucket
    then serves an upload as what its name says, never as the type the uploader's
    browser claimed, and anything but a raster image as a download."""

    def get_object_parameters(self, name):
        headers = media_headers(name)
        return {
            **super().get_object_parameters(name),
            "ContentType": headers["Content-Type"],
            "ContentDisposition": headers["Content-Disposition"],
        }
