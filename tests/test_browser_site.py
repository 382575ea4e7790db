"""The reader website in Chromium: a walk through it, accessibility, and screenshots."""

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.core.management import call_command

from blog.models import Post, Series

from .conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def site(live_server):
    """The demo blog, with one post long enough (3 headings) for a table of contents."""
    call_command("seed_demo", verbosity=0)
    post = Post.objects.get(slug="sqlite-is-enough")
    post.body += "\n\n## Further reading\n\nThe SQLite documentation.\n"
    post.save()
    return live_server.url


def test_reader_walks_from_home_to_search(page, site):
    page.goto(site + "/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Nibbles").click()
    page.wait_for_url(site + "/nibbles/")
    page.get_by_role("link", name="The systems reading list #1").first.click()
    page.wait_for_url("**/nibbles/systems-reading-list-1/")
    assert "Part 1 of 3" in page.locator(".series-box").inner_text()
    page.get_by_role("link", name="Next part →").click()
    page.wait_for_url("**/nibbles/systems-reading-list-2/")
    page.locator(".post__tags").get_by_role("link", name="#Systems").click()
    page.wait_for_url("**/tags/systems/")
    assert page.locator(".post-card").count() == 2
    page.fill("#Site-search", "write-ahead log")
    page.press("#Site-search", "Enter")
    page.wait_for_url("**/search/?q=write-ahead+log")
    assert page.locator(".post-card").count() >= 1
    assert page.locator(".snippet mark").count() >= 1
    assert page.console_errors == []


def axe_pages():
    post = Post.objects.exclude(cover=None).get()
    series = Series.objects.get()
    return {
        "home": "/",
        "section": "/bytes/",
        "post": post.get_absolute_url(),
        "contents": "/bytes/sqlite-is-enough/",
        "reading-list": "/nibbles/systems-reading-list-2/",
        "series": series.get_absolute_url(),
        "tag": "/tags/python/",
        "search": "/search/?q=database",
        "archive": "/archive/",
        "not-found": "/no-such-page/",
    }


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_pages_have_no_accessibility_violations(browser, site, scheme):
    axe = Axe()
    failures = {}
    for name, path in axe_pages().items():
        for width in (390, 1280):
            context = browser.new_context(
                viewport={"width": width, "height": 900}, color_scheme=scheme
            )
            page = context.new_page()
            errors = []
            page.on("console", lambda msg, e=errors: msg.type == "error" and e.append(msg.text))
            response = page.goto(site + path)
            assert response.status == (404 if name == "not-found" else 200), path
            results = axe.run(page)
            if results.violations_count:
                failures[f"{name} {width}px {scheme}"] = results.generate_report()
            if name != "not-found":
                assert errors == [], (path, errors)
            screenshot(page, f"site-{name}-{width}-{scheme}")
            context.close()
    assert not failures, "\n\n".join(f"{k}:\n{v}" for k, v in failures.items())


def test_search_landmarks_have_names_that_tell_them_apart(page, site):
    """axe's landmark-unique passes over unnamed search forms: ask Chromium instead."""
    page.goto(site + "/search/?q=database")
    searches = page.get_by_role("search")
    assert searches.count() == 2
    assert page.get_by_role("search", name="Site", exact=True).count() == 1
    assert page.get_by_role("search", name="Posts", exact=True).count() == 1
    axe = Axe().run(page, options={"runOnly": {"type": "rule", "values": ["landmark-unique"]}})
    assert axe.violations_count == 0, axe.generate_report()


def test_table_of_contents_leads_to_its_headings(page, site):
    page.goto(site + "/bytes/sqlite-is-enough/")
    contents = page.get_by_role("navigation", name="Contents")
    contents.get_by_role("link", name="Further reading").click()
    page.wait_for_url("**/bytes/sqlite-is-enough/#p-further-reading")
    heading = page.get_by_role("heading", name="Further reading")
    assert heading.is_visible()


def test_pages_fit_a_360px_screen_without_sideways_scrolling(browser, site):
    context = browser.new_context(viewport={"width": 360, "height": 740})
    page = context.new_page()
    for path in axe_pages().values():
        page.goto(site + path)
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, path
    context.close()


def test_reading_needs_no_javascript(browser, site):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(site + "/bytes/")
    page.get_by_role("link", name="SQLite is enough for most blogs").click()
    assert page.locator(".prose table").count() == 1
    page.fill("#Site-search", "traceback")
    page.press("#Site-search", "Enter")
    page.wait_for_url("**/search/?q=traceback")
    assert page.locator(".post-card").count() >= 1
    context.close()


def test_demo_post_images_stay_under_300_kb_on_a_phone(browser, site):
    """Chromium at 390 px picks small renditions: count every image byte it downloads."""
    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2)
    page = context.new_page()
    downloaded = {}

    def count(response):
        if response.request.resource_type == "image":
            downloaded[response.url] = len(response.body())

    page.on("response", count)
    for slug in ("/bytes/sqlite-is-enough/", "/bytes/http-caching-field-guide/"):
        downloaded.clear()
        page.goto(site + slug)
        page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
        page.wait_for_load_state("networkidle")
        figures = [url for url in downloaded if "/media/" in url and "/media/site/" not in url]
        assert figures, slug
        assert all("/media/renditions/" in url for url in figures), figures
        assert sum(downloaded.values()) < 300_000, (slug, downloaded)
    context.close()
