"""Reader pages: routes, content, visibility, query counts and bad input."""

import json
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import unquote

import html5lib
import pytest
from django.db import connection
from django.http import HttpResponse
from django.test.utils import CaptureQueriesContext
from django.urls import resolve, reverse
from django.utils import timezone
from lxml import html as lxml_html

from blog import dates, views
from blog.middleware import head_without_body
from blog.models import Link, Post, Section, Series, SiteSettings, Tag

pytestmark = pytest.mark.django_db


def parse(response):
    return lxml_html.fromstring(response.content)


def accessible_name(doc, element) -> str:
    """The name of a landmark from aria-labelledby or aria-label (all that pages use)."""
    if element.get("aria-labelledby"):
        labels = (doc.get_element_by_id(i) for i in element.get("aria-labelledby").split())
        return " ".join(label.text_content().strip() for label in labels)
    return element.get("aria-label", "").strip()


@pytest.mark.parametrize(
    ("name", "kwargs", "path", "view"),
    [
        ("blog:home", {}, "/", views.HomeView),
        ("blog:section-detail", {"section": "bytes"}, "/bytes/", views.SectionView),
        ("blog:post-detail", {"section": "bytes", "slug": "x"}, "/bytes/x/", views.PostView),
        ("blog:series-list", {}, "/series/", views.SeriesListView),
        ("blog:series-detail", {"slug": "s"}, "/series/s/", views.SeriesView),
        ("blog:tag-list", {}, "/tags/", views.TagListView),
        ("blog:tag-detail", {"slug": "café"}, "/tags/caf%C3%A9/", views.TagView),
        ("blog:archive", {}, "/archive/", views.ArchiveView),
        ("blog:archive-year", {"year": 2026}, "/archive/2026/", views.YearView),
        ("blog:archive-month", {"year": 2026, "month": 5}, "/archive/2026/5/", views.MonthView),
        ("blog:search", {}, "/search/", views.SearchView),
    ],
)
def test_routes_reverse_and_resolve(name, kwargs, path, view):
    assert reverse(name, kwargs=kwargs) == path
    assert resolve(unquote(path)).func.view_class is view


@pytest.mark.parametrize(
    ("name", "kwargs", "path"),
    [
        ("blog:feed-rss", {}, "/feed/"),
        ("blog:feed-atom", {}, "/feed/atom/"),
        ("blog:feed-json", {}, "/feed.json"),
        ("blog:section-feed-rss", {"section": "bytes"}, "/bytes/feed/"),
        ("blog:section-feed-atom", {"section": "bytes"}, "/bytes/feed/atom/"),
        ("blog:series-feed-rss", {"slug": "s"}, "/series/s/feed/"),
        ("blog:series-feed-atom", {"slug": "s"}, "/series/s/feed/atom/"),
        ("blog:tag-feed-rss", {"slug": "t"}, "/tags/t/feed/"),
        ("blog:tag-feed-atom", {"slug": "t"}, "/tags/t/feed/atom/"),
        ("sitemap", {}, "/sitemap.xml"),
        ("robots-txt", {}, "/robots.txt"),
    ],
)
def test_discovery_routes(name, kwargs, path):
    assert reverse(name, kwargs=kwargs) == path
    assert resolve(path).url_name == name.split(":")[-1]


# --- every public page, on the demo blog ------------------------------------------------


def public_urls():
    urls = ["/", "/series/", "/tags/", "/archive/", "/search/", "/search/?q=sqlite"]
    urls += [s.get_absolute_url() for s in Section.objects.all()]
    urls += [s.get_absolute_url() for s in Series.objects.all()]
    urls += [t.get_absolute_url() for t in Tag.objects.all()]
    posts = list(Post.objects.published().select_related("section"))
    urls += [p.get_absolute_url() for p in posts]
    years = {p.published_at.year for p in posts}
    months = {(p.published_at.year, p.published_at.month) for p in posts}
    urls += [reverse("blog:archive-year", args=[y]) for y in years]
    urls += [reverse("blog:archive-month", args=m) for m in months]
    return urls


