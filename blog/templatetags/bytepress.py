"""Template filters of the reader pages."""

from django import template

from .. import dates
from ..markdown import is_safe_url

register = template.Library()


# expects_localtime: in the site's time zone, as the visible date beside it (and as the
# |date filter did), so that both name the same day.
@register.filter(expects_localtime=True)
def isodate(value) -> str:
    """A date for ``<time datetime>``: ISO 8601 to the second (no microseconds)."""
    return dates.iso(value)


@register.filter
def safe_url(value) -> str:
    """An author's URL if a page may link to it, else "" (and the template shows no link).

    Link, canonical and profile URLs are checked in admin forms, but an import or the ORM
    writes them as they are: the rule is applied where they are rendered, too. The rule
    is the sanitiser's (blog.markdown.is_safe_url): http, https, mailto, or a relative URL.
    """
    url = str(value or "")
    return url if is_safe_url(url) else ""
