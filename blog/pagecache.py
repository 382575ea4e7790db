"""Reader pages at static-file speed, never stale: one content version, a page cache
keyed on it, and validators (ETag, Last-Modified) from it.

Every request reads the site's version row once (``version``). A page, feed or sitemap
that an anonymous reader gets is kept in the cache under that version and the full URL
on the canonical origin, so the next reader gets it without a query more; any change to
what readers see moves the version (blog.signals, blog.services), and with it every key
and every ETag, in every process. The cache is an optimisation only: when it fails
(blog.cache), pages are rendered as if it were empty.

Who bypasses it: anyone with a session (staff, and whoever logged in), the admin and the
shared previews, anything but GET and HEAD, and any response that is not a plain public
200 (previews say ``private, no-store``; errors and redirects are not kept).
"""

import hashlib
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlencode

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpResponse
from django.utils import timezone
from django.utils.cache import get_conditional_response, patch_cache_control
from django.utils.dateparse import parse_datetime
from django.utils.http import http_date

from .models import SiteVersion
from .seo import absolute_url

PAGE_CACHE_CONTROL = {"public": True, "max_age": 60, "stale_while_revalidate": 600}
FEED_CACHE_CONTROL = {"public": True, "max_age": 300}
CACHE_SECONDS = 24 * 60 * 60  # keys change with the version; this only frees memory
# Paths that are never a reader's page.
NOT_READER_PAGES = (
    f"/{settings.BYTEPRESS_ADMIN_PATH}",
    "/preview/",
    "/static/",
    "/media/",
    "/accounts/",
)
# /feed/, /feed/atom/ and /feed.json, for the site and under a section, series or tag.
_FEED_PATH = re.compile(r"/feed(?:/|\.json$)")


@dataclass(frozen=True)
class Version:
    chrome: uuid.UUID
    content: uuid.UUID
    changed_at: datetime
    next_due: datetime | None


def _read_version() -> Version:
    """The version row, read with one plain SQL statement.

    This runs on every reader request, cached page or not, and the ORM's query building
    was most of a cached page's cost. The statement is made once per database vendor.
    """
    sql = _VERSION_SQL.get(connection.vendor)
    if sql is None:
        quote = connection.ops.quote_name
        fields = [SiteVersion._meta.get_field(name) for name in _VERSION_COLUMNS]
        sql = _VERSION_SQL[connection.vendor] = (
            f"SELECT {', '.join(quote(field.column) for field in fields)} "
            f"FROM {quote(SiteVersion._meta.db_table)} WHERE {quote('id')} = %s"
        )
    with connection.cursor() as cursor:
        cursor.execute(sql, [1])
        row = cursor.fetchone()
    if row is None:  # a new database: make the row
        made = SiteVersion.current()
        return Version(made.chrome, made.content, made.content_changed_at, made.next_due)
    chrome, content, changed_at, next_due = row
    return Version(_uuid(chrome), _uuid(content), _aware(changed_at), _aware(next_due))


_VERSION_COLUMNS = ("chrome", "content", "content_changed_at", "next_due")
_VERSION_SQL: dict[str, str] = {}


def _uuid(value) -> uuid.UUID:
    # SQLite keeps a UUID as 32 hex digits; PostgreSQL's driver returns a UUID.
    return value if isinstance(value, uuid.UUID) else uuid.UUID(value)


def _aware(value) -> datetime | None:
    # SQLite keeps a datetime as UTC text; PostgreSQL's driver returns an aware datetime.
    if isinstance(value, str):
        value = parse_datetime(value)
    if value is not None and timezone.is_naive(value):
        value = value.replace(tzinfo=UTC)
    return value


def version(request=None) -> Version:
    """The site's version for this request (one query, then kept on the request).

    A scheduled post whose time has come moves the content version here, on the first
    request after it (one of several concurrent ones does the work).
    """
    kept = getattr(request, "_bytepress_version", None)
    if kept is not None:
        return kept
    kept = _read_version()
    if kept.next_due is not None and kept.next_due <= timezone.now():
        SiteVersion.bump_content(expected_due=kept.next_due)
        kept = _read_version()
    if request is not None:
        request._bytepress_version = kept
    return kept