def test_demo_markers_never_reach_any_public_page(client, demo):
    for url in [*public_urls(), "/sitemap.xml", "/robots.txt"]:
        response = client.get(url)
        assert response.status_code == 200, url
        assert "DRAFT-MARKER" not in response.content.decode(), url
    for post in Post.objects.exclude(pk__in=Post.objects.published()):
        assert client.get(post.get_absolute_url()).status_code == 404


def test_every_page_is_valid_html5(client, demo):
    parser = html5lib.HTMLParser(strict=True, namespaceHTMLElements=False)
    for url in [*public_urls(), "/does-not-exist/"]:
        response = client.get(url)
        page = response.content.decode()
        parser.parse(page)  # raises on any parse error
        for leftover in ("{# ", " #}", "{% ", " %}", "{{ ", " }}"):
            assert leftover not in page, f"template syntax shown on {url}"
        doc = parse(response)
        assert len(doc.cssselect("h1")) == 1, url
        assert doc.cssselect("html[lang]"), url
        ids = [el.get("id") for el in doc.iter() if el.get("id")]
        assert len(ids) == len(set(ids)), f"duplicate ids on {url}"


def test_every_page_has_title_description_canonical_and_feeds(client, demo):
    for url in public_urls():
        response = client.get(url)
        doc = parse(response)
        assert doc.findtext(".//title").strip(), url
        assert doc.cssselect('meta[name="description"]')[0].get("content"), url
        canonical = doc.cssselect('link[rel="canonical"]')
        assert canonical and canonical[0].get("href").startswith("http://testserver/"), url
        feeds = doc.cssselect('link[rel="alternate"]')
        types = {f.get("type") for f in feeds}
        assert {"application/rss+xml", "application/atom+xml", "application/feed+json"} <= types
        for feed in feeds:
            assert client.get(feed.get("href")).status_code == 200, (url, feed.get("href"))


def test_scoped_pages_announce_their_own_feeds(client, demo):
    section = Section.objects.get(slug="bytes")
    doc = parse(client.get(section.get_absolute_url()))
    hrefs = [f.get("href") for f in doc.cssselect('link[rel="alternate"]')]
    assert "/bytes/feed/" in hrefs and "/bytes/feed/atom/" in hrefs
    series = Series.objects.get()
    doc = parse(client.get(series.get_absolute_url()))
    hrefs = [f.get("href") for f in doc.cssselect('link[rel="alternate"]')]
    assert f"/series/{series.slug}/feed/" in hrefs
    doc = parse(client.get("/tags/python/"))
    hrefs = [f.get("href") for f in doc.cssselect('link[rel="alternate"]')]
    assert "/tags/python/feed/" in hrefs and "/tags/python/feed/atom/" in hrefs


# --- the post page -----------------------------------------------------------------------


def test_post_page_shows_everything_a_reader_needs(client, demo):
    post = Post.objects.get(slug="systems-reading-list-2")
    doc = parse(client.get(post.get_absolute_url()))
    article = doc.cssselect("article.post")[0]
    assert article.cssselect("h1")[0].text_content() == post.title
    assert post.subtitle in article.cssselect(".post__subtitle")[0].text_content()
    times = article.cssselect("header time[datetime]")
    assert times[0].get("datetime") == dates.iso(post.published_at)
    byline = article.cssselect(".post__header .meta")[0]
    assert "Rowan Ellery" in byline.text_content()
    assert [a.text for a in byline.cssselect("a[rel~=author]")] == [
        "LinkedIn",
        "GitHub",
        "Mastodon",
    ]
    assert "min read" in byline.text_content()
    assert {a.text for a in article.cssselect(".post__tags a")} == {"#Reading list", "#Systems"}
    # The links, grouped under their headings, in order, with domains and commentary.
    headings = [h.text for h in article.cssselect(".post__links h2")]
    assert headings == ["Latency", "Tools"]
    first = article.cssselect(".post__links .link")[0]
    assert first.cssselect(".link__title a")[0].get("href") == post.links.first().url
    assert first.cssselect(".link__domain")[0].text == "(en.wikipedia.org)"
    assert first.cssselect(".link__commentary p")


