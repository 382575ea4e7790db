"""Bytepress settings, read from environment variables.

Development needs nothing but ``DJANGO_DEBUG=1``. With debug off, the settings refuse to
load until ``DJANGO_SECRET_KEY``, ``DJANGO_ALLOWED_HOSTS`` and ``SITE_URL`` are set, so a
production deployment can never run on a placeholder key or take its absolute URLs from
the Host header. A malformed ``DATABASE_URL`` or ``REDIS_URL`` stops the process at start
with one line, instead of failing on the first request.
"""

import ipaddress
import logging
import os
import re
import sys
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url

from config.media import MediaSettingError, default_storage_from_env, media_image_sources

BASE_DIR = Path(__file__).resolve().parent.parent


def refuse(message: str):
    """Stop the process with one line that names the variable to fix (no traceback)."""
    sys.exit(f"Bytepress configuration error: {message}")


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    value = value.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    refuse(f"{name} must be one of 1/0, true/false, yes/no, on/off.")


def env_list(name: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, "").split(",") if item.strip()]


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        return int(value)
    except ValueError:
        refuse(f"{name} must be a whole number, not {value!r}.")


DEBUG = env_bool("DJANGO_DEBUG")

# A production key has at least 50 characters (what `check --deploy` asks for) of which
# at least 10 differ: 50 random URL-safe characters hold about 34 different ones, while a
# typed placeholder ("aaaa…", "changeme" repeated) holds a handful. A key Django generates
# for new projects starts with "django-insecure-"; refusing it stops a copied example
# from reaching production.
SECRET_KEY_MIN_LENGTH = 50
SECRET_KEY_MIN_DISTINCT = 10
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "").strip()
if not SECRET_KEY:
    if not DEBUG:
        refuse("DJANGO_SECRET_KEY is not set (required when DJANGO_DEBUG is off).")
    SECRET_KEY = "dev-only-insecure-key-never-use-in-production"
elif not DEBUG and (
    len(SECRET_KEY) < SECRET_KEY_MIN_LENGTH
    or len(set(SECRET_KEY)) < SECRET_KEY_MIN_DISTINCT
    or SECRET_KEY.startswith("django-insecure")
):
    refuse(
        f"DJANGO_SECRET_KEY is too weak: use at least {SECRET_KEY_MIN_LENGTH} random "
        f"characters, at least {SECRET_KEY_MIN_DISTINCT} of them different "
        "(python -c 'import secrets; print(secrets.token_urlsafe(50))')."
    )

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS")
if not ALLOWED_HOSTS:
    if not DEBUG:
        refuse("DJANGO_ALLOWED_HOSTS is not set (required when DJANGO_DEBUG is off).")
    ALLOWED_HOSTS = ["localhost", "127.0.0.1", "[::1]"]

# Canonical origin for absolute URLs in feeds, sitemaps and meta tags, e.g.
# https://blog.example.org. Empty means "use the request's host".
SITE_URL = os.environ.get("SITE_URL", "").strip().rstrip("/")
if SITE_URL:
    _parts = urlsplit(SITE_URL)
    if (
        _parts.scheme not in {"http", "https"}
        or not _parts.hostname
        or _parts.path
        or _parts.query
        or _parts.fragment
        or "@" in _parts.netloc
    ):
        refuse(f"SITE_URL must be an origin such as https://blog.example.org, not {SITE_URL!r}.")
    CSRF_TRUSTED_ORIGINS = [SITE_URL]
