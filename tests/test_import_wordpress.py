"""import_wordpress: a WXR export in, posts, pages, images and redirects out, idempotent."""

import io
import shutil
from datetime import UTC, datetime
from pathlib import Path

import lxml.html
import pytest
from django.core.management import call_command

from blog import services
from blog.importers.common import EDITED_HERE
from blog.importers.wp_html import to_markdown
from blog.models import Image, ImportRecord, Page, Post, Redirect, Section

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).parent / "fixtures" / "imports" / "wordpress"
EXPORT = FIXTURES / "export.xml"
MEDIA = FIXTURES / "uploads"
FIRST_RUN = "7 imported, 0 updated, 0 unchanged, 2 skipped; new sections: Travel, Code."


def run(*args) -> list[str]:
    out = io.StringIO()
    call_command("import_wordpress", *map(str, args), stdout=out, stderr=io.StringIO())
    return out.getvalue().splitlines()


def line_for(lines, name):
    return next(line for line in lines if name in line)


def test_posts_pages_tags_and_categories_come_over(author):
    lines = run(EXPORT, "--media", MEDIA)
    assert lines[-1] == FIRST_RUN
    assert Post.objects.count() == 5 and Page.objects.count() == 1
    hello = Post.objects.get(slug="hello-world")
    assert hello.section == Section.objects.get(slug="travel", name="Travel")
    assert hello.published_at == datetime(2020, 5, 12, 8, tzinfo=UTC)  # post_date_gmt
    assert sorted(hello.tags.names()) == ["Alps", "hiking"]
    assert hello.excerpt == "A first walk on the new trail."
    assert hello.cover.alt == "Snow on the ridge at dawn"  # the featured image
    assert Post.objects.get(slug="parsing-logs").section.slug == "code"
    page = Page.objects.get()
    assert (page.title, page.slug) == ("About me", "about-me")
    assert line_for(lines, "post 15").endswith("its status is “trash”")
    assert "not content, left out: 1 nav_menu_item" in lines


def test_statuses_map_to_published_scheduled_and_draft(author):
    run(EXPORT)
    states = {p.slug: p.visibility for p in Post.objects.all()}
    assert states == {
        "hello-world": "published",
        "parsing-logs": "published",
        "coast-path": "scheduled",  # future
        "notes-for-a-later-walk": "draft",  # draft, dated by its local post_date
        "private-diary": "draft",  # private must not become public
    }
    assert Post.objects.get(slug="notes-for-a-later-walk").published_at == datetime(
        2021, 3, 5, 18, 30, tzinfo=UTC
    )


def test_wordpress_html_reads_as_markdown_with_library_images(author):
    run(EXPORT, "--media", MEDIA)
    hello = Post.objects.get(slug="hello-world")
    image = Image.objects.get()
    assert (image.alt, image.caption) == (
        "Snow on the ridge at dawn",
        "The ridge, just before sunrise",
    )
    html = lxml.html.fragment_fromstring(hello.body_html, create_parent="div")
    figure = html.find(".//figure")
    assert figure.find("picture") is not None  # the resized copy became the library image
    assert figure.findtext("figcaption") == "The ridge, just before sunrise"
    assert [li.text_content() for li in html.findall(".//ul/li")] == ["Water", "A map of the trail"]
    assert html.find(".//a").get("href") == "https://maps.example.org/trail"
    assert html.find(".//p/em").text == "new"
    logs = lxml.html.fragment_fromstring(
        Post.objects.get(slug="parsing-logs").body_html, create_parent="div"
    )
    assert logs.find(".//h2").text == "The script"
    assert "print" in logs.find(".//pre").text_content()
    assert logs.find(".//table") is not None  # kept as raw HTML


def test_without_media_attachments_are_reported_as_skipped(author):
    lines = run(EXPORT)
    assert line_for(lines, "attachment 20").endswith("its file is not given (--media DIR)")
    assert not Image.objects.exists()
    # The post still shows the image, from the old site.
    assert "oldblog.example.com/wp-content/uploads/2020/05/mountain-300x200.jpg" in (
        Post.objects.get(slug="hello-world").body
    )