def test_series_box_counts_only_published_parts(client, demo):
    post = Post.objects.get(slug="systems-reading-list-2")
    doc = parse(client.get(post.get_absolute_url()))
    box = doc.cssselect(".series-box")[0]
    assert "Part 2 of 3 in" in " ".join(
        box.cssselect(".series-box__kicker")[0].text_content().split()
    )
    parts = box.cssselect(".series-box__parts li")
    assert len(parts) == 3, "the scheduled part 4 is not listed"
    assert parts[1].cssselect('[aria-current="page"]')
    assert box.cssselect('a[rel="prev"]')[0].get("href").endswith("/systems-reading-list-1/")
    assert box.cssselect('a[rel="next"]')[0].get("href").endswith("/systems-reading-list-3/")
    last = Post.objects.get(slug="systems-reading-list-3")
    box = parse(client.get(last.get_absolute_url())).cssselect(".series-box")[0]
    assert not box.cssselect('a[rel="next"]'), "no link to the unpublished part"


def test_previous_and_next_in_section_skip_drafts(client, make_post):
    now = timezone.now()
    older = make_post(title="Older", published_at=now - timedelta(days=3))
    make_post(title="Draft between", status=Post.Status.DRAFT, published_at=now - timedelta(days=2))
    middle = make_post(title="Middle", published_at=now - timedelta(days=1))
    make_post(title="Scheduled", published_at=now + timedelta(days=1))
    doc = parse(client.get(middle.get_absolute_url()))
    nav = doc.cssselect(".post-nav")[0]
    assert nav.cssselect('a[rel="prev"]')[0].get("href") == older.get_absolute_url()
    assert not nav.cssselect('a[rel="next"]')
    doc = parse(client.get(older.get_absolute_url()))
    assert doc.cssselect('.post-nav a[rel="next"]')[0].get("href") == middle.get_absolute_url()


def table_of_contents(doc):
    navs = [nav for nav in doc.cssselect("nav") if accessible_name(doc, nav) == "Contents"]
    assert len(navs) <= 1
    return navs[0] if navs else None


def test_a_post_with_three_headings_shows_a_table_of_contents(client, make_post):
    post = make_post(body="## Install\n\nText.\n\n### On Debian\n\nText.\n\n## Use\n\nText.")
    doc = parse(client.get(post.get_absolute_url()))
    toc = table_of_contents(doc)
    assert toc is not None
    headings = doc.cssselect(".prose h2, .prose h3")
    assert [a.get("href") for a in toc.cssselect("a")] == [f"#{h.get('id')}" for h in headings]
    assert [a.text_content() for a in toc.cssselect("a")] == ["Install", "On Debian", "Use"]
    order = list(doc.iter())
    assert order.index(toc) < order.index(doc.cssselect(".prose")[0]), "before the body"


def test_a_post_with_two_headings_has_no_table_of_contents(client, make_post):
    post = make_post(body="## Install\n\nText.\n\n## Use\n\nText.")
    doc = parse(client.get(post.get_absolute_url()))
    assert table_of_contents(doc) is None
    assert not doc.cssselect(".toc")


def test_updated_date_shows_only_after_an_edit(client, make_post):
    post = make_post(published_at=timezone.now() - timedelta(days=10))
    Post.objects.filter(pk=post.pk).update(updated_at=post.published_at)
    assert (
        "Updated"
        not in parse(client.get(post.get_absolute_url())).cssselect(".meta")[0].text_content()
    )
    Post.objects.filter(pk=post.pk).update(updated_at=timezone.now())
    meta = parse(client.get(post.get_absolute_url())).cssselect(".post__header .meta")[0]
    assert "Updated" in meta.text_content()


