"""import_markdown: Jekyll and Hugo sites in, posts, pages and redirects out, idempotent."""

import io
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from blog import services
from blog.importers.common import DELETED_HERE, EDITED_HERE
from blog.models import Image, ImportRecord, Page, Post, Redirect, Section, Series

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).parent / "fixtures" / "imports"


@pytest.fixture
def jekyll(tmp_path):
    """A copy of the Jekyll site, free to change."""
    return Path(shutil.copytree(FIXTURES / "jekyll", tmp_path / "jekyll"))


@pytest.fixture
def hugo(tmp_path):
    return Path(shutil.copytree(FIXTURES / "hugo", tmp_path / "hugo"))


def run(folder, *args) -> list[str]:
    out = io.StringIO()
    call_command("import_markdown", str(folder), *args, stdout=out, stderr=io.StringIO())
    return out.getvalue().splitlines()


def line_for(lines, name):
    return next(line for line in lines if name in line)


def test_a_jekyll_site_becomes_posts_a_page_and_a_report(jekyll, section, author):
    lines = run(jekyll)
    assert lines[-1] == "4 imported, 0 updated, 0 unchanged, 2 skipped."
    assert Post.objects.count() == 3 and Page.objects.count() == 1
    hello = Post.objects.get(slug="hello-jekyll")
    assert hello.title == "Hello, Jekyll"
    assert hello.section == section  # the category "Bytes" names an existing section
    assert hello.published_at == datetime(2021, 3, 4, 9, 30, tzinfo=UTC)  # +0100 kept
    assert hello.status == Post.Status.PUBLISHED and hello.author == author
    # The other category becomes a tag.
    assert sorted(hello.tags.names(), key=str.lower) == ["django", "meta", "Python"]
    assert hello.meta_description == "Why I started writing here, and what comes next."
    # A string of tags is split on spaces, as Jekyll does.
    second = Post.objects.get(slug="second-part")
    assert sorted(second.tags.names(), key=str.lower) == ["Python", "web"]
    series = Series.objects.get(title="Starting a blog")
    assert [(p.slug, p.series_position) for p in series.posts.order_by("series_position")] == [
        ("hello-jekyll", 1),
        ("second-part", 2),
    ]
    assert Post.objects.get(slug="work-in-progress").status == Post.Status.DRAFT
    assert Page.objects.get().slug == "about"
    # README.md is not content: neither imported nor reported.
    assert not any("README" in line for line in lines)


def test_an_image_beside_the_posts_goes_into_the_library(jekyll, section, author):
    run(jekyll)
    image = Image.objects.get()
    assert image.alt == "A diagram of the build"
    hello = Post.objects.get(slug="hello-jekyll")
    assert image.file.url in hello.body
    assert "<picture>" in hello.body_html and "How the site is built" in hello.body_html


def test_aliases_and_permalinks_redirect_to_the_new_addresses(client, jekyll, section, author):
    run(jekyll)
    for old in ("/blog/hello/", "/2021/03/04/hello-jekyll.html"):
        response = client.get(old)
        assert response.status_code == 301
        assert response["Location"] == "/bytes/hello-jekyll/"
    assert client.get("/bytes/hello-jekyll/").status_code == 200
    response = client.get("/about-me/")
    assert response.status_code == 301 and response["Location"] == "/about/"


def test_broken_front_matter_and_a_missing_title_are_skipped_with_name_and_line(
    jekyll, section, author
):
    lines = run(jekyll)
    broken = line_for(lines, "2021-05-01-broken.md")
    assert broken.startswith("skipped   _posts/2021-05-01-broken.md, line 3: broken YAML")
    assert (
        line_for(lines, "untitled.md") == "skipped   _posts/2021-06-01-untitled.md: it has no title"
    )


def test_a_second_run_changes_nothing(jekyll, section, author):
    run(jekyll)
    before = {p.pk: p.updated_at for p in Post.objects.all()}
    lines = run(jekyll)
    assert lines[-1] == "0 imported, 0 updated, 4 unchanged, 2 skipped."
    assert {p.pk: p.updated_at for p in Post.objects.all()} == before
    assert Image.objects.count() == 1 and Page.objects.count() == 1
    assert ImportRecord.objects.filter(post__isnull=False).count() == 3


