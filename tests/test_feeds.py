"""Feeds: validity, content, stable ids, enclosures, conditional GET and visibility."""

import json
from datetime import timedelta
from urllib.parse import urlsplit

import feedparser
import pytest
from django.core.files.storage import default_storage
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django.utils.html import escape
from django.utils.http import http_date
from lxml import etree

from blog.models import Link, Post, Section, Series, SiteSettings, Tag

from .conftest import image_bytes

pytestmark = pytest.mark.django_db

XML_FEED_SUFFIXES = ("feed/", "feed/atom/")


def xml_feed_urls():
    urls = ["/feed/", "/feed/atom/"]
    prefixes = [s.get_absolute_url() for s in Section.objects.all()]
    prefixes += [s.get_absolute_url() for s in Series.objects.all()]
    prefixes += [t.get_absolute_url() for t in Tag.objects.all()]
    urls += [prefix + suffix for prefix in prefixes for suffix in XML_FEED_SUFFIXES]
    return urls


def parsed(client, url, **headers):
    response = client.get(url, **headers)
    assert response.status_code == 200, url
    feed = feedparser.parse(response.content)
    assert feed.bozo == 0, (url, feed.get("bozo_exception"))
    etree.fromstring(response.content)  # well-formed XML for a strict parser too
    return response, feed


def local(url):
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def test_every_feed_is_valid_and_never_shows_drafts(client, demo):
    urls = xml_feed_urls()
    assert len(urls) > 10
    for url in urls:
        response, feed = parsed(client, url)
        assert "DRAFT-MARKER" not in response.content.decode(), url
        for entry in feed.entries:
            assert "DRAFT-MARKER" not in entry.title
    response = client.get("/feed.json")
    assert "DRAFT-MARKER" not in response.content.decode()


def test_the_draft_markers_own_series_and_tag_feeds_leave_them_out(client, demo):
    hidden = list(Post.objects.exclude(pk__in=Post.objects.published()))
    urls = set()
    for post in hidden:
        if post.series:
            urls.add(post.series.get_absolute_url() + "feed/")
        urls |= {t.get_absolute_url() + "feed/atom/" for t in post.tags.all()}
        urls.add(post.section.get_absolute_url() + "feed/")
    assert len(urls) >= 4
    for url in urls:
        response, _ = parsed(client, url)
        assert "DRAFT-MARKER" not in response.content.decode(), url


def test_site_feed_items_are_the_newest_published_posts_in_order(client, demo):
    _, feed = parsed(client, "/feed/")
    expected = list(
        Post.objects.published().order_by("-published_at").values_list("title", flat=True)
    )
    assert [e.title for e in feed.entries] == expected[:20]


def test_feed_length_comes_from_site_settings(client, make_post):
    for _ in range(5):
        make_post()
    site = SiteSettings.load()
    site.feed_length = 3
    site.save()
    _, feed = parsed(client, "/feed/")
    assert len(feed.entries) == 3
    assert len(json.loads(client.get("/feed.json").content)["items"]) == 3


def test_series_feed_is_in_reading_order(client, demo):
    series = Series.objects.get()
    _, feed = parsed(client, series.get_absolute_url() + "feed/")
    assert [e.title for e in feed.entries] == [
        "The systems reading list #1",
        "The systems reading list #2",
        "The systems reading list #3",
    ]


def test_items_carry_full_content_with_absolute_urls_and_links(client, demo):
    _, feed = parsed(client, "/feed/")
    for entry in feed.entries:
        post = Post.objects.get(title=entry.title)
        content = entry.content[0].value
        assert entry.summary == post.summary
        assert client.get(local(entry.link)).status_code == 200
        doc = etree.HTML(f"<div>{content}</div>")
        for element in doc.iter():
            for name in ("href", "src"):
                value = element.get(name)
                if value and not value.startswith("mailto:"):
                    assert value.startswith(("http://", "https://")), (entry.title, value)
            assert not [a for a in element.attrib if a.startswith("on")]
            assert element.tag not in {"script", "iframe", "style", "object", "embed"}
        for link in post.links.all():
            assert link.url in content and escape(link.title) in content
    with_image = next(e for e in feed.entries if "HTTP caching" in e.title)
    assert 'src="http://testserver/media/renditions/' in with_image.content[0].value
    footnotes = next(e for e in feed.entries if "SQLite is enough" in e.title)
    assert 'href="http://testserver/bytes/sqlite-is-enough/#fn:wal"' in footnotes.content[0].value