def test_post_head_has_open_graph_twitter_and_json_ld(client, demo):
    post = Post.objects.exclude(cover=None).get()
    doc = parse(client.get(post.get_absolute_url()))

    def meta(attr, name):
        return doc.cssselect(f'meta[{attr}="{name}"]')[0].get("content")

    assert meta("property", "og:type") == "article"
    assert meta("property", "og:title").startswith(post.title)
    assert meta("property", "og:url") == f"http://testserver{post.get_absolute_url()}"
    social = post.cover.renditions.get(kind="social")
    assert meta("property", "og:image") == f"http://testserver{social.file.url}"
    assert (social.width, social.height) == (1200, 630)
    assert meta("property", "og:image:alt") == post.cover.alt
    assert meta("name", "twitter:card") == "summary_large_image"
    [script] = doc.cssselect('script[type="application/ld+json"]')
    data = json.loads(script.text)
    assert data["@type"] == "BlogPosting"
    assert data["headline"] == post.title
    assert data["author"]["name"] == "Rowan Ellery"
    assert data["datePublished"] == dates.iso(post.published_at)
    assert data["image"].endswith(social.file.url)
    figure = doc.cssselect("figure.post__cover")[0]
    img = figure.cssselect("img")[0]
    assert img.get("alt") == post.cover.alt and img.get("width") and img.get("height")
    assert figure.cssselect("figcaption")[0].text == post.cover.caption


def test_json_ld_cannot_break_out_of_its_script(client, make_post):
    post = make_post(title="</script><script>alert(1)</script>")
    page = client.get(post.get_absolute_url()).content.decode()
    assert "</script><script>alert(1)" not in page
    doc = lxml_html.fromstring(page)
    data = json.loads(doc.cssselect('script[type="application/ld+json"]')[0].text)
    assert data["headline"] == post.title


# HTML's <time datetime> allows at most three fractional digits; pages write seconds.
ISO_TO_THE_SECOND = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d")


def test_machine_readable_dates_carry_no_microseconds(client, admin_client, make_post, settings):
    """Every <time datetime> and JSON-LD date is ISO 8601 to the second, in the site's time
    zone like the date shown beside it."""
    settings.TIME_ZONE = "America/New_York"
    published = timezone.now().replace(microsecond=152528) - timedelta(days=3)
    series = Series.objects.create(title="Timed", slug="timed")
    post = make_post(published_at=published, series=series, series_position=1)
    Post.objects.filter(pk=post.pk).update(updated_at=published + timedelta(days=1))
    scheduled = make_post(published_at=published + timedelta(days=30))
    pages = [client.get(url) for url in ("/", "/series/", "/bytes/", post.get_absolute_url())]
    pages.append(admin_client.get(scheduled.get_absolute_url()))
    values = [t.get("datetime") for page in pages for t in parse(page).cssselect("time")]
    assert values and all(ISO_TO_THE_SECOND.fullmatch(value) for value in values), values
    local = timezone.localtime(published, timezone.get_current_timezone())
    assert dates.iso(local) in values
    assert dates.iso(timezone.localtime(scheduled.published_at)) in values, "preview banner"
    doc = parse(pages[3])
    data = json.loads(doc.cssselect('script[type="application/ld+json"]')[0].text)
    assert data["datePublished"] == dates.iso(published)
    assert ISO_TO_THE_SECOND.fullmatch(data["dateModified"]), data["dateModified"]


def test_canonical_url_uses_site_url_when_set(client, make_post, settings):
    settings.SITE_URL = "https://blog.example.org"
    post = make_post()
    doc = parse(client.get(post.get_absolute_url()))
    canonical = doc.cssselect('link[rel="canonical"]')[0].get("href")
    assert canonical == f"https://blog.example.org{post.get_absolute_url()}"


def test_post_with_its_own_canonical_url_points_there(client, make_post):
    post = make_post(canonical_url="https://elsewhere.example/original")
    doc = parse(client.get(post.get_absolute_url()))
    assert doc.cssselect('link[rel="canonical"]')[0].get("href") == post.canonical_url


# --- drafts, scheduled posts and staff previews -----------------------------------------


