"""The sitemap index and its sitemaps: what they list, their pages, dates, URLs, headers
and query counts."""

from datetime import datetime, timedelta
from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest
from django.urls import resolve, reverse
from django.utils import timezone
from lxml import etree

from blog import sitemaps
from blog.models import Page, Post, Section, Series, SiteVersion

pytestmark = pytest.mark.django_db

NS = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
BASE = "http://testserver"


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def get_xml(client, url, root_name):
    response = client.get(path_of(url))
    assert response.status_code == 200, url
    assert response["Content-Type"] == "application/xml", url
    # Sitemaps are for crawlers to read, not for search results to show.
    assert response["X-Robots-Tag"] == "noindex, noodp, noarchive", url
    assert response.has_header("Last-Modified"), url
    root = etree.fromstring(response.content)
    assert etree.QName(root).localname == root_name, url
    return root


def index_entries(client) -> list[tuple[str, str]]:
    """(loc, lastmod) of every sitemap page that /sitemap.xml lists."""
    root = get_xml(client, "/sitemap.xml", "sitemapindex")
    return [(e.findtext(f"{NS}loc"), e.findtext(f"{NS}lastmod")) for e in root.iter(f"{NS}sitemap")]


def url_entries(client, sitemap_url) -> list[tuple[str, str]]:
    """(loc, lastmod) of every URL on one sitemap page."""
    root = get_xml(client, sitemap_url, "urlset")
    return [(e.findtext(f"{NS}loc"), e.findtext(f"{NS}lastmod")) for e in root.iter(f"{NS}url")]


def every_url(client) -> list[tuple[str, str]]:
    """What a crawler finds by following every page of the index."""
    return [entry for loc, _ in index_entries(client) for entry in url_entries(client, loc)]


def day(moment: datetime) -> str:
    """A date as the sitemaps write it: the day, in the site's time zone."""
    return timezone.localtime(moment).date().isoformat()


@pytest.fixture
def small_pages(monkeypatch):
    """Two URLs a page, so that a handful of objects makes several pages of each."""
    monkeypatch.setattr(sitemaps.BaseSitemap, "limit", 2)


@pytest.fixture
def site(make_post, section, other_section):
    """A bit of everything, public and not."""
    now = timezone.now()
    series = Series.objects.create(title="Public series", slug="public-series")
    coming = Series.objects.create(title="Coming series", slug="coming-series")
    drafts_only = Section.objects.create(name="Drafts only", slug="drafts-only", nav_position=3)
    public = [
        make_post(tags=["python", "django"], series=series, series_position=1),
        make_post(series=series, series_position=2, published_at=now - timedelta(days=3)),
        make_post(section=other_section, tags=["sqlite"]),
        *(make_post(tags=["python"]) for _ in range(4)),
    ]
    hidden = [
        make_post(status=Post.Status.DRAFT, tags=["draft-only"]),
        make_post(published_at=now + timedelta(days=1), tags=["scheduled-only"]),
        make_post(published_at=now + timedelta(days=2), series=coming, series_position=1),
        make_post(section=drafts_only, status=Post.Status.DRAFT),
    ]
    pages = [
        Page.objects.create(title="About", slug="about", body="Who writes here."),
        Page.objects.create(title="Now", slug="now", body="What I am doing now."),
    ]
    return SimpleNamespace(
        public=public,
        hidden=hidden,
        sections=[section, other_section],
        series=series,
        hidden_series=coming,
        hidden_section=drafts_only,
        pages=pages,
    )


def public_paths(site) -> list[str]:
    """Every URL a reader can reach, as the fixture made them (one each)."""
    lists = ["/", "/series/", "/tags/", "/archive/"]
    tags = ["/tags/python/", "/tags/django/", "/tags/sqlite/"]
    return [
        *lists,
        *(section.get_absolute_url() for section in site.sections),
        *(post.get_absolute_url() for post in site.public),
        site.series.get_absolute_url(),
        *tags,
        *(page.get_absolute_url() for page in site.pages),
    ]


