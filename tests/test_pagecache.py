"""Reader pages from the page cache, never stale: one content version, validators from
it, and no cached page for anyone with a session."""

import os
import shutil
import socket
import subprocess
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from redis.backoff import NoBackoff
from redis.retry import Retry

from blog import services
from blog.models import Page, Post, Series, SiteVersion

pytestmark = pytest.mark.django_db

PAGE_CONTROL = {"public", "max-age=60", "stale-while-revalidate=600"}
FEED_CONTROL = {"public", "max-age=300"}


@pytest.fixture
def cached(settings):
    settings.BYTEPRESS_PAGE_CACHE = True


@pytest.fixture
def site(make_post):
    series = Series.objects.create(title="Deep dives", slug="deep-dives")
    post = make_post(title="Public post", tags=["python"], series=series, series_position=1)
    make_post(title="Another", tags=["python"])
    Page.objects.create(title="About", slug="about", body="Who writes here.")
    return post


def reader_urls(post):
    when = timezone.localtime(post.published_at)
    return [
        "/",
        post.section.get_absolute_url(),
        post.get_absolute_url(),
        "/series/",
        "/series/deep-dives/",
        "/tags/",
        "/tags/python/",
        "/archive/",
        f"/archive/{when.year}/",
        f"/archive/{when.year}/{when.month}/",
        "/about/",
        "/feed/",
        "/feed/atom/",
        "/feed.json",
        f"{post.section.get_absolute_url()}feed/",
        "/tags/python/feed/",
        "/series/deep-dives/feed/",
        "/sitemap.xml",
    ]


def controls(response) -> set[str]:
    return {part.strip() for part in response["Cache-Control"].split(",")}


def queries(client, url, **headers):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, **headers)
    return response, len(ctx.captured_queries)


@pytest.mark.usefixtures("cached")
def test_a_kept_page_costs_one_query_and_is_the_same_page(client, site):
    for url in reader_urls(site):
        first, _ = queries(client, url)
        assert first.status_code == 200, url
        again, count = queries(client, url)
        assert count == 1, f"{url}: only the version row is read"
        assert again.content == first.content
        assert again["ETag"] == first["ETag"]


@pytest.mark.parametrize("cache_on", [False, True], ids=["cold", "warm"])
def test_every_page_type_answers_304_to_its_validators(client, site, settings, cache_on):
    settings.BYTEPRESS_PAGE_CACHE = cache_on
    for url in reader_urls(site):
        response = client.get(url)
        etag, modified = response["ETag"], response["Last-Modified"]
        expected = FEED_CONTROL if "feed" in url else PAGE_CONTROL
        assert controls(response) == expected, url
        again = client.get(url, HTTP_IF_NONE_MATCH=etag)
        assert (again.status_code, again.content) == (304, b""), url
        assert client.get(url, HTTP_IF_MODIFIED_SINCE=modified).status_code == 304, url
        for header in (
            {"HTTP_IF_NONE_MATCH": "not-an-etag"},
            {"HTTP_IF_NONE_MATCH": '"'},
            {"HTTP_IF_MODIFIED_SINCE": "yesterday-ish"},
            {"HTTP_IF_MODIFIED_SINCE": "Sun, 99 Foo 2024 99:99:99 GMT"},
        ):
            assert client.get(url, **header).status_code == 200, (url, header)


@pytest.mark.usefixtures("cached")
@pytest.mark.parametrize(
    "url",
    ["/tags/nothing/", "/series/nothing/", "/tags/nothing/feed/", "/series/nothing/feed/"],
)
def test_a_missing_page_is_a_404_before_any_conditional_answer(client, site, url):
    assert client.get(url, HTTP_IF_NONE_MATCH="*").status_code == 404


@pytest.mark.usefixtures("cached")
def test_a_tag_only_a_draft_carries_gives_no_validators(client, make_post):
    make_post(tags=["secret"], status=Post.Status.DRAFT)
    response = client.get("/tags/secret/feed/", HTTP_IF_NONE_MATCH="*")
    assert response.status_code == 404
    assert "Last-Modified" not in response


@pytest.mark.usefixtures("cached")
@pytest.mark.parametrize("change", ["publish", "edit", "unpublish", "schedule comes due"])
def test_every_change_shows_on_the_next_request(client, site, make_post, change, monkeypatch):
    draft = make_post(title="Coming up", status=Post.Status.DRAFT, published_at=None)
    pages = ["/", site.section.get_absolute_url(), "/feed/", "/tags/python/"]
    for url in pages:
        client.get(url)  # kept now
    if change == "publish":
        services.publish_posts([draft])
        expected, gone = "Coming up", None
    elif change == "edit":
        site.title = "Public post, retitled"
        services.save_post(site)
        expected, gone = "Public post, retitled", None
    elif change == "unpublish":
        services.unpublish_posts([site])
        expected, gone = None, "Public post"
    else:
        draft.status, draft.published_at = (
            Post.Status.PUBLISHED,
            timezone.now() + timedelta(hours=1),
        )
        services.save_post(draft)
        assert "Coming up" not in client.get("/").content.decode()
        later = timezone.now() + timedelta(hours=2)
        monkeypatch.setattr(timezone, "now", lambda: later)
        expected, gone = "Coming up", None
    for url in pages[:3]:
        text = client.get(url).content.decode()
        if expected:
            assert expected in text, (change, url)
        if gone:
            assert gone not in text, (change, url)