def test_drafts_and_scheduled_posts_are_404_for_the_public(client, make_post):
    draft = make_post(status=Post.Status.DRAFT)
    scheduled = make_post(published_at=timezone.now() + timedelta(days=1))
    assert client.get(draft.get_absolute_url()).status_code == 404
    assert client.get(scheduled.get_absolute_url()).status_code == 404


@pytest.mark.parametrize("visibility", ["draft", "scheduled"])
def test_staff_preview_is_marked_private_and_unindexed(staff_client, make_post, visibility):
    if visibility == "draft":
        post = make_post(status=Post.Status.DRAFT, title="Secret draft")
    else:
        post = make_post(published_at=timezone.now() + timedelta(days=2), title="Secret draft")
    response = staff_client.get(post.get_absolute_url())
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"]
    doc = parse(response)
    assert doc.cssselect('meta[name="robots"]')[0].get("content") == "noindex"
    banner = doc.cssselect(".preview-banner")[0].text_content()
    assert visibility in banner


def test_published_posts_are_not_marked_as_previews(staff_client, make_post):
    response = staff_client.get(make_post().get_absolute_url())
    assert not parse(response).cssselect(".preview-banner")


def test_tag_counts_and_pages_only_count_published_posts(client, make_post):
    make_post(tags=["Shared"])
    make_post(tags=["Shared"], status=Post.Status.DRAFT)
    make_post(tags=["DraftOnly"], status=Post.Status.DRAFT)
    make_post(tags=["Shared"], published_at=timezone.now() + timedelta(days=1))
    doc = parse(client.get("/tags/"))
    items = [li.text_content().split() for li in doc.cssselect(".tag-cloud li")]
    assert items == [["Shared", "1", "post"]]
    assert len(parse(client.get("/tags/shared/")).cssselect(".post-card")) == 1


def test_series_index_lists_only_series_with_published_parts(client, make_post):
    planned = Series.objects.create(title="Planned", slug="planned")
    make_post(series=planned, series_position=1, status=Post.Status.DRAFT)
    live = Series.objects.create(title="Live", slug="live")
    make_post(series=live, series_position=1)
    titles = [a.text for a in parse(client.get("/series/")).cssselect(".post-card__title a")]
    assert titles == ["Live"]
    # Nor is its page: its title and description are not public until a part is.
    assert client.get(planned.get_absolute_url()).status_code == 404


# --- lists, pagination and bad input ----------------------------------------------------


def test_section_list_is_paginated_by_site_settings(client, make_post, section):
    settings_obj = SiteSettings.load()
    settings_obj.posts_per_page = 2
    settings_obj.save()
    for _ in range(5):
        make_post()
    first = parse(client.get(section.get_absolute_url()))
    assert len(first.cssselect(".post-card")) == 2
    assert first.cssselect('.pagination a[rel="next"]')[0].get("href") == "?page=2"
    third = parse(client.get(section.get_absolute_url(), {"page": 3}))
    assert len(third.cssselect(".post-card")) == 1


def test_list_pages_know_their_last_page_without_counting_the_listing(client, make_post, section):
    """Pages are read without COUNT (a cost that grows with the archive): a page knows
    it has a next one by reading one post more, and a page past the end is a 404."""
    settings_obj = SiteSettings.load()
    settings_obj.posts_per_page = 2
    settings_obj.save()
    posts = [make_post(published_at=timezone.now() - timedelta(hours=n + 1)) for n in range(4)]
    second = client.get(section.get_absolute_url(), {"page": 2})
    doc = parse(second)
    titles = [a.text for a in doc.cssselect(".post-card__title a")]
    assert titles == [posts[2].title, posts[3].title]  # newest first, across pages
    # Exactly two pages: the second has a way back, and no way on.
    assert doc.cssselect('.pagination a[rel="prev"]')[0].get("href") == "?page=1"
    assert not doc.cssselect('.pagination a[rel="next"]')
    assert "Page 2" in doc.cssselect(".pagination span")[0].text
    assert client.get(section.get_absolute_url(), {"page": 3}).status_code == 404
    with CaptureQueriesContext(connection) as queries:
        client.get(section.get_absolute_url(), {"page": 2})
    assert not [q["sql"] for q in queries if "COUNT(" in q["sql"].upper()]