# --- routes ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "kwargs", "path"),
    [
        ("sitemap", {}, "/sitemap.xml"),
        ("sitemap-section", {"section": "tags"}, "/sitemap-tags.xml"),
        ("sitemap-section", {"section": "posts-bytes"}, "/sitemap-posts-bytes.xml"),
    ],
)
def test_sitemap_routes(name, kwargs, path):
    assert reverse(name, kwargs=kwargs) == path
    assert resolve(path).url_name == name
    assert resolve(path).kwargs == kwargs


def test_robots_txt_points_to_the_index(client, settings, site):
    settings.SITE_URL = "https://blog.example.org"
    lines = client.get("/robots.txt").content.decode().splitlines()
    [sitemap] = [line.removeprefix("Sitemap: ") for line in lines if line.startswith("Sitemap:")]
    assert sitemap == "https://blog.example.org/sitemap.xml"
    assert index_entries(client)


# --- what the sitemaps list ------------------------------------------------------------


@pytest.mark.usefixtures("small_pages")
def test_the_index_lists_every_page_of_every_sitemap(client, site):
    """With two URLs a page: 4 lists make 2 pages, 6 posts in bytes 3, and so on."""
    locs = [loc for loc, _ in index_entries(client)]
    assert len(locs) == len(set(locs))
    names = [resolve(urlsplit(loc).path).kwargs["section"] for loc in locs]
    assert list(dict.fromkeys(names)) == [
        "lists", "sections", "posts-bytes", "posts-nibbles", "series", "tags", "pages"
    ]  # fmt: skip
    counts = {name: names.count(name) for name in names}
    assert counts | {"series": 0, "tags": 0} == {
        "lists": 2, "sections": 1, "posts-bytes": 3, "posts-nibbles": 1,
        "series": 0, "tags": 0, "pages": 1,
    }  # fmt: skip
    for name in set(names):
        pages = [urlsplit(loc).query for loc, n in zip(locs, names, strict=True) if n == name]
        # Page 1 without ?p=, then 2, 3, … in order.
        assert pages == ["", *(f"p={n}" for n in range(2, len(pages) + 1))], name


@pytest.mark.usefixtures("small_pages")
def test_following_the_index_finds_exactly_the_public_urls(client, site):
    """Posts, sections, series, tags, pages and the site's lists, each once, on every
    page of every sitemap, and nothing else. (Post URLs are built without reverse():
    this also holds them equal to get_absolute_url.)"""
    found = every_url(client)
    assert sorted(loc for loc, _ in found) == sorted(BASE + path for path in public_paths(site))
    assert all(lastmod for _, lastmod in found)


def test_drafts_and_scheduled_posts_never_appear(client, site):
    """Nor the tags, series and sections that only they would make public."""
    locs = {loc for loc, _ in every_url(client)}
    for post in site.hidden:
        assert BASE + post.get_absolute_url() not in locs
    for path in ["/tags/draft-only/", "/tags/scheduled-only/", "/series/coming-series/"]:
        assert BASE + path not in locs
    assert BASE + site.hidden_section.get_absolute_url() not in locs
    assert client.get("/sitemap-posts-drafts-only.xml").status_code == 404
    text = b"".join(client.get(path_of(loc)).content for loc, _ in index_entries(client))
    assert b"draft-only" not in text and b"scheduled-only" not in text


def test_a_scheduled_post_appears_once_it_goes_live(client, make_post):
    make_post()
    post = make_post(published_at=timezone.now() + timedelta(hours=1))
    url = BASE + post.get_absolute_url()
    assert url not in {loc for loc, _ in every_url(client)}
    Post.objects.filter(pk=post.pk).update(published_at=timezone.now() - timedelta(seconds=1))
    assert url in {loc for loc, _ in every_url(client)}


# --- pages -----------------------------------------------------------------------------


