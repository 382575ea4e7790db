"""Feeds: validity, content, stable ids, enclosures, conditional GET and visibility."""

import json
import threading
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import feedparser
import pytest
from django.core.files.storage import default_storage
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django.utils.html import escape
from django.utils.http import http_date
from lxml import etree
from lxml import html as lxml_html

from blog import feeds, selectors, services
from blog.models import Link, Post, Section, Series, SiteSettings, SiteVersion

from .conftest import image_bytes

pytestmark = pytest.mark.django_db

XML_FEED_SUFFIXES = ("feed/", "feed/atom/")


def scope_prefixes():
    """The page of every section, series and tag, under which its feeds live."""
    prefixes = [s.get_absolute_url() for s in Section.objects.all()]
    prefixes += [s.get_absolute_url() for s in selectors.public_series()]
    prefixes += [t.get_absolute_url() for t in selectors.tags_with_counts()]
    return prefixes


def xml_feed_urls():
    urls = ["/feed/", "/feed/atom/"]
    urls += [prefix + suffix for prefix in scope_prefixes() for suffix in XML_FEED_SUFFIXES]
    return urls


def parsed(client, url, **headers):
    response = client.get(url, **headers)
    assert response.status_code == 200, url
    feed = feedparser.parse(response.content)
    assert feed.bozo == 0, (url, feed.get("bozo_exception"))
    etree.fromstring(response.content)  # well-formed XML for a strict parser too
    return response, feed


def text_of(html):
    """The text an HTML fragment shows."""
    return lxml_html.fragment_fromstring(html, create_parent="div").text_content()


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
    for url in ["/feed.json", *(prefix + "feed.json" for prefix in scope_prefixes())]:
        response = client.get(url)
        assert response.status_code == 200, url
        assert "DRAFT-MARKER" not in response.content.decode(), url


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
        # RSS descriptions are HTML: the text a reader shows is the summary.
        assert text_of(entry.summary) == post.summary
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
    assert 'href="http://testserver/bytes/sqlite-is-enough/#p-fn:wal"' in footnotes.content[0].value


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

ALL_FEEDS = [
    "/feed/",
    "/feed/atom/",
    "/feed.json",
    "/bytes/feed/",
    "/tags/python/feed/atom/",
    "/bytes/feed.json",
    "/series/systems-reading-list/feed.json",
    "/tags/python/feed.json",
]


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


@pytest.mark.parametrize(
    "change",
    ["section name", "section description", "owner name", "host"],
)
def test_the_etag_changes_with_what_the_feed_shows_beyond_its_posts(
    client, make_post, author, change
):
    SiteSettings(owner=author).save()
    post = make_post()
    url = f"/{post.section.slug}/feed/"
    etag = client.get(url)["ETag"]
    host = {}
    if change == "section name":
        post.section.name = "Long reads"
        post.section.save()
    elif change == "section description":
        post.section.description = "Essays."
        post.section.save()
    elif change == "owner name":
        author.display_name = "Renamed Author"
        author.save()
    else:
        host = {"HTTP_HOST": "localhost"}  # absolute URLs differ with the host
    response = client.get(url, HTTP_IF_NONE_MATCH=etag, **host)
    assert response.status_code == 200, "a stale 304 would keep the old feed"


def test_validators_change_when_published_content_changes(client, make_post):
    post = make_post(published_at=timezone.now() - timedelta(days=2))
    first = client.get("/feed/")
    post.title = "Edited"
    services.save_post(post)
    edited = client.get("/feed/", HTTP_IF_NONE_MATCH=first["ETag"])
    assert edited.status_code == 200
    assert edited["ETag"] != first["ETag"]


def test_a_scheduled_post_going_live_changes_the_validators(client, make_post, monkeypatch):
    """No cron job and no save: the first request after its time moves the version."""
    make_post(published_at=timezone.now() - timedelta(days=2))
    make_post(published_at=timezone.now() + timedelta(hours=1))
    before = client.get("/feed/")
    assert len(feedparser.parse(before.content).entries) == 1
    later = timezone.now() + timedelta(hours=2)
    monkeypatch.setattr(timezone, "now", lambda: later)
    after = client.get("/feed/", HTTP_IF_NONE_MATCH=before["ETag"])
    assert after.status_code == 200
    assert len(feedparser.parse(after.content).entries) == 2


def test_unpublishing_changes_the_feed(client, make_post):
    make_post()
    post = make_post()
    before = client.get("/feed/")
    services.unpublish_posts([post])
    after = client.get("/feed/", HTTP_IF_NONE_MATCH=before["ETag"])
    assert after.status_code == 200
    assert len(feedparser.parse(after.content).entries) == 1