def test_items_have_author_dates_categories_and_uuid_guid(client, demo):
    _, feed = parsed(client, "/feed/atom/")
    entry = next(e for e in feed.entries if e.title == "SQLite is enough for most blogs")
    post = Post.objects.get(slug="sqlite-is-enough")
    assert entry.id == f"urn:uuid:{post.uuid}"
    assert entry.author == "Rowan Ellery"
    assert {t.term for t in entry.tags} == {"Databases", "SQLite", "Performance"}
    assert entry.published_parsed[:5] == post.published_at.utctimetuple()[:5]
    assert entry.updated_parsed is not None


def test_guid_survives_a_slug_change(client, make_post):
    post = make_post(slug="first-slug")
    _, before = parsed(client, "/feed/")
    post.slug = "second-slug"
    post.save()
    _, after = parsed(client, "/feed/")
    assert before.entries[0].id == after.entries[0].id == f"urn:uuid:{post.uuid}"
    assert before.entries[0].link != after.entries[0].link


def test_cover_image_is_an_enclosure_with_real_length_and_type(client, make_post):
    from .test_renditions import library_image

    cover = library_image(image_bytes("PNG", size=(120, 80)), name="chart.png", alt="A chart")
    make_post(cover=cover)
    with default_storage.open(cover.file.name) as handle:
        data = handle.read()
    _, feed = parsed(client, "/feed/")
    [enclosure] = feed.entries[0].enclosures
    assert enclosure.type == "image/png"
    assert int(enclosure.length) == len(data) == cover.file.size
    assert enclosure.href == f"http://testserver{cover.file.url}"
    item = json.loads(client.get("/feed.json").content)["items"][0]
    assert item["attachments"][0]["size_in_bytes"] == len(data)
    assert item["image"] == enclosure.href


def test_absolute_urls_use_site_url_and_never_example_com(client, demo, settings):
    settings.SITE_URL = "https://blog.example.org"
    for url in ["/feed/", "/feed/atom/", "/feed.json"]:
        body = client.get(url).content.decode()
        assert "example.com" not in body
        assert "http://testserver" not in body
        assert "https://blog.example.org/" in body


def test_json_feed(client, demo):
    response = client.get("/feed.json")
    assert response["Content-Type"].startswith("application/feed+json")
    data = json.loads(response.content)
    assert data["version"] == "https://jsonfeed.org/version/1.1"
    assert data["home_page_url"] == "http://testserver/"
    assert data["feed_url"] == "http://testserver/feed.json"
    titles = [item["title"] for item in data["items"]]
    expected = list(Post.objects.published().values_list("title", flat=True))
    assert titles == expected
    for item in data["items"]:
        post = Post.objects.get(title=item["title"])
        assert item["id"] == f"urn:uuid:{post.uuid}"
        assert item["content_html"] and item["date_published"]
        assert sorted(item["tags"]) == sorted(t.name for t in post.tags.all())


# --- conditional GET -------------------------------------------------------------------

ALL_FEEDS = ["/feed/", "/feed/atom/", "/feed.json", "/bytes/feed/", "/tags/python/feed/atom/"]