def test_a_changed_source_updates_the_same_post(jekyll, section, author):
    run(jekyll)
    post = Post.objects.get(slug="second-part")
    path = jekyll / "_posts" / "2021-04-01-second-part.md"
    path.write_text(path.read_text().replace("Choosing a theme", "Choosing a theme, again"))
    lines = run(jekyll)
    assert lines[-1] == "0 imported, 1 updated, 3 unchanged, 2 skipped."
    assert Post.objects.get(pk=post.pk).title == "Choosing a theme, again"
    assert Post.objects.count() == 3


def test_a_post_edited_here_is_not_overwritten_without_force(jekyll, section, author):
    run(jekyll)
    post = Post.objects.get(slug="second-part")
    post.body = "Rewritten here."
    services.save_post(post)
    path = jekyll / "_posts" / "2021-04-01-second-part.md"
    path.write_text(path.read_text().replace("picking a theme", "picking a better theme"))

    lines = run(jekyll)
    assert line_for(lines, "second-part") == (
        f"skipped   _posts/2021-04-01-second-part.md: {EDITED_HERE}"
    )
    assert Post.objects.get(pk=post.pk).body == "Rewritten here."

    lines = run(jekyll, "--force")
    assert line_for(lines, "second-part").startswith("updated")
    assert "picking a better theme" in Post.objects.get(pk=post.pk).body


def test_a_post_deleted_here_comes_back_only_with_force(jekyll, section, author):
    run(jekyll)
    Post.objects.get(slug="second-part").delete()
    assert line_for(run(jekyll), "second-part").endswith(DELETED_HERE)
    assert not Post.objects.filter(slug="second-part").exists()
    assert line_for(run(jekyll, "--force"), "second-part").startswith("imported")
    assert Post.objects.filter(slug="second-part").exists()


def test_a_dry_run_writes_nothing(jekyll, section, author, media_files):
    lines = run(jekyll, "--dry-run")
    assert (
        lines[-1] == "4 imported, 0 updated, 0 unchanged, 2 skipped (dry run: nothing was written)."
    )
    assert not Post.objects.exists() and not Page.objects.exists()
    assert not Redirect.objects.exists() and not ImportRecord.objects.exists()
    assert not Series.objects.exists() and not Image.objects.exists()
    assert media_files() == []


def test_a_hugo_site_with_bundles_toml_and_a_new_section(client, hugo, author):
    lines = run(hugo)
    assert lines[-1] == "4 imported, 0 updated, 0 unchanged, 2 skipped; new sections: Notes."
    assert line_for(lines, "_index.md").endswith("a Hugo list page (_index.md), not a post")
    assert line_for(lines, "bad-toml.md").startswith(
        "skipped   content/posts/bad-toml.md, line 4: broken TOML front matter"
    )
    notes = Section.objects.get(slug="notes")
    bundle = Post.objects.get(slug="go-generics")  # the bundle's folder names the post
    assert bundle.section == notes and bundle.excerpt == "Type parameters, a year on."
    assert sorted(bundle.tags.names()) == ["Go", "types"]  # "go" is the same tag
    assert (bundle.series.title, bundle.series_position) == ("Learning Go", 2)  # weight: 2
    toml = Post.objects.get(slug="toml-front-matter")
    assert toml.published_at == datetime(2022, 3, 1, 6, tzinfo=UTC)
    assert (toml.series, toml.series_position) == (bundle.series, 3)
    assert Post.objects.get(slug="not-yet").status == Post.Status.DRAFT
    assert Page.objects.get().slug == "now"
    assert "<picture>" in bundle.body_html  # photo.png from the bundle
    for old in ("/2022/02/generics/", "/posts/generics-in-go/"):
        assert client.get(old)["Location"] == "/notes/go-generics/"


def test_section_option_takes_posts_whose_categories_name_no_section(hugo, author, section):
    run(hugo, "--section", "bytes")
    assert not Section.objects.filter(slug="notes").exists()
    post = Post.objects.get(slug="go-generics")
    assert post.section == section and "Notes" in post.tags.names()


def test_an_unknown_section_or_folder_is_refused(hugo, author, tmp_path):
    with pytest.raises(CommandError, match="no section with the slug “nope”"):
        run(hugo, "--section", "nope")
    with pytest.raises(CommandError, match="not a folder"):
        run(tmp_path / "missing")
