"""Pages (About, Now, Uses): top-level URLs shared with sections, navigation, sitemap,
never feeds."""

import io
import json

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.urls import resolve, reverse
from lxml import etree
from lxml import html as lxml_html

from blog import views
from blog.models import Page, Section, SiteSettings

pytestmark = pytest.mark.django_db

ABOUT_BODY = """I write about *software* and the machines underneath.

# Contact

Write to me any time."""


def make_page(**fields):
    defaults = {"title": "About", "slug": "about", "body": ABOUT_BODY}
    defaults.update(fields)
    return Page.objects.create(**defaults)


def parse(response):
    return lxml_html.fromstring(response.content.decode())


def nav_entries(response):
    """(label, href, aria-current) of each entry of the main navigation."""
    nav = parse(response).cssselect('nav[aria-label="Main"]')[0]
    return [(a.text_content(), a.get("href"), a.get("aria-current")) for a in nav.cssselect("a")]


def field_errors(response, name):
    """The error texts shown on one field of an admin form."""
    doc = parse(response)
    return [li.text_content() for li in doc.cssselect(f".field-{name} ul.errorlist li")]


# --- the page itself ----------------------------------------------------------------------


def test_a_page_is_served_at_its_top_level_url(client, section):
    page = make_page()
    assert page.get_absolute_url() == "/about/"
    # Sections and pages share one route, and its name still reverses for sections.
    assert resolve("/about/").func.view_class is views.SectionView
    assert reverse("blog:section-detail", kwargs={"section": "bytes"}) == "/bytes/"

    response = client.get("/about/")
    assert response.status_code == 200
    doc = parse(response)
    assert [h.text_content() for h in doc.cssselect("h1")] == ["About"]
    [prose] = doc.cssselect("main .prose")
    assert prose.cssselect("em")[0].text == "software"
    # "# Heading" in Markdown sits under the page title.
    assert [h.text_content().rstrip("#") for h in prose.cssselect("h2")] == ["Contact"]


def test_page_metadata_comes_from_the_page(client, db, settings):
    settings.SITE_URL = "https://blog.example.org"
    SiteSettings(title="Field Notes").save()
    make_page()
    doc = parse(client.get("/about/"))

    def meta(attr, name):
        return doc.xpath(f"//meta[@{attr}='{name}']/@content")

    description = "I write about software and the machines underneath. Write to me any time."
    assert doc.findtext(".//title") == "About · Field Notes"
    assert meta("name", "description") == [description]
    assert doc.xpath("//link[@rel='canonical']/@href") == ["https://blog.example.org/about/"]
    assert meta("property", "og:title") == ["About · Field Notes"]
    assert meta("property", "og:description") == [description]
    assert meta("property", "og:url") == ["https://blog.example.org/about/"]
    assert meta("property", "og:type") == ["website"]


def test_page_markdown_is_rendered_once_on_save(client, db, monkeypatch):
    import markdown as markdown_lib

    from blog.markdown import render

    page = make_page(body=ABOUT_BODY + "\n\n<script>alert(1)</script>")
    assert "<em>software</em>" in page.body_html
    assert "<script>" not in page.body_html  # sanitised by the site's one renderer
    render.cache_clear()  # a cached result would hide a per-request call

    def refuse(*args, **kwargs):
        raise AssertionError("Markdown rendered during a request")

    monkeypatch.setattr(markdown_lib.Markdown, "convert", refuse)
    assert client.get("/about/").status_code == 200


def test_a_page_with_an_image_without_alt_text_is_refused(db):
    page = Page(title="Uses", slug="uses", body="![](/media/desk.png)")
    with pytest.raises(ValidationError) as excinfo:
        page.full_clean()
    assert "alt text" in " ".join(excinfo.value.message_dict["body"])


@pytest.mark.parametrize("url", ["/no-such-page/", "/about/anything/", "/about/feed/"])
def test_unknown_top_level_slugs_are_not_found(client, section, url):
    make_page()
    assert client.get(url).status_code == 404


def test_a_page_view_runs_a_small_constant_number_of_queries(
    client, make_rich_posts, django_assert_num_queries
):
    """The token and the page itself: no more as pages, sections and posts grow."""
    make_page(nav_position=1)
    make_rich_posts(3)
    client.get("/about/")  # warm the site chrome
    with django_assert_num_queries(2):
        client.get("/about/")
    for i in range(5):
        make_page(title=f"Page {i}", slug=f"page-{i}", nav_position=i + 2)
    Section.objects.create(name="More", slug="more", nav_position=3)
    make_rich_posts(10)
    client.get("/about/")
    with django_assert_num_queries(2):
        client.get("/about/")


# --- sections and pages share the top level ----------------------------------------------


def test_a_section_wins_over_a_page_with_the_same_slug(client, section):
    # Only possible behind the admins' backs (they refuse the clash); routing still holds.
    make_page(title="Bytes page", slug="bytes")
    doc = parse(client.get("/bytes/"))
    assert [h.text_content() for h in doc.cssselect("h1")] == ["Bytes"]