def test_editing_a_draft_does_not_change_the_feed(client, make_post):
    make_post()
    draft = make_post(status=Post.Status.DRAFT, published_at=None)
    before = client.get("/feed/")
    draft.title = "Still a draft"
    draft.save()
    assert client.get("/feed/", HTTP_IF_NONE_MATCH=before["ETag"]).status_code == 304


def test_last_modified_is_an_http_date_of_the_last_change(client, make_post):
    make_post(published_at=timezone.now() - timedelta(days=1))
    response = client.get("/feed/")
    changed = SiteVersion.current().content_changed_at
    assert response["Last-Modified"] == http_date(changed.timestamp())


# --- bad input, empty feeds, stylesheet, query counts --------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "/nope/feed/",
        "/series/nope/feed/",
        "/tags/nope/feed/",
        "/nope/feed/atom/",
        "/tags/nope/feed/atom/",
        "/nope/feed.json",
        "/series/nope/feed.json",
        "/tags/nope/feed.json",
    ],
)
def test_unknown_scopes_are_404(client, db, url):
    assert client.get(url).status_code == 404


def test_a_series_without_published_parts_is_not_public(client, make_post):
    """Its page and every feed answer 404, as for a tag only drafts carry: its title and
    description are not public yet."""
    series = Series.objects.create(title="Planned", slug="planned", description="Soon.")
    make_post(series=series, series_position=1, status=Post.Status.DRAFT)
    make_post(series=series, series_position=2, published_at=timezone.now() + timedelta(days=1))
    make_post()  # a public post elsewhere: the site itself has content
    for suffix in ["", "feed/", "feed/atom/", "feed.json"]:
        response = client.get(series.get_absolute_url() + suffix)
        assert response.status_code == 404, suffix
        assert "Planned" not in response.content.decode()


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
        tag.get_absolute_url() + "feed.json",
        posts[0].series.get_absolute_url() + "feed.json",
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


# --- machine-readable dates ------------------------------------------------------------

ATOM = "{http://www.w3.org/2005/Atom}"


def test_feed_dates_are_to_the_second(client, make_post, other_section):
    """No <updated>, <published>, date_published or date_modified has microseconds."""
    post = make_post()
    moment = timezone.now().replace(microsecond=654321)
    Post.objects.filter(pk=post.pk).update(
        published_at=moment - timedelta(days=1), updated_at=moment
    )
    # An empty feed's <updated> is "now", which has microseconds too.
    for url in ["/feed/atom/", other_section.get_absolute_url() + "feed/atom/"]:
        root = etree.fromstring(client.get(url).content)
        stamps = [e.text for e in root.iter(f"{ATOM}updated", f"{ATOM}published")]
        assert stamps, url
        for stamp in stamps:
            assert datetime.fromisoformat(stamp).microsecond == 0, (url, stamp)
    [item] = json.loads(client.get("/feed.json").content)["items"]
    assert item["date_modified"] == moment.replace(microsecond=0).isoformat()
    assert item["date_published"] == (moment - timedelta(days=1)).replace(microsecond=0).isoformat()


# --- the RSS feed in a browser ---------------------------------------------------------


def stylesheet_instructions(content):
    """The xml-stylesheet processing instructions before a feed's root element."""
    root = etree.fromstring(content)
    return [
        dict(etree.fromstring(f"<pi {pi.text}/>").attrib)
        for pi in root.itersiblings(preceding=True)
        if isinstance(pi, etree._ProcessingInstruction) and pi.target == "xml-stylesheet"
    ]


