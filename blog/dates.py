"""Machine-readable dates: ISO 8601 to the second, never with microseconds.

HTML's ``<time datetime>`` allows at most three fractional digits, and nothing a reader,
a crawler or a feed reader does needs more than seconds; every date Bytepress writes for
machines (HTML, JSON-LD, feeds) goes through here. (Sitemaps need nothing: Django's
sitemap template writes the date alone.)
"""

from datetime import date, datetime


def to_second(value: datetime) -> datetime:
    """``value`` with its microseconds dropped."""
    return value.replace(microsecond=0)


def iso(value: date | datetime | None) -> str:
    """ISO 8601 to the second (``2026-11-17T12:17:10+00:00``); "" for None."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = to_second(value)
    return value.isoformat()