def _has_session(request) -> bool:
    return settings.SESSION_COOKIE_NAME in request.COOKIES


def _is_reader_request(request) -> bool:
    return request.method in ("GET", "HEAD") and not request.path.startswith(NOT_READER_PAGES)


# The query parameters a reader page reads: list pages, sitemap pages (contrib.sitemaps'
# ?p=) and search. Any other (?utm_source=…, ?fbclid=…) changes nothing on the page, so it
# is left out of the page's identity: such links share the one kept copy instead of each
# adding their own.
READER_PARAMS = ("page", "p", "q")


def page_identity(request) -> str:
    """The page a request asks for: the path and the parameters the page reads."""
    query = urlencode(
        [(name, value) for name in READER_PARAMS for value in request.GET.getlist(name)]
    )
    return f"{request.path}?{query}" if query else request.path


def etag_of(request, current: Version) -> str:
    """One page's validator: the content version, on this origin, for this page."""
    origin = absolute_url(request, "/")
    digest = hashlib.sha256(f"{current.content}|{origin}|{page_identity(request)}".encode())
    return f'"{digest.hexdigest()[:32]}"'


def _cache_key(request, current: Version) -> str:
    # The origin is part of the key: without SITE_URL, pages hold the request's own host
    # in their absolute URLs, so a page made for one host is never served to another.
    origin = absolute_url(request, "/")
    where = hashlib.sha256(f"{origin}|{page_identity(request)}".encode()).hexdigest()
    return f"bytepress:page:{current.content.hex}:{where}"


def add_validators(request, response, current: Version) -> None:
    """ETag and Last-Modified from the content version, and the public Cache-Control."""
    response["ETag"] = etag_of(request, current)
    response["Last-Modified"] = http_date(current.changed_at.timestamp())
    is_feed = _FEED_PATH.search(request.path) is not None
    patch_cache_control(response, **(FEED_CACHE_CONTROL if is_feed else PAGE_CACHE_CONTROL))


def _is_public(response) -> bool:
    control = response.get("Cache-Control", "")
    return (
        response.status_code == 200
        and not response.cookies
        and "private" not in control
        and "no-store" not in control
        and not getattr(response, "streaming", False)
    )


class PageCacheMiddleware:
    """Serve, keep and validate anonymous readers' pages (see the module docstring)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not _is_reader_request(request):
            return self.get_response(request)
        if _has_session(request):
            response = self.get_response(request)
            patch_cache_control(response, private=True, no_store=True)
            return response
        current = version(request)
        # Search results are kept too: a popular search is asked for again and again, and
        # like every page they are only ever served under the current content version.
        key = _cache_key(request, current) if settings.BYTEPRESS_PAGE_CACHE else None
        kept = cache.get(key) if key else None
        if kept is not None:
            response = self._restore(kept)
        else:
            response = self.get_response(request)
            if not _is_public(response):
                return response
            add_validators(request, response, current)
            if key:
                cache.set(key, self._keep(response), CACHE_SECONDS)
        # Conditional answers come only for a page known to exist (a 200 just made or
        # kept): a 404 has been decided before any 304.
        return get_conditional_response(
            request,
            etag=response["ETag"],
            last_modified=int(current.changed_at.timestamp()),
            response=response,
        )

    @staticmethod
    def _keep(response) -> tuple:
        return response.status_code, list(response.items()), response.content

    @staticmethod
    def _restore(kept) -> HttpResponse:
        status, headers, content = kept
        response = HttpResponse(content, status=status)
        for name, value in headers:
            response[name] = value
        return response


def is_current(request) -> bool:
    """Whether the request's ``If-None-Match`` names this page's current ETag (for a
    view that knows the page exists and can answer 304 before rendering it)."""
    if request.method not in ("GET", "HEAD") or _has_session(request):
        return False
    wanted = request.headers.get("If-None-Match", "")
    etag = etag_of(request, version(request))
    return etag in [tag.strip() for tag in wanted.split(",")]


def not_modified(request) -> HttpResponse:
    response = HttpResponse(status=304)
    add_validators(request, response, version(request))
    return response
