"""The site chrome every page shows: title, logo, owner and sections, cached.

Built with three queries, kept in the cache until a setting, section, author profile or
profile link changes (see blog.signals), so a reader page usually spends none on it.
"""

from dataclasses import dataclass

from django.core.cache import cache

from .models import Section, SiteSettings

CACHE_KEY = "bytepress:site-chrome:v1"


@dataclass(frozen=True)
class SiteChrome:
    settings: SiteSettings
    sections: list[Section]
    owner_links: list


def get(request=None) -> SiteChrome:
    """The chrome, from the cache; kept on ``request`` so a page asks the cache once."""
    value = getattr(request, "_bytepress_chrome", None)
    if value is not None:
        return value
    value = cache.get(CACHE_KEY)
    if value is None:
        settings = SiteSettings.objects.select_related("owner").filter(pk=1).first()
        if settings is None:
            settings = SiteSettings.load()
        owner_links = list(settings.owner.links.all()) if settings.owner else []
        value = SiteChrome(settings, list(Section.objects.all()), owner_links)
        cache.set(CACHE_KEY, value, timeout=None)
    if request is not None:
        request._bytepress_chrome = value
    return value


def invalidate() -> None:
    cache.delete(CACHE_KEY)