def test_rss_is_served_as_xml_with_a_css_stylesheet(client, demo):
    """Chromium styles XML with CSS, but shows application/rss+xml as raw text and is
    removing XSLT: the RSS feed is application/xml with a CSS stylesheet only."""
    from django.contrib.staticfiles import finders

    response = client.get("/feed/")
    assert response["Content-Type"] == "application/xml; charset=utf-8"
    [stylesheet] = stylesheet_instructions(response.content)
    assert stylesheet["type"] == "text/css"
    assert stylesheet["href"] == "/static/feeds/rss.css"
    assert finders.find("feeds/rss.css")
    assert stylesheet_instructions(client.get("/feed/atom/").content) == []


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_reader_who_clicks_rss_sees_a_styled_page_about_the_feed(page, live_server):
    """In Chromium the feed reads as a page: what a feed is, its title, one post a line."""
    from django.core.management import call_command

    from .conftest import ARTIFACTS

    call_command("seed_demo", verbosity=0)
    page.goto(live_server.url + "/")
    page.locator("footer").get_by_role("link", name="RSS", exact=True).click()
    page.wait_for_url(live_server.url + "/feed/")
    shown = page.evaluate(
        """() => {
        const style = (el, pseudo) => getComputedStyle(el, pseudo || null);
        const box = (el) => el.getBoundingClientRect();
        const title = document.querySelector("channel > title");
        const items = [...document.querySelectorAll("channel > item")];
        return {
            contentType: document.contentType,
            root: document.documentElement.localName,
            title: title.textContent,
            titleSize: parseFloat(style(title).fontSize),
            kicker: style(title, "::before").content,
            explanation: style(title, "::after").content,
            items: items.map((item) => {
                const t = item.querySelector("title");
                return {
                    title: t.textContent,
                    top: box(t).top,
                    height: box(t).height,
                    weight: parseInt(style(t).fontWeight),
                    description: style(item.querySelector("description")).display,
                };
            }),
        };
    }"""
    )
    # conftest's full-page screenshot times out on an XML document: a tall viewport instead.
    page.set_viewport_size({"width": 1280, "height": 1300})
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "feed-rss-chromium.png"))
    # An XML document styled by rss.css, not Chromium's raw-text view (an HTML <pre>).
    assert shown["contentType"] == "application/xml"
    assert shown["root"] == "rss"
    assert shown["title"] == "Field Notes in Code"
    assert shown["titleSize"] >= 28
    assert "RSS feed" in shown["kicker"]
    assert "feed reader" in shown["explanation"]
    expected = list(Post.objects.published().values_list("title", flat=True)[:20])
    assert [item["title"] for item in shown["items"]] == expected
    tops = [item["top"] for item in shown["items"]]
    assert tops == sorted(tops) and len(set(tops)) == len(tops), "one title under another"
    for item in shown["items"]:
        assert item["height"] > 0 and item["weight"] >= 600, item
        assert item["description"] == "none", "escaped HTML is not shown as text"
    assert page.console_errors == []


# --- images in feed content ------------------------------------------------------------


def test_feed_img_has_the_size_of_the_rendition_it_shows(client, make_post):
    """width and height are the 960 px file's, rounded as the rendition was made."""
    from PIL import Image as PILImage

    from .test_renditions import library_image

    # 1001 * 960 / 1999 = 480.7: rounding, not truncating, gives the file's 481.
    photo = library_image(image_bytes("JPEG", size=(1999, 1001)), alt="A wide photo")
    make_post(body=f"![A wide photo]({photo.file.url})")
    _, feed = parsed(client, "/feed/")
    doc = lxml_html.fragment_fromstring(feed.entries[0].content[0].value, create_parent="div")
    [img] = doc.cssselect("img")
    rendition = photo.renditions.get(kind="width", width=960, format="jpeg")
    assert img.get("src") == f"http://testserver{rendition.file.url}"
    with default_storage.open(rendition.file.name) as handle, PILImage.open(handle) as shown:
        assert (int(img.get("width")), int(img.get("height"))) == shown.size == (960, 481)


def test_feed_img_of_an_image_narrower_than_960_px_keeps_a_matching_size(client, make_post):
    from .test_renditions import library_image

    photo = library_image(image_bytes("PNG", size=(801, 333)), name="n.png", alt="Narrow")
    make_post(body=f"![Narrow]({photo.file.url})")
    _, feed = parsed(client, "/feed/")
    doc = lxml_html.fragment_fromstring(feed.entries[0].content[0].value, create_parent="div")
    [img] = doc.cssselect("img")
    rendition = photo.renditions.get(kind="width", format="png")
    assert img.get("src") == f"http://testserver{rendition.file.url}"
    assert (img.get("width"), img.get("height")) == (str(rendition.width), str(rendition.height))


# --- JSON Feed for every scope ---------------------------------------------------------


def test_every_scope_has_a_json_feed_with_the_same_posts_as_its_rss(client, demo):
    prefixes = scope_prefixes()
    assert len(prefixes) > 5
    for prefix in prefixes:
        _, rss = parsed(client, prefix + "feed/")
        response = client.get(prefix + "feed.json")
        assert response["Content-Type"] == "application/feed+json; charset=utf-8"
        data = json.loads(response.content)
        assert data["version"] == "https://jsonfeed.org/version/1.1"
        assert data["title"] == rss.feed.title
        assert data["home_page_url"] == rss.feed.link == f"http://testserver{prefix}"
        assert data["feed_url"] == f"http://testserver{prefix}feed.json"
        assert [item["id"] for item in data["items"]] == [e.id for e in rss.entries], prefix


def test_json_feeds_name_authors_for_json_feed_1_0_and_1_1(client, demo):
    for url in ["/feed.json", "/bytes/feed.json"]:
        data = json.loads(client.get(url).content)
        assert data["authors"] == [data["author"]] == [{"name": "Rowan Ellery"}]
        for item in data["items"]:
            assert item["authors"] == [item["author"]] == [{"name": "Rowan Ellery"}]