elif not DEBUG:
    # Without it, feeds, sitemaps and the page cache would take the origin from the Host
    # header, which any client chooses.
    refuse(
        "SITE_URL is not set (required when DJANGO_DEBUG is off), e.g. https://blog.example.org."
    )

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.sitemaps",
    "taggit",
    "markdownx",
    "axes",
    "blog",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Outermost after SecurityMiddleware, so that static files (WhiteNoise), kept pages
    # and 503s get the headers too (CONTENT_SECURITY_POLICY below, blog/csp.py).
    "blog.csp.SecurityHeadersMiddleware",
    "csp.middleware.CSPMiddleware",
    # A HEAD answer carries the headers of its GET and no body.
    "blog.middleware.head_without_body",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Outside everything that queries: the database out of reach is a 503 page.
    "blog.faults.DatabaseUnavailableMiddleware",
    # Before the session: a kept page needs no session, auth or CSRF work.
    "blog.pagecache.PageCacheMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    # Inside CommonMiddleware, so it sees a 404 before APPEND_SLASH redirects it.
    "blog.middleware.RedirectMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: it swaps a locked-out login's answer for the lockout page,
    # which every middleware above then treats as any other response.
    "axes.middleware.AxesMiddleware",
]

# django-axes' backend first: it refuses a locked-out login before any password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "blog.context_processors.site",
            ],
        },
    },
]

# The databases Bytepress runs on (search needs PostgreSQL's tsvector or SQLite's FTS5).
DATABASE_SCHEMES = {"sqlite", "postgres", "postgresql", "pgsql"}
DATABASE_URL_EXAMPLE = "postgres://user:password@host:5432/name or sqlite:////srv/blog/db.sqlite3"


def database_url_problem(url: str) -> str:
    """What is wrong with a DATABASE_URL, or "" (never echoes it: it may hold a password)."""
    scheme, separator, rest = url.partition("://")
    if not separator or not scheme:
        return "it has no scheme (nothing before '://')"
    if scheme.lower() not in DATABASE_SCHEMES:
        return f"unknown scheme {scheme!r}"
    if scheme.lower() == "sqlite":
        return "" if rest.lstrip("/") else "it names no SQLite file"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number
    except ValueError:
        return "its host or port cannot be read"
    return "" if parts.path.strip("/") else "it names no database (the path after the host)"


# An empty DATABASE_URL counts as unset (dj-database-url would pick a dummy backend).
_DATABASE_URL = os.environ.get("DATABASE_URL", "").strip() or f"sqlite:///{BASE_DIR / 'db.sqlite3'}"
if _problem := database_url_problem(_DATABASE_URL):
    refuse(
        f"DATABASE_URL is not a database URL this site can use: {_problem}. "
        f"Use e.g. {DATABASE_URL_EXAMPLE}."
    )
try:
    DATABASES = {
        "default": dj_database_url.parse(
            _DATABASE_URL,
            conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
            conn_health_checks=True,
        )
    }
except ValueError as exc:
    refuse(f"DATABASE_URL is not a database URL this site can use ({exc}).")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# PostgreSQL's extras (full-text search) only where PostgreSQL is the database: they load
# psycopg, about 11 MB in every process, that a SQLite site would hold for nothing.
if "postgresql" in DATABASES["default"]["ENGINE"]:
    INSTALLED_APPS.insert(INSTALLED_APPS.index("taggit"), "django.contrib.postgres")


def creates_the_database() -> bool:
    """Whether this process is `manage.py migrate`, the one command that may create the
    SQLite file (a first deployment runs it before anything else). Settings load before
    Django parses the command line, so sys.argv is all there is to go by."""
    return len(sys.argv) > 1 and sys.argv[1] == "migrate"


# SQLite creates a missing file on the first connection: a mistyped path in production
# would then serve an empty blog, and write posts where no backup looks. Only `migrate`
# may create it.
_SQLITE_FILE = DATABASES["default"]["NAME"]
if (
    not DEBUG
    and DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3"
    and str(_SQLITE_FILE) != ":memory:"
    and not Path(_SQLITE_FILE).is_file()
    and not creates_the_database()
):
    refuse(
        f"the SQLite database {_SQLITE_FILE} does not exist: check DATABASE_URL, or create "
        "it with `manage.py migrate`."
    )


