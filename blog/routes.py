"""``reverse()`` for the URLs of posts, sections, series, tags and pages, remembered.

A list page asks for a few dozen of these (each card links its post, section, series
and tags), and Django's ``reverse()`` rebuilds each one from the URL patterns: on a page
of twenty cards, that was about a third of the cards' rendering. A URL depends only on
the URL configuration, the script prefix and the arguments, so it is kept under exactly
those; nothing about the object itself (a renamed slug is a different key).
"""

from functools import lru_cache

from django.conf import settings
from django.urls import get_script_prefix, get_urlconf, reverse


def object_url(viewname: str, **kwargs) -> str:
    urlconf = get_urlconf() or settings.ROOT_URLCONF
    return _reverse(viewname, tuple(sorted(kwargs.items())), urlconf, get_script_prefix())


# Bounded: a crawler walking every post of a large archive evicts old entries, and the
# memory stays under a megabyte or two.
@lru_cache(maxsize=8192)
def _reverse(viewname: str, kwargs: tuple, urlconf: str, _prefix: str) -> str:
    return reverse(viewname, urlconf=urlconf, kwargs=dict(kwargs))