def test_scoped_pages_announce_their_json_feed(client, demo):
    post = Post.objects.published().filter(series__isnull=False).first()
    pages = {
        "/bytes/": "/bytes/feed.json",
        post.series.get_absolute_url(): post.series.get_absolute_url() + "feed.json",
        "/tags/python/": "/tags/python/feed.json",
        post.get_absolute_url(): post.section.get_absolute_url() + "feed.json",
    }
    for page, feed_path in pages.items():
        doc = lxml_html.fromstring(client.get(page).content)
        links = doc.cssselect('head link[rel="alternate"][type="application/feed+json"]')
        hrefs = [link.get("href") for link in links]
        assert hrefs == ["/feed.json", feed_path], page
        assert json.loads(client.get(feed_path).content)["items"], feed_path


# --- one Feed instance, many requests --------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("url", ["/feed/", "/feed/atom/", "/bytes/feed.json"])
def test_concurrent_requests_from_two_hosts_each_get_their_own_urls(
    url, make_post, settings, monkeypatch
):
    """Feed instances are shared by all threads: no request may see another's host."""
    settings.ALLOWED_HOSTS = ["one.example", "two.example"]
    settings.SITE_URL = ""
    make_post(tags=["alpha"])
    barrier = threading.Barrier(2, timeout=10)
    original = feeds.PostFeed.feed_url

    def feed_url(self, feed):
        barrier.wait()  # both requests are now inside the same feed instance
        return original(self, feed)

    monkeypatch.setattr(feeds.PostFeed, "feed_url", feed_url)
    responses, errors = {}, []

    def fetch(host):
        try:
            responses[host] = Client().get(url, HTTP_HOST=host)
        except Exception as exc:  # reported below, with the thread's host
            errors.append((host, exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=fetch, args=(host,)) for host in settings.ALLOWED_HOSTS]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    for host, other in [("one.example", "two.example"), ("two.example", "one.example")]:
        body = responses[host].content.decode()
        assert responses[host].status_code == 200
        assert f"http://{host}{url}" in body  # its self link
        assert f"http://{host}/bytes/post-" in body  # its item links
        assert other not in body


# --- descriptions are text -------------------------------------------------------------

MARKUP_TEXT = "Use the <script> element & <img src=x onerror=alert(1)>"


def test_summaries_with_markup_characters_are_shown_as_text(client, make_post, section):
    """A summary about "<script>" keeps its words in every format, and carries no element."""
    make_post(excerpt=MARKUP_TEXT)
    section.description = "Sections about <b> & <i>"
    section.save()
    site = SiteSettings.load()
    site.tagline = "Notes on <code> & more"
    site.save()
    _, rss = parsed(client, "/feed/")
    [entry] = rss.entries
    assert text_of(entry.summary) == MARKUP_TEXT
    summary = lxml_html.fragment_fromstring(entry.summary, create_parent="div")
    assert [element.tag for element in summary.iter()] == ["div"]
    assert text_of(rss.feed.subtitle) == "Notes on <code> & more"
    _, section_rss = parsed(client, "/bytes/feed/")
    assert text_of(section_rss.feed.subtitle) == "Sections about <b> & <i>"
    _, atom = parsed(client, "/feed/atom/")
    [entry] = atom.entries
    assert entry.summary_detail.type == "text/plain"
    assert entry.summary == MARKUP_TEXT
    [item] = json.loads(client.get("/feed.json").content)["items"]
    assert item["summary"] == MARKUP_TEXT


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        # A site path, with an escaped query string kept escaped once.
        (
            '<a href="/search/?q=a&amp;b=c">s</a>',
            '<a href="https://blog.test/search/?q=a&amp;b=c">s</a>',
        ),
        (
            '<a href="https://other.test/x?a=1&amp;b=2">o</a>',
            '<a href="https://other.test/x?a=1&amp;b=2">o</a>',
        ),
        ('<a href="#part-2">p</a>', '<a href="https://blog.test/bytes/post/#part-2">p</a>'),
        ('<img src="figure.png">', '<img src="https://blog.test/bytes/post/figure.png">'),
        ('<a href="../up/">u</a>', '<a href="https://blog.test/bytes/up/">u</a>'),
        ('<a href="//cdn.test/a.js">c</a>', '<a href="https://cdn.test/a.js">c</a>'),
        ('<a href="mailto:me@blog.test">m</a>', '<a href="mailto:me@blog.test">m</a>'),
        # Only whole attributes: not the end of another attribute's name.
        (
            '<img data-src="a.png" src="/b.png">',
            '<img data-src="a.png" src="https://blog.test/b.png">',
        ),
        (
            '<img srcset="/media/a-480.webp 480w, /media/a-960.webp 960w">',
            '<img srcset="https://blog.test/media/a-480.webp 480w, '
            'https://blog.test/media/a-960.webp 960w">',
        ),
    ],
)
def test_feed_html_urls_are_made_absolute_against_the_post(html, expected):
    assert feeds.absolutize(html, "https://blog.test/bytes/post/") == expected
