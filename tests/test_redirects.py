"""Old addresses keep working: a page that moves leaves a 301 behind it.

Redirects are recorded when a public post, series or tag changes its address
(blog.services: save_post, save_series, save_tag) or added in the admin, and served by
blog.middleware only where the site finds nothing.
"""

from datetime import timedelta

import feedparser
import pytest
from django.http import HttpResponse
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone

from blog import services
from blog.middleware import REDIRECT_MAX_AGE, RedirectMiddleware
from blog.models import Post, Redirect, Series, Tag

pytestmark = pytest.mark.django_db

ADD_URL = reverse("admin:blog_redirect_add")


def redirects():
    return set(Redirect.objects.values_list("old_path", "new_path"))


def moved_to(client, path, **extra):
    """Where a 301 from ``path`` leads; the page there must exist."""
    response = client.get(path, **extra)
    assert response.status_code == 301, (path, response.status_code)
    assert client.get(response["Location"]).status_code == 200, response["Location"]
    return response["Location"]


# --- recorded when a public page moves ---------------------------------------------------


def test_a_published_post_that_changes_its_slug_redirects_from_the_old_address(client, make_post):
    post = make_post(slug="old-slug")
    post.slug = "new-slug"
    services.save_post(post)
    response = client.get("/bytes/old-slug/")
    assert response.status_code == 301
    assert response["Location"] == "/bytes/new-slug/" == post.get_absolute_url()
    # Bounded, because the page may move back (see test_moving_back_…).
    assert f"max-age={REDIRECT_MAX_AGE}" in response["Cache-Control"]


def test_a_post_moved_to_another_section_redirects(client, make_post, other_section):
    post = make_post(slug="moving")
    post.section = other_section
    services.save_post(post)
    assert moved_to(client, "/bytes/moving/") == "/nibbles/moving/"


def test_a_series_that_changes_its_slug_redirects(client, make_post):
    series = Series.objects.create(title="Reading list", slug="reading-list")
    make_post(series=series, series_position=1)
    series.slug = "ml-reading-list"
    services.save_series(series)
    assert moved_to(client, "/series/reading-list/") == "/series/ml-reading-list/"


def test_a_tag_that_changes_its_slug_redirects(client, make_post):
    make_post(tags=["Python"])
    tag = Tag.objects.get(name="Python")
    tag.slug = "py"
    services.save_tag(tag)
    assert moved_to(client, "/tags/python/") == "/tags/py/"


def test_a_unicode_tag_slug_is_matched_as_requests_spell_it(client, make_post):
    """Paths are stored decoded, as ``request.path`` is; reverse() percent-encodes."""
    make_post(tags=["Café"])
    tag = Tag.objects.get(name="Café")
    tag.slug = "café"
    services.save_tag(tag)
    tag.slug = "coffee"
    services.save_tag(tag)
    assert redirects() == {("/tags/café/", "/tags/coffee/")}
    assert moved_to(client, "/tags/caf%C3%A9/") == "/tags/coffee/"


def test_chains_collapse_so_every_old_address_is_sent_once(client, make_post):
    post = make_post(slug="a")
    for slug in ("b", "c"):
        post.slug = slug
        services.save_post(post)
    assert redirects() == {("/bytes/a/", "/bytes/c/"), ("/bytes/b/", "/bytes/c/")}
    assert moved_to(client, "/bytes/a/") == "/bytes/c/"


def test_moving_back_deletes_the_redirect_that_would_loop(client, make_post):
    post = make_post(slug="a")
    post.slug = "b"
    services.save_post(post)
    post.slug = "a"
    services.save_post(post)
    assert redirects() == {("/bytes/b/", "/bytes/a/")}
    assert client.get("/bytes/a/").status_code == 200


@pytest.mark.parametrize(
    "unpublished",
    [
        {"status": Post.Status.DRAFT, "published_at": None},
        {"published_at": timezone.now() + timedelta(days=3)},  # scheduled
    ],
    ids=["draft", "scheduled"],
)
def test_a_post_the_public_never_saw_leaves_no_redirect(make_post, unpublished):
    post = make_post(slug="unseen", **unpublished)
    post.slug = "renamed"
    services.save_post(post)
    assert redirects() == set()


def test_a_series_or_tag_that_only_drafts_use_leaves_no_redirect(make_post):
    series = Series.objects.create(title="Coming soon", slug="coming-soon")
    make_post(status=Post.Status.DRAFT, series=series, series_position=1, tags=["Secret"])
    series.slug = "later"
    services.save_series(series)
    tag = Tag.objects.get(name="Secret")
    tag.slug = "hidden"
    services.save_tag(tag)
    assert redirects() == set()


