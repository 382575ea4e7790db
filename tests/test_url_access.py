"""Who may open what: every URL pattern is public, staff-only or a redirect, and says so
here.

The patterns are read from the resolver, through every include, so a new endpoint that
nobody listed in ACCESS fails the first test, and one listed as staff-only that answers
an anonymous reader (or a logged-in reader who is not staff) fails the others.
"""

import re
from urllib.parse import urlsplit

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.urls import URLResolver, get_resolver, resolve, reverse
from django.utils import timezone

from blog import sharing
from blog.models import ImportRecord, Post, Redirect, Revision

pytestmark = pytest.mark.django_db

PUBLIC, STAFF, REDIRECT = "public", "staff", "redirect"

# Uploads served by Django: in development only (config.urls reads DEBUG when imported).
DEBUG_MEDIA = "^media/(?P<path>.*)$"

# Keyed by the pattern's name, or by its route when it has none.
ACCESS = {
    # Readers' pages, feeds and files.
    "blog:home": PUBLIC,
    "blog:feed-rss": PUBLIC,
    "blog:feed-atom": PUBLIC,
    "blog:feed-json": PUBLIC,
    "blog:series-list": PUBLIC,
    "blog:series-detail": PUBLIC,
    "blog:series-feed-rss": PUBLIC,
    "blog:series-feed-atom": PUBLIC,
    "blog:series-feed-json": PUBLIC,
    "blog:tag-list": PUBLIC,
    "blog:tag-detail": PUBLIC,
    "blog:tag-feed-rss": PUBLIC,
    "blog:tag-feed-atom": PUBLIC,
    "blog:tag-feed-json": PUBLIC,
    "blog:archive": PUBLIC,
    "blog:archive-year": PUBLIC,
    "blog:archive-month": PUBLIC,
    "blog:search": PUBLIC,
    "blog:share-preview": PUBLIC,  # for whoever holds the signed link
    "blog:section-detail": PUBLIC,
    "blog:section-feed-rss": PUBLIC,
    "blog:section-feed-atom": PUBLIC,
    "blog:section-feed-json": PUBLIC,
    "blog:post-detail": PUBLIC,
    "sitemap": PUBLIC,
    "sitemap-section": PUBLIC,
    "robots-txt": PUBLIC,
    DEBUG_MEDIA: PUBLIC,
    "favicon.ico": REDIRECT,
    "after-login": REDIRECT,
    "admin:login": PUBLIC,
    # The editor's endpoints (config.urls.admin_extras).
    "markdownx_markdownify": STAFF,
    "markdownx_upload": STAFF,
    "post-autosave": STAFF,
    "post-autosave-discard": STAFF,
    "post-revisions": STAFF,
    "post-revision": STAFF,
    "post-revision-restore": STAFF,
    # The admin site's own pages.
    "admin:index": STAFF,
    "admin:logout": STAFF,
    "admin:password_change": STAFF,
    "admin:password_change_done": STAFF,
    "admin:autocomplete": STAFF,
    "admin:jsi18n": STAFF,
    "admin:view_on_site": STAFF,
    "admin:app_list": STAFF,
    "admin/(?P<url>.*)$": STAFF,  # the catch-all
    "admin:auth_user_password_change": STAFF,
    "admin:blog_post_revoke_share": STAFF,
}

# Every model the admin registers has the same six pages.
ADMIN_MODELS = [
    "auth.group",
    "auth.user",
    "blog.authorprofile",
    "blog.image",
    "blog.importrecord",
    "blog.page",
    "blog.post",
    "blog.redirect",
    "blog.section",
    "blog.series",
    "blog.sitesettings",
    "blog.tag",
]
for _label in ADMIN_MODELS:
    _app, _model = _label.split(".")
    for _view in ("changelist", "add", "history", "delete", "change"):
        ACCESS[f"admin:{_app}_{_model}_{_view}"] = STAFF
    ACCESS[f"admin/{_app}/{_model}/<path:object_id>/"] = STAFF  # redirects to change


def join_route(prefix: str, route: str) -> str:
    """A route under an include, as Django's ResolverMatch.route writes it."""
    return prefix + route.removeprefix("^") if prefix else route


def walk(resolver, prefix="", namespace=""):
    """(route, key) of every pattern under ``resolver``, through every include."""
    for entry in resolver.url_patterns:
        route = join_route(prefix, str(entry.pattern))
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from walk(entry, route, inner)
        else:
            yield route, f"{namespace}{entry.name}" if entry.name else route


def patterns():
    return list(walk(get_resolver()))


def test_every_pattern_is_listed_once():
    found = patterns()
    keys = [key for _, key in found]
    assert len(keys) == len(set(keys)), "two patterns share a key"
    unlisted = sorted(set(keys) - ACCESS.keys())
    assert not unlisted, f"new URL patterns: say who may open them in ACCESS: {unlisted}"
    gone = sorted(ACCESS.keys() - set(keys) - {DEBUG_MEDIA})
    assert not gone, f"ACCESS lists patterns that no longer exist: {gone}"


# --- sample URLs -------------------------------------------------------------------------