@pytest.mark.usefixtures("small_pages")
def test_posts_are_split_into_pages_newest_first(client, make_post):
    now = timezone.now()
    posts = [make_post(published_at=now - timedelta(days=n)) for n in range(5)]
    pages = [url_entries(client, f"/sitemap-posts-bytes.xml?p={n}") for n in (1, 2, 3)]
    assert [len(page) for page in pages] == [2, 2, 1]
    assert [loc for page in pages for loc, _ in page] == [
        BASE + post.get_absolute_url() for post in posts
    ]


@pytest.mark.usefixtures("small_pages")
def test_a_page_beyond_the_last_is_not_found(client, site):
    """For every sitemap, whichever way it is paginated; a bad ?p= too."""
    last = {}
    for loc, _ in index_entries(client):
        parts = urlsplit(loc)
        last[parts.path] = int(parts.query.removeprefix("p=") or 1)
    assert len(last) == 7
    for path, number in last.items():
        assert client.get(path, {"p": number}).status_code == 200, path
        assert client.get(path, {"p": number + 1}).status_code == 404, path
    for page in ["0", "-1", "x", ""]:
        assert client.get("/sitemap-posts-bytes.xml", {"p": page}).status_code == 404, page
    assert client.get("/sitemap-no-such-thing.xml").status_code == 404


@pytest.mark.usefixtures("small_pages")
def test_a_series_page_holds_the_public_series_in_its_key_range(client, make_post):
    """Series (and tags, by the same paginator) are paged by key: a hidden one leaves
    its page short, and the others keep their page."""
    every = [Series.objects.create(title=f"S{n}", slug=f"s{n}") for n in range(5)]
    hidden, shown = every[1], every[:1] + every[2:]
    make_post(series=hidden, series_position=1, status=Post.Status.DRAFT)
    for series in shown:
        make_post(series=series, series_position=1)
    expected = {}
    for series in shown:
        page = (series.pk - 1) // 2 + 1  # keys 1-2 on page 1, 3-4 on page 2, …
        expected.setdefault(page, []).append(BASE + series.get_absolute_url())
    last = max(expected)
    for page in range(1, last + 1):
        found = [loc for loc, _ in url_entries(client, f"/sitemap-series.xml?p={page}")]
        assert found == expected.get(page, []), page
    assert client.get("/sitemap-series.xml", {"p": last + 1}).status_code == 404


# --- dates -----------------------------------------------------------------------------


def test_lastmod_of_each_kind_of_url(client, make_post, other_section):
    now = timezone.now()
    series = Series.objects.create(title="Series", slug="series-a")
    edited = make_post(published_at=now - timedelta(days=9), tags=["python"])
    # Parts published out of order: the series changed when part 1 went live.
    part_1 = make_post(
        published_at=now - timedelta(days=4), series=series, series_position=1, tags=["python"]
    )
    make_post(published_at=now - timedelta(days=6), series=series, series_position=2)
    # Scheduled, last edited before it went live: it appeared when it went live.
    went_live = make_post(section=other_section, published_at=now - timedelta(days=2))
    Post.objects.filter(pk=went_live.pk).update(updated_at=now - timedelta(days=5))
    went_live.refresh_from_db()
    Post.objects.filter(pk=edited.pk).update(updated_at=now - timedelta(days=1))
    edited.refresh_from_db()
    page = Page.objects.create(title="About", slug="about", body="Me.")

    lastmods = dict(every_url(client))
    assert lastmods[BASE + edited.get_absolute_url()] == day(edited.updated_at)
    assert lastmods[BASE + went_live.get_absolute_url()] == day(went_live.published_at)
    assert lastmods[BASE + page.get_absolute_url()] == day(page.updated_at)
    # A list changes when a post goes live in it.
    assert lastmods[BASE + "/"] == day(went_live.published_at)
    assert lastmods[BASE + "/bytes/"] == day(part_1.published_at)
    assert lastmods[BASE + other_section.get_absolute_url()] == day(went_live.published_at)
    assert lastmods[BASE + "/tags/python/"] == day(part_1.published_at)
    assert lastmods[BASE + series.get_absolute_url()] == day(part_1.published_at)