def test_an_edit_that_keeps_the_address_leaves_no_redirect(make_post):
    post = make_post(slug="steady")
    post.title = "A better title"
    services.save_post(post)
    assert redirects() == set()


def test_feed_ids_survive_a_slug_change_and_the_old_link_still_leads_to_the_post(client, make_post):
    post = make_post(slug="first-slug")
    [before] = feedparser.parse(client.get("/feed/").content).entries
    post.slug = "second-slug"
    services.save_post(post)
    [after] = feedparser.parse(client.get("/feed/").content).entries
    # Same id: feed readers see the moved post as the item they already have.
    assert before.id == after.id == f"urn:uuid:{post.uuid}"
    assert moved_to(client, before.link) == "/bytes/second-slug/"
    assert after.link == "http://testserver/bytes/second-slug/"


# --- served by the middleware -------------------------------------------------------------


def test_the_query_string_is_kept(client):
    Redirect.objects.create(old_path="/bytes/old/", new_path="/archive/")
    response = client.get("/bytes/old/?utm_source=feed&page=1")
    assert response.status_code == 301
    assert response["Location"] == "/archive/?utm_source=feed&page=1"


@pytest.mark.parametrize(
    ("stored", "requested"),
    [("/bytes/old/", "/bytes/old"), ("/old.html", "/old.html/")],
    ids=["slash-missing", "slash-added"],
)
def test_a_path_with_or_without_its_trailing_slash_goes_straight_to_the_new_page(
    client, stored, requested
):
    Redirect.objects.create(old_path=stored, new_path="/archive/")
    response = client.get(requested)
    assert (response.status_code, response["Location"]) == (301, "/archive/")


def test_a_live_page_wins_over_a_redirect_from_its_address(client, make_post):
    post = make_post()
    Redirect.objects.create(old_path=post.get_absolute_url(), new_path="/archive/")
    assert client.get(post.get_absolute_url()).status_code == 200


@pytest.mark.parametrize("status", [200, 301, 304, 403, 500])
def test_the_middleware_runs_no_query_unless_the_page_is_not_found(
    django_assert_num_queries, status
):
    Redirect.objects.create(old_path="/bytes/old/", new_path="/archive/")
    page = HttpResponse(status=status)
    middleware = RedirectMiddleware(lambda request: page)
    with django_assert_num_queries(0):
        assert middleware(RequestFactory().get("/bytes/old/")) is page


def test_a_missing_page_without_a_redirect_stays_a_404_after_one_query(
    django_assert_num_queries,
):
    not_found = HttpResponse(status=404)
    middleware = RedirectMiddleware(lambda request: not_found)
    with django_assert_num_queries(1):
        assert middleware(RequestFactory().get("/nowhere/")) is not_found


# --- edited in the admin ------------------------------------------------------------------


def add_redirect(client, old_path, new_path, **kwargs):
    return client.post(ADD_URL, {"old_path": old_path, "new_path": new_path}, **kwargs)


def test_the_admin_lists_and_searches_redirects(staff_client):
    Redirect.objects.create(old_path="/bytes/old/", new_path="/bytes/new/")
    Redirect.objects.create(old_path="/tags/gone/", new_path="/tags/")
    response = staff_client.get(reverse("admin:blog_redirect_changelist"), {"q": "bytes"})
    assert response.status_code == 200
    assert [str(r) for r in response.context["cl"].result_list] == ["/bytes/old/ → /bytes/new/"]


@pytest.mark.parametrize(
    ("old_path", "new_path", "field", "says"),
    [
        ("/same/", "/same/", "new_path", "another address"),
        ("https://elsewhere.example/x/", "/x/", "old_path", "a single “/”"),
        ("/x/", "//elsewhere.example/", "new_path", "a single “/”"),
        ("/x/", "/\\elsewhere.example/", "new_path", "a single “/”"),
        ("/x/?page=2", "/y/", "old_path", "query"),
        ("/x/", "/y/#top", "new_path", "fragment"),
        ("/x y/", "/y/", "old_path", "no spaces"),
        ("/taken/", "/y/", "old_path", "already exists"),
    ],
)
def test_the_admin_refuses_what_is_not_a_redirect_between_two_paths_of_this_site(
    staff_client, old_path, new_path, field, says
):
    Redirect.objects.create(old_path="/taken/", new_path="/elsewhere/")
    response = add_redirect(staff_client, old_path, new_path)
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert says in " ".join(errors[field])
    assert Redirect.objects.count() == 1