def test_page_numbers_past_any_archive_are_404_without_a_query_for_posts(
    client, make_post, section
):
    make_post()
    with CaptureQueriesContext(connection) as queries:
        response = client.get(section.get_absolute_url(), {"page": "9" * 40})
    assert response.status_code == 404
    assert not [q["sql"] for q in queries if "OFFSET" in q["sql"].upper()]


@pytest.mark.parametrize("page", ["abc", "0", "-1", "99999", "last", "1.5", "1e3"])
def test_bad_page_numbers_are_404(client, make_post, section, page):
    make_post()
    response = client.get(section.get_absolute_url(), {"page": page})
    assert response.status_code == 404
    assert "Page not found" in response.content.decode()


def test_unknown_pages_get_the_styled_404(client, db):
    for path in ("/nope/", "/series/nope/", "/tags/nope/", "/nope/post/", "/archive/1999/"):
        response = client.get(path)
        assert response.status_code == 404, path
        doc = parse(response)
        assert doc.cssselect("header.site-header"), path
        assert doc.cssselect("h1")[0].text == "Page not found"


def test_server_error_page_renders_without_context(rf):
    from django.views.defaults import server_error

    response = server_error(rf.get("/"))
    assert response.status_code == 500
    assert "Something went wrong" in response.content.decode()


@pytest.mark.parametrize(
    "query",
    [
        '"unterminated',
        '"exact phrase"',
        "sqlite OR postgres",
        "-excluded word",
        "title:foo AND NOT bar*",
        "x" * 5000,
        "null\x00byte",
        "!!! ??? ...",
        "(((",
        "NEAR(a b)",
        "' OR 1=1 --",
        "",
        "   ",
    ],
)
def test_search_never_fails(client, demo, query):
    response = client.get("/search/", {"q": query})
    assert response.status_code == 200
    doc = parse(response)
    assert doc.cssselect(".post-card") or doc.cssselect('[role="status"]')


def test_home_shows_latest_posts_of_every_section_and_current_series(client, demo):
    doc = parse(client.get("/"))
    sections = [h.text_content() for h in doc.cssselect(".home-section h2")]
    assert sections == ["Bytes", "Nibbles"]
    assert doc.cssselect(".series-card a")[0].text == "The systems reading list"
    bytes_titles = [
        a.text for a in doc.cssselect(".home-section")[0].cssselect(".post-card__title a")
    ]
    expected = list(
        Post.objects.published().filter(section__slug="bytes").values_list("title", flat=True)[:5]
    )
    assert bytes_titles == expected


def test_archives_group_posts_by_year_and_month(client, make_post):
    make_post(title="Old one", published_at=datetime(2024, 5, 4, 12, tzinfo=UTC))
    make_post(title="Newer", published_at=datetime(2025, 1, 2, 12, tzinfo=UTC))
    doc = parse(client.get("/archive/"))
    assert [a.text for a in doc.cssselect(".archive-years a")] == ["2025", "2024"]
    doc = parse(client.get("/archive/2024/"))
    assert [a.text for a in doc.cssselect(".post-card__title a")] == ["Old one"]
    assert [a.text for a in doc.cssselect(".archive-years a")] == ["May"]
    doc = parse(client.get("/archive/2024/5/"))
    assert [a.text for a in doc.cssselect(".post-card__title a")] == ["Old one"]
    assert client.get("/archive/2024/6/").status_code == 404


def test_month_archive_title_names_the_month(client, make_post):
    make_post(published_at=datetime(2024, 5, 4, 12, tzinfo=UTC))
    doc = parse(client.get("/archive/2024/5/"))
    assert doc.findtext(".//title").startswith("Posts from May 2024 · ")


def nav_marks(response):
    nav = parse(response).cssselect('nav[aria-label="Main"]')[0]
    return {a.text_content(): a.get("aria-current") for a in nav.cssselect("a[aria-current]")}