@pytest.mark.parametrize("url", ALL_FEEDS)
def test_conditional_get_answers_304(client, demo, url):
    response = client.get(url)
    etag, modified = response["ETag"], response["Last-Modified"]
    assert not etag.startswith("W/"), "a strong ETag"
    assert response["Cache-Control"] == "public, max-age=300"
    again = client.get(url, HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304 and again.content == b""
    assert again["ETag"] == etag
    assert client.get(url, HTTP_IF_MODIFIED_SINCE=modified).status_code == 304
    head = client.head(url)
    assert head.status_code == 200 and head["ETag"] == etag


@pytest.mark.parametrize(
    "headers",
    [
        {"HTTP_IF_MODIFIED_SINCE": "yesterday-ish"},
        {"HTTP_IF_MODIFIED_SINCE": "Sun, 99 Foo 2024 99:99:99 GMT"},
        {"HTTP_IF_NONE_MATCH": "not-a-quoted-etag"},
        {"HTTP_IF_NONE_MATCH": '"'},
    ],
)
def test_malformed_validators_get_a_normal_200(client, demo, headers):
    response = client.get("/feed/", **headers)
    assert response.status_code == 200
    assert feedparser.parse(response.content).entries


def test_validators_change_when_published_content_changes(client, make_post):
    post = make_post(published_at=timezone.now() - timedelta(days=2))
    first = client.get("/feed/")
    Post.objects.filter(pk=post.pk).update(updated_at=timezone.now() + timedelta(seconds=5))
    edited = client.get("/feed/", HTTP_IF_NONE_MATCH=first["ETag"])
    assert edited.status_code == 200
    assert edited["Last-Modified"] != first["Last-Modified"]


def test_a_scheduled_post_going_live_changes_the_validators(client, make_post):
    make_post(published_at=timezone.now() - timedelta(days=2))
    soon = make_post(published_at=timezone.now() + timedelta(seconds=1))
    Post.objects.filter(pk=soon.pk).update(updated_at=timezone.now() - timedelta(days=3))
    before = client.get("/feed/")
    Post.objects.filter(pk=soon.pk).update(published_at=timezone.now() - timedelta(seconds=1))
    after = client.get("/feed/", HTTP_IF_NONE_MATCH=before["ETag"])
    assert after.status_code == 200
    assert len(feedparser.parse(after.content).entries) == 2


def test_unpublishing_changes_the_feed(client, make_post, staff_client):
    make_post()
    post = make_post()
    before = client.get("/feed/")
    from blog.services import unpublish_posts

    unpublish_posts([post])
    # HTTP dates count whole seconds: let the unpublishing happen visibly later.
    Post.objects.filter(pk=post.pk).update(updated_at=timezone.now() + timedelta(seconds=2))
    after = client.get("/feed/", HTTP_IF_NONE_MATCH=before["ETag"])
    assert after.status_code == 200
    assert len(feedparser.parse(after.content).entries) == 1
    assert client.get("/feed/", HTTP_IF_MODIFIED_SINCE=before["Last-Modified"]).status_code == 200


def test_editing_a_draft_does_not_change_the_feed(client, make_post):
    make_post()
    draft = make_post(status=Post.Status.DRAFT, published_at=None)
    before = client.get("/feed/")
    draft.title = "Still a draft"
    draft.save()
    assert client.get("/feed/", HTTP_IF_NONE_MATCH=before["ETag"]).status_code == 304


def test_last_modified_is_an_http_date(client, make_post):
    post = make_post(published_at=timezone.now() - timedelta(days=1))
    post.refresh_from_db()
    response = client.get("/feed/")
    assert response["Last-Modified"] == http_date(post.updated_at.timestamp())


# --- bad input, empty feeds, stylesheet, query counts --------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "/nope/feed/",
        "/series/nope/feed/",
        "/tags/nope/feed/",
        "/nope/feed/atom/",
        "/tags/nope/feed/atom/",
    ],
)
def test_unknown_scopes_are_404(client, db, url):
    assert client.get(url).status_code == 404


def test_series_without_published_parts_is_a_valid_empty_feed(client, make_post):
    series = Series.objects.create(title="Planned", slug="planned")
    make_post(series=series, series_position=1, status=Post.Status.DRAFT)
    for suffix in XML_FEED_SUFFIXES:
        _, feed = parsed(client, series.get_absolute_url() + suffix)
        assert feed.entries == []
        assert feed.feed.title.startswith("Planned")


def test_rss_has_a_stylesheet_that_renders_it(client, demo):
    response = client.get("/feed/")
    assert b'<?xml-stylesheet href="/static/feeds/rss.xsl"' in response.content
    from django.contrib.staticfiles import finders

    xslt = etree.XSLT(etree.parse(finders.find("feeds/rss.xsl")))
    page = str(xslt(etree.fromstring(response.content)))
    assert "Field Notes in Code" in page
    assert "SQLite is enough for most blogs" in page
    assert b"xml-stylesheet" not in client.get("/feed/atom/").content


def count_queries(client, url):
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_feed_queries_do_not_grow_with_items(client, make_rich_posts):
    posts = make_rich_posts(3)
    tag = posts[0].tags.first()
    urls = [
        "/feed/",
        "/feed/atom/",
        "/feed.json",
        posts[0].section.get_absolute_url() + "feed/",
        posts[0].series.get_absolute_url() + "feed/",
        tag.get_absolute_url() + "feed/atom/",
    ]
    client.get("/")  # the cached site chrome, as after any first request
    few = [count_queries(client, url) for url in urls]
    more = make_rich_posts(17, section=posts[0].section)
    for post in more:
        post.tags.add(tag)
        Link.objects.create(post=post, title="Another", url="https://example.org/b", position=2)
    many = [count_queries(client, url) for url in urls]
    assert many == few
    assert max(few) <= 6, dict(zip(urls, few, strict=True))