def test_the_admin_refuses_a_loop(staff_client):
    Redirect.objects.create(old_path="/b/", new_path="/a/")
    response = add_redirect(staff_client, "/a/", "/b/")
    assert "loop" in " ".join(response.context["adminform"].form.errors["new_path"])
    assert redirects() == {("/b/", "/a/")}


def test_the_admin_points_a_redirected_target_at_its_final_page_and_says_so(staff_client):
    Redirect.objects.create(old_path="/b/", new_path="/c/")
    response = add_redirect(staff_client, "/a/", "/b/", follow=True)
    assert redirects() == {("/a/", "/c/"), ("/b/", "/c/")}
    assert any("straight there" in str(m) for m in response.context["messages"])


def test_the_admin_points_redirects_to_the_new_old_path_past_it(staff_client):
    Redirect.objects.create(old_path="/x/", new_path="/a/")
    assert add_redirect(staff_client, "/a/", "/b/").status_code == 302
    assert redirects() == {("/x/", "/b/"), ("/a/", "/b/")}


def test_the_admin_stores_paths_as_requests_spell_them(client, staff_client):
    assert add_redirect(staff_client, " bytes/caf%C3%A9/ ", "/archive/").status_code == 302
    assert redirects() == {("/bytes/café/", "/archive/")}
    assert client.get("/bytes/caf%C3%A9/")["Location"] == "/archive/"


def test_the_admin_may_turn_a_redirect_around(staff_client):
    redirect = Redirect.objects.create(old_path="/a/", new_path="/b/")
    address = reverse("admin:blog_redirect_change", args=[redirect.pk])
    response = staff_client.post(address, {"old_path": "/b/", "new_path": "/a/"})
    assert response.status_code == 302
    assert redirects() == {("/b/", "/a/")}


def test_renaming_a_series_or_tag_in_the_admin_leaves_a_redirect(staff_client, make_post):
    series = Series.objects.create(title="Deep dives", slug="deep-dives")
    post = make_post(series=series, series_position=1, tags=["Python"])
    tag = Tag.objects.get(name="Python")
    response = staff_client.post(
        reverse("admin:blog_series_change", args=[series.pk]),
        {
            "title": "Deep dives",
            "slug": "deep-dives-2",
            "description": "",
            "posts-TOTAL_FORMS": "1",
            "posts-INITIAL_FORMS": "1",
            "posts-MIN_NUM_FORMS": "0",
            "posts-MAX_NUM_FORMS": "1000",
            "posts-0-id": str(post.pk),
            "posts-0-series": str(series.pk),
            "posts-0-series_position": "1",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    response = staff_client.post(
        reverse("admin:blog_tag_change", args=[tag.pk]), {"name": "Python", "slug": "python-3"}
    )
    assert response.status_code == 302
    assert Redirect.objects.filter(old_path="/series/deep-dives/", new_path="/series/deep-dives-2/")
    assert Redirect.objects.filter(old_path="/tags/python/", new_path="/tags/python-3/")


def test_a_post_unpublished_as_it_moves_leaves_no_redirect_to_its_new_address(make_post):
    post = make_post(slug="public-name")
    post.slug = "secret-new-name"
    post.status = Post.Status.DRAFT
    services.save_post(post)
    assert not Redirect.objects.exists(), "the draft's new address would be revealed"


def test_renaming_a_section_redirects_it_and_its_published_posts(staff_client, make_post):
    post = make_post(slug="hello")
    draft = make_post(slug="not-yet", status=Post.Status.DRAFT)
    section = post.section
    response = staff_client.post(
        reverse("admin:blog_section_change", args=[section.pk]),
        {"name": section.name, "slug": "long-reads", "description": "", "nav_position": "1"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert staff_client.get("/bytes/hello/").headers["Location"] == "/long-reads/hello/"
    assert Client().get("/bytes/").headers["Location"] == "/long-reads/"
    assert not Redirect.objects.filter(old_path=f"/bytes/{draft.slug}/").exists()


def test_renaming_a_page_redirects_its_old_address(staff_client):
    from blog.models import Page

    page = Page.objects.create(title="About", slug="about", body="Hello.")
    response = staff_client.post(
        reverse("admin:blog_page_change", args=[page.pk]),
        {"title": "About", "slug": "about-me", "nav_position": "", "body": "Hello."},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Client().get("/about/").headers["Location"] == "/about-me/"