def test_navigation_marks_the_current_page_and_the_pages_below_it(client, make_rich_posts):
    """aria-current="page" on the page an entry links to, "true" on the pages below it."""
    settings_obj = SiteSettings.load()
    settings_obj.posts_per_page = 2
    settings_obj.save()
    post = make_rich_posts(3)[0]
    year, month = post.published_at.year, post.published_at.month
    expected = {
        "/": {"Home": "page"},
        "/bytes/": {"Bytes": "page"},
        "/bytes/?page=1": {"Bytes": "page"},
        "/bytes/?page=2": {"Bytes": "true"},
        post.get_absolute_url(): {"Bytes": "true"},
        "/series/": {"Series": "page"},
        post.series.get_absolute_url(): {"Series": "true"},
        "/tags/": {"Tags": "page"},
        post.tags.first().get_absolute_url(): {"Tags": "true"},
        "/archive/": {"Archive": "page"},
        f"/archive/{year}/": {"Archive": "true"},
        f"/archive/{year}/{month}/": {"Archive": "true"},
        "/search/?q=post": {},
        "/no-such-page/": {},
    }
    assert {url: nav_marks(client.get(url)) for url in expected} == expected


@pytest.mark.parametrize("url", ["/search/?q=post", "/no-such-page/"])
def test_search_landmarks_on_one_page_have_distinct_names(client, make_post, url):
    """The header's search form and the page's own are told apart by their names."""
    make_post()
    doc = parse(client.get(url))
    names = [accessible_name(doc, el) for el in doc.cssselect('[role="search"], search')]
    assert len(names) == 2, names
    assert all(names) and len(set(names)) == len(names), names


def test_sitemap_lists_public_content_with_lastmod(client, demo, settings):
    settings.SITE_URL = "https://blog.example.org"
    from lxml import etree

    base = "https://blog.example.org"
    ns = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}
    # /sitemap.xml is an index: the URLs are on the pages of the sitemaps it lists.
    index = client.get("/sitemap.xml")
    urls, text = {}, index.content.decode()
    for loc in etree.fromstring(index.content).iterfind("s:sitemap/s:loc", ns):
        response = client.get(loc.text.removeprefix(base))
        text += response.content.decode()
        for u in etree.fromstring(response.content).iterfind("s:url", ns):
            urls[u.findtext("s:loc", namespaces=ns)] = u.findtext("s:lastmod", namespaces=ns)
    for post in Post.objects.published():
        assert urls[base + post.get_absolute_url()] == post.updated_at.date().isoformat()
    for section in Section.objects.all():
        assert urls[base + section.get_absolute_url()]
    assert urls[base + Series.objects.get().get_absolute_url()]
    assert base + "/tags/python/" in urls
    assert base + "/" in urls
    hidden = Post.objects.exclude(pk__in=Post.objects.published())
    for post in hidden:
        assert base + post.get_absolute_url() not in urls
    assert all(loc.startswith(base) for loc in urls)
    assert "example.com" not in text


def test_robots_txt_points_to_the_sitemap(client, db):
    response = client.get("/robots.txt")
    assert response["Content-Type"].startswith("text/plain")
    lines = response.content.decode().splitlines()
    assert "Sitemap: http://testserver/sitemap.xml" in lines
    assert "Disallow: /admin/" in lines


def test_pages_never_render_markdown_per_request(client, make_rich_posts, monkeypatch):
    """Markdown is rendered once, on save; reading a page only reads stored HTML."""
    import markdown as markdown_lib

    from blog.markdown import render

    posts = make_rich_posts(3)
    render.cache_clear()  # a cached result would hide a per-request call

    def refuse(*args, **kwargs):
        raise AssertionError("Markdown rendered during a request")

    monkeypatch.setattr(markdown_lib.Markdown, "convert", refuse)
    for url in ["/", posts[0].get_absolute_url(), posts[0].series.get_absolute_url()]:
        assert client.get(url).status_code == 200


# --- query counts -----------------------------------------------------------------------