def test_the_index_dates_every_page_by_the_last_change_in_seconds(client, site):
    """ISO 8601 without microseconds; never earlier than a date on the page."""
    entries = index_entries(client)
    changed = SiteVersion.current().content_changed_at
    for loc, lastmod in entries:
        assert "." not in lastmod, lastmod
        moment = datetime.fromisoformat(lastmod)
        assert moment == changed.replace(microsecond=0), loc
        for url, url_lastmod in url_entries(client, loc):
            assert url_lastmod <= day(moment), url


# --- addresses, headers ----------------------------------------------------------------


def test_urls_are_on_site_url_whatever_the_host(client, settings, site):
    settings.SITE_URL = "https://blog.example.org"
    settings.ALLOWED_HOSTS = ["testserver", "other.example"]
    response = client.get("/sitemap.xml", HTTP_HOST="other.example")
    root = etree.fromstring(response.content)
    sitemap_locs = [e.text for e in root.iter(f"{NS}loc")]
    assert sitemap_locs and all(loc.startswith("https://blog.example.org/") for loc in sitemap_locs)
    for loc in sitemap_locs:
        page = etree.fromstring(client.get(path_of(loc), HTTP_HOST="other.example").content)
        locs = [e.text for e in page.iter(f"{NS}loc")]
        assert all(url.startswith("https://blog.example.org/") for url in locs), loc
    assert b"other.example" not in response.content


def test_urls_are_on_the_request_host_without_site_url(client, settings, site):
    settings.SITE_URL = ""
    locs = [loc for loc, _ in index_entries(client)] + [loc for loc, _ in every_url(client)]
    assert all(loc.startswith(BASE + "/") for loc in locs)


# --- queries ---------------------------------------------------------------------------

# Per page: the site version (middleware), the sections with posts (the set of
# sitemaps), then the number of pages and the page itself. Lists: one date for all.
QUERIES = {
    "lists": 3,
    "sections": 4,
    "posts-bytes": 4,
    "series": 4,
    "tags": 4,
    "pages": 4,
}


@pytest.mark.parametrize("name", QUERIES)
def test_a_sitemap_page_takes_the_same_queries_whatever_the_archive(
    client, make_rich_posts, django_assert_num_queries, name
):
    Page.objects.create(title="About", slug="about", body="Me.")
    url = f"/sitemap-{name}.xml"
    make_rich_posts(3)
    client.get(url)  # the site version's row exists from here on
    with django_assert_num_queries(QUERIES[name]):
        assert client.get(url).status_code == 200
    make_rich_posts(30)
    with django_assert_num_queries(QUERIES[name]):
        assert client.get(url).status_code == 200


def test_a_deep_page_takes_the_same_queries_as_the_first(
    client, make_rich_posts, django_assert_num_queries, monkeypatch
):
    monkeypatch.setattr(sitemaps.BaseSitemap, "limit", 5)
    make_rich_posts(23)
    client.get("/sitemap-posts-bytes.xml")
    for page in (1, 3, 5):
        with django_assert_num_queries(QUERIES["posts-bytes"]):
            assert client.get("/sitemap-posts-bytes.xml", {"p": page}).status_code == 200


def test_the_index_takes_the_same_queries_whatever_the_archive(
    client, make_rich_posts, django_assert_num_queries
):
    """The site version, the sections, then the pages of each sitemap but the lists:
    one query more for each section with posts (each has a sitemap), none for posts."""
    make_rich_posts(3)
    client.get("/sitemap.xml")
    with django_assert_num_queries(7):  # one section with posts
        client.get("/sitemap.xml")
    make_rich_posts(40)
    with django_assert_num_queries(7):
        client.get("/sitemap.xml")
