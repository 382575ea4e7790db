"""The cache is an optimisation only: a Redis that is down or hangs never breaks a page,
and the site chrome is fresh in every process after an edit, with or without Redis."""

import logging
import os
import socket
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.core.cache import caches
from django.test import override_settings
from redis.backoff import NoBackoff
from redis.retry import Retry

from blog import chrome
from blog.models import AuthorProfile, ProfileLink, Section, SiteSettings

pytestmark = pytest.mark.django_db


def redis_settings(location, timeout=0.2):
    return {
        "default": {
            "BACKEND": "blog.cache.ResilientRedisCache",
            "LOCATION": location,
            "OPTIONS": {
                "socket_connect_timeout": timeout,
                "socket_timeout": timeout,
                "retry": Retry(NoBackoff(), 0),
            },
        }
    }


@pytest.fixture
def closed_port():
    """A local port nothing listens on: connections are refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def silent_server():
    """A server that accepts connections (the kernel's backlog does) and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    yield server.getsockname()[1]
    server.close()


def test_reader_pages_work_when_redis_refuses_connections(client, make_post, closed_port, caplog):
    post = make_post(tags=["python"])
    refusing = redis_settings(f"redis://127.0.0.1:{closed_port}/0")
    with override_settings(CACHES=refusing), caplog.at_level(logging.WARNING, "blog.cache"):
        for url in ["/", post.get_absolute_url(), "/tags/", "/feed/", "/search/?q=post"]:
            assert client.get(url).status_code == 200, url
    assert any("serving uncached" in record.getMessage() for record in caplog.records)


def test_a_redis_that_never_answers_costs_a_short_timeout_once(client, make_post, silent_server):
    post = make_post()
    with override_settings(CACHES=redis_settings(f"redis://127.0.0.1:{silent_server}/0")):
        started = time.monotonic()
        for _ in range(5):
            chrome.forget_local()  # each request asks the cache again
            assert client.get(post.get_absolute_url()).status_code == 200
        elapsed = time.monotonic() - started
    # One 0.2 s timeout, then the cache is left alone for a while (not 5 x 2 timeouts,
    # which would take 2 s).
    assert elapsed < 1.0, elapsed


def test_every_thread_leaves_a_failed_redis_alone(silent_server):
    """Django makes one cache object per thread; the pause after a failure is shared."""
    location = f"redis://127.0.0.1:{silent_server}/0"
    with override_settings(CACHES=redis_settings(location)):
        assert caches["default"].get("key") is None  # times out, once

        def other_thread():
            started = time.monotonic()
            caches["default"].get("key")
            return time.monotonic() - started

        with ThreadPoolExecutor(1) as pool:
            assert pool.submit(other_thread).result() < 0.1


def test_failed_cache_operations_act_as_misses(closed_port):
    with override_settings(CACHES=redis_settings(f"redis://127.0.0.1:{closed_port}/0")):
        cache = caches["default"]
        assert cache.get("key", "fallback") == "fallback"
        assert cache.set("key", 1) is None
        assert cache.add("key", 1) is False
        assert cache.get_many(["a", "b"]) == {}
        assert cache.delete("key") is False


@pytest.mark.skipif(
    not os.environ.get("REDIS_URL"), reason="set REDIS_URL to test against a Redis server"
)
def test_the_resilient_cache_works_against_a_real_redis():
    with override_settings(CACHES=redis_settings(os.environ["REDIS_URL"], timeout=1)):
        cache = caches["default"]
        cache.set("bytepress-test-probe", {"ok": 1}, 10)
        assert cache.get("bytepress-test-probe") == {"ok": 1}
        cache.delete("bytepress-test-probe")
        assert cache.get("bytepress-test-probe") is None


# --- the chrome in every process ------------------------------------------------------


def test_a_settings_edit_reaches_a_process_that_has_the_chrome_already(client, make_post):
    post = make_post()
    client.get(post.get_absolute_url())  # this process now holds the chrome
    site = SiteSettings.load()
    site.title = "Renamed blog"
    site.save()
    assert "Renamed blog" in client.get(post.get_absolute_url()).content.decode()


@pytest.mark.parametrize(
    "edit",
    ["settings", "section", "profile", "remove_link"],
)
def test_every_chrome_edit_changes_the_token(author, edit):
    SiteSettings(owner=author).save()
    link = ProfileLink.objects.create(profile=author, label="Bad", url="https://bad.example")
    before = chrome.get()
    if edit == "settings":
        SiteSettings.objects.get().save()
    elif edit == "section":
        Section.objects.create(name="Notes", slug="notes")
    elif edit == "profile":
        AuthorProfile.objects.filter(pk=author.pk).get().save()
    else:
        link.delete()
    after = chrome.get()
    assert after is not before, "the process rebuilt its chrome for the new token"
    if edit == "remove_link":
        assert after.owner_links == []


def test_the_chrome_costs_one_query_once_built(client, make_post, django_assert_num_queries):
    post = make_post()
    client.get(post.get_absolute_url())
    with django_assert_num_queries(1):
        chrome.get()