def page_urls(post):
    tag = post.tags.first()
    return {
        "home": "/",
        "section": post.section.get_absolute_url(),
        "post": post.get_absolute_url(),
        "series list": "/series/",
        "series": post.series.get_absolute_url(),
        "tag list": "/tags/",
        "tag": tag.get_absolute_url(),
        "archive": "/archive/",
        "year": reverse("blog:archive-year", args=[post.published_at.year]),
        "month": reverse(
            "blog:archive-month", args=[post.published_at.year, post.published_at.month]
        ),
        "search": "/search/?q=post",
    }


def count_queries(client, url):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(ctx.captured_queries)


def test_reader_pages_run_a_constant_small_number_of_queries(client, make_rich_posts):
    """With the site chrome cached (as after the first request), every reader page runs
    the same number of queries for 3 posts as for 30, and never more than 8."""
    posts = make_rich_posts(3)
    client.get("/")  # warm the site chrome
    few = {name: count_queries(client, url) for name, url in page_urls(posts[0]).items()}
    make_rich_posts(27, section=posts[0].section)
    many = {name: count_queries(client, url) for name, url in page_urls(posts[0]).items()}
    assert many == few
    assert max(few.values()) <= 8, few


def test_a_month_between_two_others_runs_at_most_eight_queries(client, make_rich_posts):
    """A past month's page also looks up the months before and after it: one post's
    date each, without the tags that the listed posts come with."""
    posts = make_rich_posts(9)
    for post, month in zip(posts, [1, 2, 3] * 3, strict=True):
        moment = datetime(2024, month, 10, tzinfo=UTC)
        Post.objects.filter(pk=post.pk).update(published_at=moment)
    client.get("/")  # warm the site chrome
    month = count_queries(client, "/archive/2024/2/")
    assert month <= 8, month


def test_site_chrome_costs_four_queries_once(client, make_post, author):
    """Settings with the owner, sections, the owner's links and the pages in the nav."""
    SiteSettings(owner=author).save()
    post = make_post()
    cold = count_queries(client, post.get_absolute_url())
    warm = count_queries(client, post.get_absolute_url())
    assert cold - warm == 4
    settings_obj = SiteSettings.load()
    settings_obj.title = "Renamed"
    settings_obj.save()
    response = client.get(post.get_absolute_url())
    assert "Renamed" in response.content.decode(), "saving settings refreshes the chrome"


def test_links_are_fetched_with_the_post(client, make_post, django_assert_max_num_queries):
    post = make_post()
    for i in range(10):
        Link.objects.create(post=post, title=f"L{i}", url=f"https://e.org/{i}", position=i)
    client.get("/")
    with django_assert_max_num_queries(8):
        client.get(post.get_absolute_url())


def test_headings_in_a_post_never_collide_with_page_ids(client, make_post, make_rich_posts):
    titles = ["Main", "Content", "Site search", "Series box", "Home series", "Search query"]
    body = "\n\n".join(f"## {title}\n\ntext" for title in titles)
    post = make_rich_posts(1)[0]
    post.body = body
    post.save()
    doc = parse(client.get(post.get_absolute_url()))
    ids = [el.get("id") for el in doc.iter() if el.get("id")]
    assert len(ids) == len(set(ids)), ids


def test_a_tag_only_drafts_carry_is_not_public(client, make_post):
    make_post(tags=["Secret plans"], status=Post.Status.DRAFT)
    assert client.get("/tags/secret-plans/").status_code == 404
    assert client.get("/tags/secret-plans/feed/").status_code == 404
    assert client.get("/tags/secret-plans/feed/atom/").status_code == 404


def test_a_head_answer_has_the_headers_of_its_get_and_no_body(rf):
    """The test client drops HEAD bodies itself; a WSGI server is sent what the site
    returns, so the middleware is called directly."""
    page = HttpResponse(b"<p>" * 100, content_type="text/html")
    head = head_without_body(lambda request: page)(rf.head("/"))
    assert head.content == b"" and head["Content-Length"] == "300"
    get = head_without_body(lambda request: HttpResponse(b"<p>"))(rf.get("/"))
    assert get.content == b"<p>"