def test_old_addresses_redirect_to_the_new_ones(client, author):
    run(EXPORT)
    response = client.get("/2020/05/12/hello-world/")
    assert response.status_code == 301 and response["Location"] == "/travel/hello-world/"
    assert client.get(response["Location"]).status_code == 200
    assert client.get("/about-me/").status_code == 200  # same address: no redirect needed
    # A draft's "?p=12" was never a public address.
    assert not Redirect.objects.filter(new_path="/travel/notes-for-a-later-walk/").exists()


def test_a_second_run_is_all_unchanged_and_duplicates_nothing(author):
    run(EXPORT, "--media", MEDIA)
    lines = run(EXPORT, "--media", MEDIA)
    assert lines[-1] == "0 imported, 0 updated, 7 unchanged, 2 skipped."
    assert Post.objects.count() == 5 and Image.objects.count() == 1 and Page.objects.count() == 1
    assert Section.objects.count() == 2


def test_a_changed_export_updates_and_protects_local_edits(tmp_path, author):
    export = tmp_path / "export.xml"
    shutil.copy(EXPORT, export)
    run(export)
    logs = Post.objects.get(slug="parsing-logs")
    hello = Post.objects.get(slug="hello-world")
    hello.title = "Hello, edited here"
    services.save_post(hello)
    text = EXPORT.read_text()
    text = text.replace("is enough for most of them", "is enough for all of them")
    text = text.replace("a lot of water", "a lot of tea")
    export.write_text(text)

    lines = run(export)
    assert line_for(lines, "post 11").startswith("updated")
    assert "all of them" in Post.objects.get(pk=logs.pk).body
    assert line_for(lines, "post 10").endswith(EDITED_HERE)
    assert Post.objects.get(pk=hello.pk).title == "Hello, edited here"

    lines = run(export, "--force")
    assert line_for(lines, "post 10").startswith("updated")
    hello = Post.objects.get(pk=hello.pk)
    assert hello.title == "Hello world!" and "tea" in hello.body
    assert Post.objects.count() == 5


def test_a_dry_run_writes_nothing(author, media_files):
    lines = run(EXPORT, "--media", MEDIA, "--dry-run")
    assert lines[-1] == FIRST_RUN[:-1] + " (dry run: nothing was written)."
    assert not Post.objects.exists() and not Page.objects.exists()
    assert not Image.objects.exists() and not Section.objects.exists()
    assert not Redirect.objects.exists() and not ImportRecord.objects.exists()
    assert media_files() == []


def test_an_export_that_is_not_xml_is_skipped_with_its_line_and_the_rest_imported(author):
    lines = run(FIXTURES / "broken.xml", EXPORT)
    assert (
        lines[0] == "skipped   broken.xml, line 8: not well-formed XML (mismatched tag, column 3)"
    )
    assert lines[-1] == "6 imported, 0 updated, 0 unchanged, 4 skipped; new sections: Travel, Code."
    assert Post.objects.count() == 5


def test_entities_are_refused(tmp_path, author):
    bomb = tmp_path / "bomb.xml"
    bomb.write_text(
        '<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "aaaaaaaa">]><rss><channel>'
        "<item><title>&a;</title></item></channel></rss>"
    )
    lines = run(bomb)
    assert lines[0].startswith("skipped   bomb.xml, line 1: refused:")
    assert not Post.objects.exists()


@pytest.mark.parametrize(
    ("html", "markdown"),
    [
        ("One\ntwo\n\nThree", "One<br> two\n\nThree\n"),
        ("<p>A <strong>bold</strong> <em> move</em></p>", "A **bold**  *move*\n"),
        ("<p># not a heading</p>", "\\# not a heading\n"),
        ("<ol><li>a<ul><li>b</li></ul></li></ol>", "1. a\n\n    - b\n"),
        ("<blockquote><p>Said.</p></blockquote>", "> Said.\n"),
        (
            '<iframe src="https://video.example/embed/1"></iframe>',
            "<https://video.example/embed/1>\n",
        ),
        ("<p>1 &lt; 2 &amp; [x]</p>", "1 &lt; 2 &amp; \\[x\\]\n"),
    ],
)
def test_simple_html_becomes_markdown(html, markdown):
    assert to_markdown(html) == markdown