def redis_url_problem(url: str) -> str:
    """What is wrong with a REDIS_URL, or "" (never echoes it: it may hold a password)."""
    from redis.connection import parse_url

    try:
        options = parse_url(url)
    except ValueError:
        return "use redis://host:6379/0, rediss://host:6380/0 or unix:///path/to/redis.sock"
    if url.startswith("unix://"):
        return "" if options.get("path") else "a unix:// URL needs the socket's path"
    if not options.get("host"):
        return "it names no host"
    database = urlsplit(url).path.strip("/")
    if database and not database.isdigit():
        return f"the database after the host must be a number, not {database!r}"
    return ""


REDIS_URL = os.environ.get("REDIS_URL", "").strip()
if REDIS_URL and (_problem := redis_url_problem(REDIS_URL)):
    refuse(f"REDIS_URL is not a Redis URL: {_problem}.")
if REDIS_URL:
    # A cache that fails soft (blog/cache.py): short timeouts and no retries, so a Redis
    # that is down or hangs costs a page a fraction of a second, never an error.
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    _REDIS_TIMEOUT = env_int("REDIS_TIMEOUT_MS", 250) / 1000
    CACHES = {
        "default": {
            "BACKEND": "blog.cache.ResilientRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "bytepress",
            "OPTIONS": {
                "socket_connect_timeout": _REDIS_TIMEOUT,
                "socket_timeout": _REDIS_TIMEOUT,
                "retry_on_timeout": False,
                "retry": Retry(NoBackoff(), 0),
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# A login without a safe "next" goes here (see config.urls.after_login).
LOGIN_REDIRECT_URL = "after-login"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
TIME_ZONE = os.environ.get("DJANGO_TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Uploads go to MEDIA_ROOT, or to an S3-compatible bucket with MEDIA_STORAGE=s3 (the
# variables are listed in config/media.py). MEDIA_URL serves only the local disk.
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "media"))
try:
    _DEFAULT_STORAGE = default_storage_from_env(os.environ)
except MediaSettingError as exc:
    refuse(str(exc))
STORAGES = {
    "default": _DEFAULT_STORAGE,
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# Security headers. Behind a TLS-terminating proxy set DJANGO_SECURE_PROXY_SSL_HEADER=1.
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
X_FRAME_OPTIONS = "DENY"
if not DEBUG:
    SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", True)
    CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", 60 * 60 * 24 * 30)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("DJANGO_SECURE_HSTS_PRELOAD", False)
    # Joining the browsers' preload list is hard to undo: the operator opts in, and
    # until then the deploy check's reminder is silenced.
    if not SECURE_HSTS_PRELOAD:
        SILENCED_SYSTEM_CHECKS = ["security.W021"]
if env_bool("DJANGO_SECURE_PROXY_SSL_HEADER"):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# What a browser may do with this site's responses (blog/csp.py): Content-Security-Policy
# through django-csp, Permissions-Policy, and X-Frame-Options on every response. Reader
# pages load everything from this origin, images also from the media bucket or its CDN;
# nothing inline and no eval. The admin, the editor and its preview need nothing more.
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", *media_image_sources(STORAGES["default"])],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# Cookies: scripts can read neither the session's nor the CSRF token's (the admin's scripts
# and django-markdownx take the token from the form). Lax keeps both off cross-site POSTs
# and subrequests, while a link to the admin from elsewhere still arrives logged in.
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Lax"

# Where the admin lives: BYTEPRESS_ADMIN_PATH, e.g. "backstage/" (default "admin/"). It may
# not take the first segment of a reader's path, which it would hide (it is matched first).
ADMIN_PATH_SEGMENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._~-]*")
READER_PATHS = frozenset(
    {
        "accounts", "archive", "favicon.ico", "feed", "feed.json", "media", "preview",
        "robots.txt", "search", "series", "sitemap.xml", "static", "tags",
    }
)  # fmt: skip


def admin_path_problem(value: str) -> str:
    """What is wrong with a BYTEPRESS_ADMIN_PATH, or ""."""
    segments = value.strip().strip("/").split("/")
    if not all(ADMIN_PATH_SEGMENT.fullmatch(segment) for segment in segments):
        return (
            "use path segments of letters, digits, '.', '_', '~' and '-' (each starting with "
            "a letter or digit), separated by '/', e.g. backstage/"
        )
    if segments[0].lower() in READER_PATHS:
        return f"/{segments[0]}/ is a reader's path, and the admin would hide it"
    return ""


_ADMIN_PATH = os.environ.get("BYTEPRESS_ADMIN_PATH", "admin/")
if _problem := admin_path_problem(_ADMIN_PATH):
    refuse(f"BYTEPRESS_ADMIN_PATH {_ADMIN_PATH!r} cannot be used: {_problem}.")
BYTEPRESS_ADMIN_PATH = _ADMIN_PATH.strip().strip("/") + "/"

# Login throttling (django-axes). After BYTEPRESS_LOGIN_FAILURE_LIMIT failed logins for one
# account (from any address), or from one address (for any accounts), logins pause for that
# account or address for BYTEPRESS_LOGIN_COOLOFF_MINUTES after the last failure counted. The
# account rule stops a guesser who spreads over many addresses, the address rule one who
# sprays a common password over many accounts. Attempts made during a pause are refused
# without being counted, so they cannot stretch it; a success clears the count;
# `manage.py axes_reset_username NAME` (or `axes_reset_ip ADDRESS`) lifts a pause at once.
BYTEPRESS_LOGIN_FAILURE_LIMIT = env_int("BYTEPRESS_LOGIN_FAILURE_LIMIT", 5)
BYTEPRESS_LOGIN_COOLOFF_MINUTES = env_int("BYTEPRESS_LOGIN_COOLOFF_MINUTES", 15)
if BYTEPRESS_LOGIN_FAILURE_LIMIT < 1:
    refuse("BYTEPRESS_LOGIN_FAILURE_LIMIT must be at least 1.")
if BYTEPRESS_LOGIN_COOLOFF_MINUTES < 1:
    refuse("BYTEPRESS_LOGIN_COOLOFF_MINUTES must be at least 1.")
# How many reverse proxies in front of the site add to X-Forwarded-For: by default one
# when DJANGO_SECURE_PROXY_SSL_HEADER says a proxy is there (nginx, deploy/), else none.
BYTEPRESS_PROXY_COUNT = env_int(
    "BYTEPRESS_PROXY_COUNT", 1 if env_bool("DJANGO_SECURE_PROXY_SSL_HEADER") else 0
)
if BYTEPRESS_PROXY_COUNT < 0:
    refuse("BYTEPRESS_PROXY_COUNT must be 0 or more.")


def client_address(request) -> str | None:
    """The address a login attempt came from.

    Each trusted proxy appends the address it received the request from to
    X-Forwarded-For, so the client's is BYTEPRESS_PROXY_COUNT entries from the right;
    anything further left was written by the client, who could name any address there.
    Without a proxy, or when the header does not have what the proxies would have
    written, the connection's own address is used.
    """
    from django.conf import settings

    remote = request.META.get("REMOTE_ADDR")
    proxies = settings.BYTEPRESS_PROXY_COUNT
    if not proxies:
        return remote
    hops = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
    if len(hops) < proxies:
        return remote
    try:
        return str(ipaddress.ip_address(hops[-proxies].strip()))
    except ValueError:
        return remote


AXES_FAILURE_LIMIT = BYTEPRESS_LOGIN_FAILURE_LIMIT
AXES_COOLOFF_TIME = timedelta(minutes=BYTEPRESS_LOGIN_COOLOFF_MINUTES)
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_CLIENT_IP_CALLABLE = client_address
AXES_LOCKOUT_TEMPLATE = "admin/lockout.html"
# No "AXES: BEGIN" line at every start; failures and lockouts are still logged.
AXES_VERBOSE = False
# Attempts are forgotten after the cool-off, but a log of every login would grow for good,
# with no page to read it: `manage.py axes_list_attempts` shows what is counted now.
AXES_DISABLE_ACCESS_LOG = True
AXES_ENABLE_ADMIN = False

# The page cache of anonymous readers' pages (blog/pagecache.py); 0 turns it off (the
# benchmark's "cold" pages). Validators and Cache-Control headers are sent either way.
BYTEPRESS_PAGE_CACHE = env_bool("BYTEPRESS_PAGE_CACHE", True)

# Revisions kept per post (the one recorded when it first went public is always kept).
BYTEPRESS_MAX_REVISIONS = env_int("BYTEPRESS_MAX_REVISIONS", 50)
if BYTEPRESS_MAX_REVISIONS < 1:
    refuse("BYTEPRESS_MAX_REVISIONS must be at least 1.")

# Uploads: the limits the admin's image upload enforces (see blog/images.py).
BYTEPRESS_UPLOAD_MAX_BYTES = 10 * 1024 * 1024
BYTEPRESS_UPLOAD_MAX_PIXELS = 40_000_000
# Let a 10 MB image through Django's request parsing; everything else stays small.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# Days a share-preview link to a draft works (blog/sharing.py); "Revoke" ends it sooner.
BYTEPRESS_SHARE_PREVIEW_DAYS = env_int("BYTEPRESS_SHARE_PREVIEW_DAYS", 7)
if BYTEPRESS_SHARE_PREVIEW_DAYS < 1:
    refuse("BYTEPRESS_SHARE_PREVIEW_DAYS must be at least 1.")

# django-markdownx: our own staff-only endpoints and our own sanitising renderer
# (the library's defaults are open to anonymous users and do not sanitise).
MARKDOWNX_URLS_PATH = f"/{BYTEPRESS_ADMIN_PATH}markdownx/markdownify/"
MARKDOWNX_UPLOAD_URLS_PATH = f"/{BYTEPRESS_ADMIN_PATH}markdownx/upload/"
MARKDOWNX_MARKDOWNIFY_FUNCTION = "blog.markdown.render_markdown"
MARKDOWNX_UPLOAD_MAX_SIZE = BYTEPRESS_UPLOAD_MAX_BYTES
MARKDOWNX_UPLOAD_CONTENT_TYPES = ("image/jpeg", "image/png", "image/webp", "image/gif")
MARKDOWNX_SERVER_CALL_LATENCY = 500

# django-taggit: tags are split on commas only and compared without regard to case.
TAGGIT_CASE_INSENSITIVE = True
TAGGIT_TAGS_FROM_STRING = "blog.tags.parse_tags"
TAGGIT_STRING_FROM_TAGS = "blog.tags.join_tags"


class OneLineFormatter(logging.Formatter):
    """One line per event: line breaks in the message and its traceback are written as
    \\n, so a log collector reading stdout line by line keeps an error and its traceback
    together, and a newline in logged input cannot forge a second event.
    config/gunicorn.py uses it too."""

    def __init__(self):
        super().__init__("%(asctime)s %(levelname)s [%(process)d] %(name)s: %(message)s")

    def format(self, record):
        return super().format(record).replace("\r", "\\r").replace("\n", "\\n")


# Development keeps readable multi-line tracebacks on stderr; production writes one line
# per event to stdout, where systemd's journal or the platform collects it.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"one_line": {"()": OneLineFormatter}},
    "handlers": {
        "console": {"class": "logging.StreamHandler"}
        if DEBUG
        else {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stdout",
            "formatter": "one_line",
        }
    },
    "root": {"handlers": ["console"], "level": os.environ.get("DJANGO_LOG_LEVEL", "INFO")},
    # django-axes logs each failure and lockout as a warning, and four lines of
    # bookkeeping at INFO for every login.
    "loggers": {"axes": {"level": "WARNING"}},
}
