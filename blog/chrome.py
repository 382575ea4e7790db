"""The site chrome every page shows: title, logo, owner, sections, the pages in the
navigation and the social image.

Each request reads one token (``SiteVersion.chrome``, a primary-key lookup) that changes
whenever a setting, a section, a page, the author profile or a profile link changes (see
blog.signals). The chrome built for that token is kept in the process, and in the shared
cache for other processes, so a page usually spends one query on it, and an edit shows
on the next request in every worker, with or without Redis. The cache is an
optimisation only: when Redis fails, the chrome is built from the database
(blog.cache turns failures into misses).
"""

import hashlib
import logging
from dataclasses import dataclass, field

from django.core.cache import cache
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from . import pagecache
from .models import Page, Section, SiteSettings, SiteVersion
from .social import title_card

logger = logging.getLogger(__name__)

# v3: SiteChrome gained nav_pages, which a copy cached as v2 lacks.
CACHE_KEY = "bytepress:site-chrome:v3:{token}"
# Tokens are random, so a key is only ever read for the chrome it was written for; the
# expiry just frees the memory of old ones.
CACHE_SECONDS = 24 * 60 * 60

# This process's latest chrome, as (token, SiteChrome); replaced whole, never mutated.
_process_copy: tuple | None = None


@dataclass(frozen=True)
class SiteChrome:
    settings: SiteSettings
    sections: list[Section]
    owner_links: list
    # Storage name and alt text of the image social sites show for pages without a
    # cover: the settings' social image's card, else a card made from the site title.
    social_card: str = ""
    social_card_alt: str = ""
    # Pages with a nav position, in its order; the other pages are not in the chrome.
    nav_pages: list = field(default_factory=list)


def get(request=None) -> SiteChrome:
    """The chrome for the current token; kept on ``request`` so a page looks it up once."""
    global _process_copy
    value = getattr(request, "_bytepress_chrome", None)
    if value is not None:
        return value
    token = pagecache.version(request).chrome  # the request's one read of the version row
    copy = _process_copy
    if copy is not None and copy[0] == token:
        value = copy[1]
    else:
        key = CACHE_KEY.format(token=token.hex)
        value = cache.get(key)  # Redis failures are misses (blog.cache)
        if value is None:
            value = build()
            cache.set(key, value, timeout=CACHE_SECONDS)
        _process_copy = (token, value)
    if request is not None:
        request._bytepress_chrome = value
    return value


def build() -> SiteChrome:
    # Until the settings are first saved, their defaults apply (a read never writes).
    settings = SiteSettings.objects.select_related("owner", "social_image").filter(
        pk=1
    ).first() or SiteSettings(pk=1)
    owner_links = list(settings.owner.links.all()) if settings.owner else []
    card, alt = social_card(settings)
    nav_pages = Page.objects.filter(nav_position__isnull=False).only("title", "slug")
    return SiteChrome(
        settings,
        list(Section.objects.all()),
        owner_links,
        card,
        alt,
        nav_pages=list(nav_pages.order_by("nav_position", "title")),
    )


def invalidate() -> None:
    """Give the chrome a new token: every process rebuilds it on its next request."""
    SiteVersion.bump_chrome()


def forget_local() -> None:
    """Drop this process's copy (tests, whose database rollbacks reuse tokens)."""
    global _process_copy
    _process_copy = None


# --- the social card ---------------------------------------------------------------


def social_card(settings: SiteSettings) -> tuple[str, str]:
    """(storage name, alt text) of the image for pages without a cover of their own."""
    image = settings.social_image
    if image is not None:
        card = image.renditions.filter(kind="social").values_list("file", flat=True).first()
        if card:
            return card, image.alt
    return default_card(settings.title, settings.tagline), settings.title


def default_card(title: str, tagline: str) -> str:
    """A 1200x630 card with the site's title, made once per title and tagline."""
    digest = hashlib.sha256(f"{title}\n{tagline}".encode()).hexdigest()[:12]
    name = f"site/social-card-{digest}.png"
    try:
        if not default_storage.exists(name):
            name = default_storage.save(name, ContentFile(title_card(title, tagline)))
    except Exception as exc:  # any storage backend's error: pages go without the card
        logger.warning("Cannot store the default social card %s: %s", name, exc)
        return ""
    return name
