"""Template filters of the reader pages."""

from django import template

from .. import dates

register = template.Library()


# expects_localtime: in the site's time zone, as the visible date beside it (and as the
# |date filter did), so that both name the same day.
@register.filter(expects_localtime=True)
def isodate(value) -> str:
    """A date for ``<time datetime>``: ISO 8601 to the second (no microseconds)."""
    return dates.iso(value)