@pytest.mark.usefixtures("cached")
def test_editing_a_draft_moves_no_validator(client, site, make_post):
    draft = make_post(status=Post.Status.DRAFT, published_at=None)
    before = {url: client.get(url)["ETag"] for url in ("/", "/feed/", "/bytes/feed/")}
    draft.title = "Still hidden"
    services.save_post(draft)
    for url, etag in before.items():
        assert client.get(url, HTTP_IF_NONE_MATCH=etag).status_code == 304, url


@pytest.mark.usefixtures("cached")
def test_no_kept_page_is_served_to_staff_or_with_a_session(client, site, django_user_model):
    url = site.get_absolute_url()
    client.get(url)  # kept for anonymous readers
    # A change that skips the services (and so the version): the kept page is stale.
    Post.objects.filter(pk=site.pk).update(title="Changed behind the cache")
    assert "Changed behind the cache" not in client.get(url).content.decode()
    staff = Client()
    staff.force_login(django_user_model.objects.create_superuser("ed", password="pw"))
    response = staff.get(url)
    assert "Changed behind the cache" in response.content.decode()
    assert {"private", "no-store"} <= controls(response)
    assert "ETag" not in response


@pytest.mark.usefixtures("cached")
def test_a_draft_never_enters_the_cache(client, make_post, django_user_model):
    draft = make_post(title="Hidden draft", status=Post.Status.DRAFT, published_at=None)
    staff = Client()
    staff.force_login(django_user_model.objects.create_superuser("ed", password="pw"))
    assert staff.get(draft.get_absolute_url()).status_code == 200  # the staff preview
    assert client.get(draft.get_absolute_url()).status_code == 404
    shared = staff.get(reverse("admin:blog_post_change", args=[draft.pk]))
    link = shared.content.decode().split('value="http://testserver/preview/')[1].split('"')[0]
    response = client.get(f"/preview/{link}")
    assert response.status_code == 200 and {"private", "no-store"} <= controls(response)
    assert client.get(draft.get_absolute_url()).status_code == 404


@pytest.mark.usefixtures("cached")
def test_a_kept_page_is_never_served_to_another_host(client, site):
    mine = client.get("/feed/", HTTP_HOST="localhost").content.decode()
    theirs = client.get("/feed/", HTTP_HOST="127.0.0.1").content.decode()
    assert "http://localhost/" in mine and "127.0.0.1" not in mine
    assert "http://127.0.0.1/" in theirs and "localhost" not in theirs


@pytest.mark.usefixtures("cached")
def test_search_results_are_kept_per_query_and_validated(client, site):
    url = "/search/?q=post"
    first, _ = queries(client, url)
    _, count = queries(client, url)
    assert count == 1, "search results are rendered again"
    assert client.get(url, HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304
    other, count = queries(client, "/search/?q=other")
    assert count > 1 and other["ETag"] != first["ETag"]


@pytest.mark.usefixtures("cached")
def test_parameters_a_page_does_not_read_share_its_kept_copy(client, site):
    """A link with ?utm_source=… is the same page: served from the same entry, with the
    same validator, so tracking parameters cannot fill the cache with copies."""
    plain, _ = queries(client, "/")
    tracked, count = queries(client, "/?utm_source=feed&fbclid=abc")
    assert count == 1 and tracked["ETag"] == plain["ETag"]
    # The parameters a page reads are part of its identity.
    second, count = queries(client, "/search/?q=post&page=2&utm_medium=x")
    assert count > 1 and second["ETag"] != plain["ETag"]


def test_queryset_updates_in_the_services_move_the_version(site):
    before = SiteVersion.current().content
    services.rerender_all()
    assert SiteVersion.current().content != before


# --- a real Redis that stops -----------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def own_redis(tmp_path):
    """A Redis server of this test's own, to stop in the middle of it."""
    binary = shutil.which("redis-server")
    if binary is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("redis-server is needed in CI")
        pytest.skip("redis-server is not installed")
    port = free_port()
    server = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)
    yield server, port
    server.kill()
    server.wait()


def test_pages_are_served_when_redis_stops_mid_way(client, site, settings, own_redis):
    server, port = own_redis
    caches_setting = {
        "default": {
            "BACKEND": "blog.cache.ResilientRedisCache",
            "LOCATION": f"redis://127.0.0.1:{port}/0",
            "OPTIONS": {
                "socket_connect_timeout": 0.2,
                "socket_timeout": 0.2,
                "retry": Retry(NoBackoff(), 0),
            },
        }
    }
    settings.BYTEPRESS_PAGE_CACHE = True
    with override_settings(CACHES=caches_setting):
        url = site.get_absolute_url()
        first, _ = queries(client, url)
        _, count = queries(client, url)
        assert count == 1, "kept in Redis"
        server.kill()
        server.wait()
        for page in reader_urls(site):
            assert client.get(page).status_code == 200, page
        assert client.get(url).content == first.content


def test_a_current_feed_is_not_rendered_again(client, site, monkeypatch):
    """With the page cache off too, a reader whose copy is current gets a 304 without
    the feed being built (only its subject is looked up, for the 404)."""
    from blog import feeds

    etag = client.get("/tags/python/feed/")["ETag"]

    def no_rendering(*args, **kwargs):
        raise AssertionError("the feed was rendered")

    monkeypatch.setattr(feeds.PostFeed, "render", no_rendering)
    response = client.get("/tags/python/feed/", HTTP_IF_NONE_MATCH=etag)
    assert response.status_code == 304
    assert response["ETag"] == etag
    assert client.get("/tags/nothing/feed/", HTTP_IF_NONE_MATCH=etag).status_code == 404
