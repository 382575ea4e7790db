"""Where uploads live: the local disk (the default) or an S3-compatible bucket.

``config.settings`` calls ``default_storage_from_env``. A mistake in the S3 variables
raises MediaSettingError, which the settings turn into one line at start, so that a
typo is found when the server starts and not at an author's first upload.

MEDIA_STORAGE            local (default) or s3
AWS_STORAGE_BUCKET_NAME  the bucket (required for s3)
AWS_S3_ENDPOINT_URL      https://… of an S3-compatible service (MinIO, R2, …); empty = AWS
AWS_S3_REGION_NAME       e.g. eu-west-1 (R2: auto); empty = the SDK's default
AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY
                         both or neither (neither: the machine's role or profile)
AWS_S3_ADDRESSING_STYLE  auto (default), path or virtual; MinIO usually needs path
MEDIA_CDN_DOMAIN         e.g. media.example.org: file URLs use it instead of the bucket's

Wherever a file is served from (nginx, the bucket, Django in development), its
Content-Type and Content-Disposition follow ``media_headers``: raster images are shown
in place, anything else is a download, so an upload can never be rendered as a page.
"""

import re
from collections.abc import Mapping
from pathlib import PurePosixPath
from urllib.parse import urlsplit

from django.utils.http import content_disposition_header

LOCAL_STORAGE = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
# django-storages' S3Storage, with the per-object headers of media_headers.
S3_BACKEND = "blog.media_storage.MediaS3Storage"

# The only files a browser may show in place: raster images, which cannot carry script.
# deploy/nginx-bytepress.conf lists the same extensions.
INLINE_MEDIA_TYPES = {
    ".avif": "image/avif",
    ".gif": "image/gif",
    ".jpeg": "image/jpeg",
    ".jpg": "image/jpeg",
    ".png": "image/png",
    ".webp": "image/webp",
}
DOWNLOAD_TYPE = "application/octet-stream"

# A stored name never changes (a new upload gets a new name; a replaced image a new
# file), so browsers and the CDN may keep every object for a year.
CACHE_CONTROL = "public, max-age=31536000, immutable"

# A bucket that does not answer must cost an author's upload seconds, not minutes:
# the SDK's defaults are 60 s per connection attempt and several retries.
CONNECT_TIMEOUT = 3
READ_TIMEOUT = 20  # per socket read, not per upload
MAX_ATTEMPTS = 2  # the first try and one retry

ADDRESSING_STYLES = {"auto", "path", "virtual"}
# Bucket names as S3 allows them (3-63 lower-case letters, digits, dots and hyphens).
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_REGION = re.compile(r"[a-z0-9][a-z0-9-]*")
_HOST = re.compile(r"[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:\d{1,5})?")


class MediaSettingError(ValueError):
    """A media variable is missing or malformed; the message names it."""


def default_storage_from_env(env: Mapping[str, str]) -> dict:
    """The STORAGES["default"] entry that the environment asks for."""
    kind = env.get("MEDIA_STORAGE", "").strip().lower() or "local"
    if kind == "local":
        return dict(LOCAL_STORAGE)
    if kind == "s3":
        return s3_storage(env)
    raise MediaSettingError(f"MEDIA_STORAGE must be local or s3, not {kind!r}.")


def s3_storage(env: Mapping[str, str]) -> dict:
    """django-storages' S3 backend with public, cacheable URLs and short timeouts."""
    try:
        from botocore.config import Config
    except ImportError:
        raise MediaSettingError(
            "MEDIA_STORAGE=s3 needs django-storages[s3] (boto3), which is not installed."
        ) from None
    value = _value_of(env)
    style = value("AWS_S3_ADDRESSING_STYLE") or "auto"
    if style not in ADDRESSING_STYLES:
        raise MediaSettingError(
            f"AWS_S3_ADDRESSING_STYLE must be auto, path or virtual, not {style!r}."
        )
    options = {
        "bucket_name": bucket_name(value("AWS_STORAGE_BUCKET_NAME")),
        "endpoint_url": endpoint_url(value("AWS_S3_ENDPOINT_URL")),
        "region_name": region_name(value("AWS_S3_REGION_NAME")),
        **access_keys(value("AWS_ACCESS_KEY_ID"), value("AWS_SECRET_ACCESS_KEY")),
        **cdn_options(value("MEDIA_CDN_DOMAIN")),
        # Objects get no ACL of their own: the bucket's policy decides who reads them
        # (many buckets refuse ACLs altogether).
        "default_acl": None,
        # Plain URLs, the same on every request, so that pages and the CDN can cache them.
        "querystring_auth": False,
        "file_overwrite": False,
        "object_parameters": {"CacheControl": CACHE_CONTROL},
        "client_config": Config(
            connect_timeout=CONNECT_TIMEOUT,
            read_timeout=READ_TIMEOUT,
            retries={"max_attempts": MAX_ATTEMPTS, "mode": "standard"},
            s3={"addressing_style": style},
        ),
    }
    return {"BACKEND": S3_BACKEND, "OPTIONS": options}


