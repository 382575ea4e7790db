from dataclasses import dataclass

from django.urls import reverse
from django.utils.functional import SimpleLazyObject

from . import chrome

# The navigation entry each kind of page sits under (posts and section pages sit under
# their section, see nav_parent); pages not listed (search, feeds) sit under none.
NAV_PARENTS = {
    "home": "blog:home",
    "series-list": "blog:series-list",
    "series-detail": "blog:series-list",
    "tag-list": "blog:tag-list",
    "tag-detail": "blog:tag-list",
    "archive": "blog:archive",
    "archive-year": "blog:archive",
    "archive-month": "blog:archive",
}


@dataclass(frozen=True)
class NavItem:
    label: str
    url: str
    # aria-current: "page" on the page the entry links to, "true" on the pages below it
    # (a post in its section, a tag under Tags, page 2 of a list), else "".
    current: str = ""


def nav_parent(request) -> str | None:
    """The URL of the navigation entry that the requested page sits under, if any."""
    match = request.resolver_match
    if match is None or match.namespace != "blog":
        return None
    if match.url_name in {"section-detail", "post-detail"}:
        return reverse("blog:section-detail", kwargs={"section": match.kwargs["section"]})
    parent = NAV_PARENTS.get(match.url_name)
    return reverse(parent) if parent else None


def navigation(request, sections, pages=()) -> list[NavItem]:
    """The main navigation: Home, the sections, the pages given (those with a nav
    position), Series, Tags and Archive, marked current."""
    entries = [("Home", reverse("blog:home"))]
    entries += [(section.name, section.get_absolute_url()) for section in sections]
    # A page resolves as section-detail (the route is shared), so nav_parent marks it too.
    entries += [(page.title, page.get_absolute_url()) for page in pages]
    entries += [
        ("Series", reverse("blog:series-list")),
        ("Tags", reverse("blog:tag-list")),
        ("Archive", reverse("blog:archive")),
    ]
    parent = nav_parent(request)
    # ?page=1 is the page the entry links to; ?page=2 and later are below it.
    first_page = request.GET.get("page", "1") == "1"

    def current(url):
        if url != parent:
            return ""
        return "page" if request.path == url and first_page else "true"

    return [NavItem(label, url, current(url)) for label, url in entries]


def site(request):
    """The site chrome (settings, sections, pages, owner links) and the navigation for templates,
    loaded when used."""
    site_chrome = SimpleLazyObject(lambda: chrome.get(request))
    return {
        "site_chrome": site_chrome,
        "site_settings": SimpleLazyObject(lambda: site_chrome.settings),
        "site_nav": SimpleLazyObject(
            lambda: navigation(request, site_chrome.sections, site_chrome.nav_pages)
        ),
    }