@pytest.fixture
def site(demo, settings):
    """The demo blog, and one of everything a URL can name."""
    post = (
        Post.objects.published()
        .filter(series__isnull=False, tags__isnull=False)
        .select_related("section", "series", "author__user")
        .order_by("pk")
        .first()
    )
    draft = Post.objects.create(
        title="Draft for a share link",
        slug="draft-for-a-share-link",
        section=post.section,
        author=post.author,
        body="Not yet.",
        status=Post.Status.DRAFT,
    )
    Group.objects.get_or_create(name="Editors")
    Redirect.objects.get_or_create(old_path="/old-address/", new_path=post.get_absolute_url())
    ImportRecord.objects.create(
        kind=ImportRecord.Kind.MARKDOWN,
        source_id="posts/hello.md",
        source_hash="0" * 64,
        post=post,
        imported_at=timezone.now(),
    )
    (settings.MEDIA_ROOT / "probe.txt").write_text("a file")
    revision = Revision.objects.filter(post=post).first() or Revision.objects.create(
        post=post, data={}
    )
    return {"post": post, "draft": draft, "revision": revision}


def route_model(route: str):
    """The model whose admin pages a route belongs to (admin/<app>/<model>/…), or None."""
    parts = route.removeprefix(settings.BYTEPRESS_ADMIN_PATH).split("/")
    try:
        return apps.get_model(parts[0], parts[1])
    except (LookupError, ValueError, IndexError):
        return None


def sample_values(route: str, key: str, site: dict) -> dict:
    """A value for each part of the route, naming something that exists."""
    post = site["post"]
    model = route_model(route)
    slug = post.slug
    if "series/" in route:
        slug = post.series.slug
    elif "tags/" in route:
        slug = post.tags.order_by("pk").first().slug
    return {
        "object_id": (model or Post).objects.order_by("pk").first().pk,
        "id": post.author.user.pk,
        "content_type_id": ContentType.objects.get_for_model(Post).pk,
        "app_label": "blog",
        "url": "no-such-page/",
        "post_id": post.pk,
        "revision_id": site["revision"].pk,
        "token": sharing.make_token(site["draft"]),
        "section": f"posts-{post.section.slug}" if key == "sitemap-section" else post.section.slug,
        "slug": slug,
        "year": post.published_at.year,
        "month": post.published_at.month,
        "path": "probe.txt",
    }


def sample_url(route: str, key: str, site: dict) -> str:
    values = sample_values(route, key, site)
    url = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: str(values[m[1]]), route)
    url = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(values[m[1]]), url)
    return "/" + url.removeprefix("^").removesuffix("$")


def samples(site, kind):
    """(key, url) for every pattern of that kind; each URL resolves to its own pattern."""
    found = []
    for route, key in patterns():
        if ACCESS.get(key) != kind:
            continue
        url = sample_url(route, key, site)
        assert resolve(urlsplit(url).path).route == route, f"{url} is not {key}'s"
        found.append((key, url))
    assert found
    return found


# --- who gets in -------------------------------------------------------------------------


def keeps_out(response, key) -> bool:
    """What an outsider gets from a staff-only URL: the login page's address, or a
    refusal (401 is the editor's scripts' cue to ask for a new login). Logging out sends
    to the admin's index, which sends to the login."""
    if response.status_code in (401, 403, 405):
        return True
    if response.status_code != 302:
        return False
    target = urlsplit(response["Location"]).path
    return target == reverse("admin:login") or (
        key == "admin:logout" and target == reverse("admin:index")
    )


def outsider_answers(client, url):
    return {"GET": client.get(url), "POST": client.post(url, {})}


def test_anonymous_visitors_get_no_staff_page(client, site):
    for key, url in samples(site, STAFF):
        for method, response in outsider_answers(client, url).items():
            assert keeps_out(response, key), f"{method} {url} ({key}): {response.status_code}"


def test_logged_in_readers_who_are_not_staff_get_no_staff_page(client, site, django_user_model):
    client.force_login(django_user_model.objects.create_user("reader", password="pw-for-tests"))
    for key, url in samples(site, STAFF):
        for method, response in outsider_answers(client, url).items():
            assert keeps_out(response, key), f"{method} {url} ({key}): {response.status_code}"


def test_staff_reach_every_staff_url(staff_client, site):
    """The sample URLs are real: staff get a page, a redirect, or a refusal of the method
    or of the action, never a missing page (but from the catch-all) or an error."""
    for key, url in samples(site, STAFF):
        response = staff_client.get(url)
        expected_missing = key == "admin/(?P<url>.*)$"
        assert (response.status_code == 404) == expected_missing, f"{url}: {response.status_code}"
        assert response.status_code < 500, url


def test_public_urls_answer_anonymous_visitors(client, site):
    for key, url in samples(site, PUBLIC):
        response = client.get(url)
        assert response.status_code == 200, f"{url} ({key}): {response.status_code}"


def test_redirects_do_not_lead_to_the_login(client, site):
    for key, url in samples(site, REDIRECT):
        response = client.get(url)
        assert response.status_code in (301, 302), f"{url} ({key}): {response.status_code}"
        assert urlsplit(response["Location"]).path != reverse("admin:login")