def test_the_page_admin_refuses_a_section_slug_naming_the_section(staff_client, section):
    response = staff_client.post(
        reverse("admin:blog_page_add"),
        {"title": "Bytes", "slug": "bytes", "body": "Text.", "nav_position": ""},
    )
    assert response.status_code == 200
    [error] = field_errors(response, "slug")
    assert "section “Bytes”" in error and "/bytes/" in error
    assert not Page.objects.exists()


def test_the_section_admin_refuses_a_page_slug_naming_the_page(staff_client, db):
    make_page()
    response = staff_client.post(
        reverse("admin:blog_section_add"),
        {"name": "About", "slug": "about", "description": "", "nav_position": "3"},
    )
    assert response.status_code == 200
    [error] = field_errors(response, "slug")
    assert "page “About”" in error and "/about/" in error
    assert not Section.objects.filter(slug="about").exists()


@pytest.mark.parametrize("slug", ["search", "tags", "feed", "admin", "Series"])
def test_the_page_admin_refuses_reserved_slugs(staff_client, db, slug):
    response = staff_client.post(
        reverse("admin:blog_page_add"),
        {"title": "Taken", "slug": slug, "body": "Text.", "nav_position": ""},
    )
    assert response.status_code == 200
    assert any("reserved" in error for error in field_errors(response, "slug"))
    assert not Page.objects.exists()


def test_the_page_admin_saves_a_page_with_the_markdown_editor(staff_client, db):
    add = reverse("admin:blog_page_add")
    assert parse(staff_client.get(add)).cssselect("textarea#id_body.markdownx-editor")
    response = staff_client.post(
        add, {"title": "Now", "slug": "now", "body": "What I'm *doing* now.", "nav_position": "2"}
    )
    assert response.status_code == 302
    page = Page.objects.get(slug="now")
    assert page.nav_position == 2 and "<em>doing</em>" in page.body_html


# --- navigation ------------------------------------------------------------------------


def test_navigation_lists_pages_with_a_position_after_the_sections_in_order(
    client, section, other_section
):
    make_page(title="Uses", slug="uses", nav_position=5)
    make_page(title="About", slug="about", nav_position=1)
    make_page(title="Colophon", slug="colophon")  # no position: not in the navigation
    labels = [label for label, _, _ in nav_entries(client.get("/"))]
    assert labels == ["Home", "Bytes", "Nibbles", "About", "Uses", "Series", "Tags", "Archive"]


def test_navigation_marks_the_page_being_read(client, section):
    make_page(nav_position=1)
    entries = nav_entries(client.get("/about/"))
    assert ("About", "/about/", "page") in entries
    assert [label for label, _, current in entries if current] == ["About"]


def test_navigation_is_fresh_after_a_page_is_edited_or_deleted(client, section):
    page = make_page(nav_position=1)
    client.get("/")  # this process now holds the chrome for the current token
    page.title = "About me"
    page.save()
    assert "About me" in [label for label, _, _ in nav_entries(client.get("/"))]
    page.nav_position = None
    page.save()
    assert "About me" not in [label for label, _, _ in nav_entries(client.get("/"))]
    other = make_page(title="Now", slug="now", nav_position=2)
    assert "Now" in [label for label, _, _ in nav_entries(client.get("/"))]
    other.delete()
    assert "Now" not in [label for label, _, _ in nav_entries(client.get("/"))]


# --- discovery and feeds ------------------------------------------------------------------


def test_sitemap_lists_every_page_with_lastmod(client, db, settings):
    settings.SITE_URL = "https://blog.example.org"
    about = make_page(nav_position=1)
    colophon = make_page(title="Colophon", slug="colophon")
    # The pages' own sitemap, one of those the index at /sitemap.xml lists.
    root = etree.fromstring(client.get("/sitemap-pages.xml").content)
    ns = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}
    lastmods = {
        u.findtext("s:loc", namespaces=ns): u.findtext("s:lastmod", namespaces=ns)
        for u in root.findall("s:url", ns)
    }
    for page in (about, colophon):
        url = "https://blog.example.org" + page.get_absolute_url()
        assert lastmods[url] == page.updated_at.date().isoformat()


def test_feeds_never_include_pages(client, make_post):
    make_post()
    make_page(body="PAGE-MARKER: only on the page itself.", nav_position=1)
    for url in ["/feed/", "/feed/atom/", "/bytes/feed/", "/bytes/feed/atom/"]:
        root = etree.fromstring(client.get(url).content)
        assert "PAGE-MARKER" not in etree.tostring(root, encoding="unicode"), url
        links = root.xpath("//*[local-name()='link']/@href | //*[local-name()='link']/text()")
        assert not any(link.rstrip("/").endswith("/about") for link in links), url
    for url in ["/feed.json", "/bytes/feed.json"]:
        feed = json.loads(client.get(url).content)
        assert "PAGE-MARKER" not in json.dumps(feed), url
        assert all(not item["url"].endswith("/about/") for item in feed["items"]), url


# --- demo -------------------------------------------------------------------------------


def test_the_demo_has_an_about_page_in_the_navigation_once(client, demo):
    call_command("seed_demo", stdout=io.StringIO())  # a second run adds nothing
    [about] = Page.objects.all()
    assert about.get_absolute_url() == "/about/" and about.nav_position is not None
    response = client.get("/about/")
    assert response.status_code == 200
    assert ("About", "/about/", "page") in nav_entries(response)