def _value_of(env):
    return lambda name: env.get(name, "").strip()


def bucket_name(value: str) -> str:
    if not value:
        raise MediaSettingError("MEDIA_STORAGE=s3 needs AWS_STORAGE_BUCKET_NAME (the bucket).")
    if not _BUCKET.fullmatch(value):
        raise MediaSettingError(
            f"AWS_STORAGE_BUCKET_NAME {value!r} is not a bucket name "
            "(3-63 lower-case letters, digits, dots and hyphens)."
        )
    return value


def endpoint_url(value: str) -> str | None:
    """An S3-compatible service's origin, e.g. https://s3.eu-central-1.example.com."""
    if not value:
        return None  # AWS itself, found from the region
    try:
        parts = urlsplit(value)
        port = parts.port  # raises ValueError for a port that is not a number
    except ValueError:
        parts, port = None, None
    if (
        parts is None
        or parts.scheme not in {"http", "https"}
        or not parts.hostname
        or parts.path not in {"", "/"}
        or parts.query
        or parts.fragment
        or "@" in parts.netloc
        or (port is not None and not 0 < port < 65536)
    ):
        raise MediaSettingError(
            f"AWS_S3_ENDPOINT_URL must be an origin such as https://s3.example.com, not {value!r}."
        )
    return value.rstrip("/")


def region_name(value: str) -> str | None:
    if value and not _REGION.fullmatch(value):
        raise MediaSettingError(
            f"AWS_S3_REGION_NAME must look like eu-west-1 (or auto), not {value!r}."
        )
    return value or None


def access_keys(key_id: str, secret: str) -> dict:
    """Both keys, or neither (then the SDK finds the machine's role or profile)."""
    if bool(key_id) != bool(secret):
        missing = "AWS_SECRET_ACCESS_KEY" if key_id else "AWS_ACCESS_KEY_ID"
        raise MediaSettingError(
            f"{missing} is not set: give both AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
            "or neither to use the machine's role."
        )
    return {"access_key": key_id, "secret_key": secret} if key_id else {}


def cdn_options(value: str) -> dict:
    """MEDIA_CDN_DOMAIN: a host (https is assumed), or an http(s) origin."""
    if not value:
        return {}
    protocol = "https:"
    host = value.rstrip("/")
    if "://" in host:
        scheme, _, host = host.partition("://")
        protocol = f"{scheme}:"
    if protocol not in {"http:", "https:"} or not _HOST.fullmatch(host):
        raise MediaSettingError(
            f"MEDIA_CDN_DOMAIN must be a host name such as media.example.org, not {value!r}."
        )
    return {"custom_domain": host, "url_protocol": protocol}


def media_headers(name: str) -> dict[str, str]:
    """Content-Type and Content-Disposition of a stored file, decided by its name alone
    (never by what the uploader's browser claimed): a raster image is shown in place;
    anything else, an SVG or an HTML file included, is a download of opaque bytes."""
    path = PurePosixPath(name)
    content_type = INLINE_MEDIA_TYPES.get(path.suffix.lower())
    return {
        "Content-Type": content_type or DOWNLOAD_TYPE,
        "Content-Disposition": content_disposition_header(content_type is None, path.name),
    }


def media_image_sources(storage: Mapping) -> list[str]:
    """The Content-Security-Policy sources that media URLs of this STORAGES entry use,
    besides the site's own origin: the CDN's, or the bucket's as the SDK addresses it
    (https://bucket.host or https://host/bucket/, the latter limited to the bucket)."""
    if storage.get("BACKEND") != S3_BACKEND:
        return []  # MEDIA_URL on this site
    options = storage["OPTIONS"]
    if options.get("custom_domain"):
        return [f"{options['url_protocol']}//{options['custom_domain']}"]
    bucket = options["bucket_name"]
    if options.get("endpoint_url"):
        parts = urlsplit(options["endpoint_url"])
        hosts = [(parts.scheme, parts.netloc)]
    else:
        region = options.get("region_name") or _sdk_default_region()
        regional = [f"s3.{region}.amazonaws.com"] if region and region != "us-east-1" else []
        hosts = [("https", host) for host in ["s3.amazonaws.com", *regional]]
    style = options["client_config"].s3.get("addressing_style", "auto")
    sources = []
    for scheme, host in hosts:
        if style in {"auto", "virtual"}:
            sources.append(f"{scheme}://{bucket}.{host}")
        if style in {"auto", "path"}:
            sources.append(f"{scheme}://{host}/{bucket}/")
    return sources


def _sdk_default_region() -> str | None:
    # Without AWS_S3_REGION_NAME the SDK takes the region from AWS_DEFAULT_REGION or the
    # machine's AWS config file, and so do the URLs it builds.
    import botocore.session

    return botocore.session.get_session().get_config_variable("region")
