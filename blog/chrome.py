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


def get() -> SiteChrome:
    value = cache.get(CACHE_KEY)
    if value is None:
        settings = SiteSettings.objects.select_related("owner").filter(pk=1).first()
        if settings is None:
            settings = SiteSettings.load()
        owner_links = list(settings.owner.links.all()) if settings.owner else []
        value = SiteChrome(settings, list(Section.objects.all()), owner_links)
        cache.set(CACHE_KEY, value, timeout=None)
    return value


def invalidate() -> None:
    cache.delete(CACHE_KEY)
