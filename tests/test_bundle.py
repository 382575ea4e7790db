"""Backup and restore: export_site writes a bundle, import_site restores it.

The round trip (export, import into an empty database, export again) must give the
same bytes, on the test database (SQLite or PostgreSQL) and from SQLite into PostgreSQL.
"""

import json
import os
import re
import subprocess
import sys
import uuid
from datetime import UTC, datetime
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from lxml import html as lxml_html

from blog import bundle, services
from blog.models import (
    AuthorProfile,
    Image,
    Link,
    Page,
    Post,
    Redirect,
    Rendition,
    Section,
    Series,
    SiteSettings,
    Tag,
)
from blog.search import search_posts
from tests.conftest import image_bytes

pytestmark = pytest.mark.django_db

POSTGRES = "postgres://postgres@127.0.0.1:5432"


def add_extras():
    """Beside the demo: every field a post, page, image or profile can carry, text that
    YAML could misread, CRLF line ends, a redirect, a decorative image and an avatar.
    (Also run by the cross-database test in a `manage.py shell`.)"""
    author = AuthorProfile.objects.get(user__username="rowan")
    author.avatar.save("avatar.png", ContentFile(image_bytes(size=(40, 40))), save=True)
    photo = services.add_image(
        SimpleUploadedFile("Harbour photo.png", image_bytes(size=(700, 400))),
        alt="A harbour at dawn",
        caption="Dawn, “quoted”",
        credit="Photo: Ana Núñez",
    )
    services.add_image(SimpleUploadedFile("rule.png", image_bytes(size=(30, 10))), decorative=True)
    site = SiteSettings.load()
    site.social_image, site.posts_per_page = photo, 7
    site.save()
    series = Series(
        title="Extra: ünïcode", slug="extra-series", description="One\r\n\r\n---\r\n\r\n*Two*"
    )
    services.save_series(series)
    post = Post(
        author=author,
        section=Section.objects.get(slug="bytes"),
        slug="round-trip",
        title="Round trip: “quotes”, colons: and #hashes",
        subtitle="yes",
        body=f"Intro\r\n\r\n---\r\n\r\n![A harbour]({photo.file.url})\r\n\r\nno final newline",
        excerpt="An excerpt\nover two lines\n---\nstill the excerpt",
        meta_description="Meta: 'single' and \"double\"",
        canonical_url="https://example.org/first/",
        cover=photo,
        status=Post.Status.PUBLISHED,
        published_at=datetime(2024, 2, 29, 12, 30, 15, 123456, tzinfo=UTC),
        series=series,
        series_position=2,
    )

    def tags_and_links():
        post.tags.set(["Café ☕", "C++", "SQLite"])
        for position, title in ((2, "Second"), (1, "First"), (2, "Also second")):
            Link.objects.create(
                post=post,
                title=title,
                url=f"https://example.org/{position}",
                group="Group: one" if position == 1 else "",
                commentary="Line\r\nnext *line*",
                position=position,
            )

    services.save_post(post, related=tags_and_links)
    draft = Post(
        author=author,
        section=Section.objects.get(slug="nibbles"),
        slug="draft-without-date",
        title="null",
        body="A draft never published.",
    )
    services.save_post(draft, related=lambda: draft.tags.set(["Draft only"]))
    page = Page(title="Uses", slug="uses", body="---\nstarts with a rule\n", nav_position=None)
    services.save_page(page)
    services.record_move(old_path="/bytes/old-name/", new_path=post.get_absolute_url())


def bundle_files(root: Path) -> dict[str, bytes]:
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def assert_same_bundles(first: Path, second: Path):
    a, b = bundle_files(first), bundle_files(second)
    assert sorted(a) == sorted(b), "the same files"
    different = [name for name in a if a[name] != b[name]]
    assert not different, f"files that differ: {different}"


def run(*args):
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


def empty_the_site():
    """What a fresh database has: no content (the settings row may exist)."""
    Post.objects.all().delete()
    for model in (Image, Page, Series, Section, Tag, Redirect, AuthorProfile):
        model.objects.all().delete()
    get_user_model().objects.all().delete()
    SiteSettings.objects.all().delete()


@pytest.fixture
def site(demo):
    add_extras()


@pytest.fixture
def exported(site, tmp_path):
    target = tmp_path / "first"
    output = run("export_site", str(target))
    return target, output


@pytest.fixture
def fresh_media(tmp_path, settings):
    """Import into a site whose media storage is empty, as a new server's is."""
    settings.MEDIA_ROOT = tmp_path / "media-fresh"
    settings.MEDIA_ROOT.mkdir()


@pytest.fixture
def restored(exported, fresh_media):
    first, _ = exported
    empty_the_site()
    output = run("import_site", str(first))
    return first, output


class TestExport:
    def test_a_file_per_post_and_page_json_for_the_rest_and_the_originals(self, exported):
        root, _ = exported
        names = set(bundle_files(root))
        for post in Post.objects.select_related("section"):
            assert f"posts/{post.section.slug}/{post.slug}.md" in names
        for page in Page.objects.all():
            assert f"pages/{page.slug}.md" in names
        for table in ("sections", "series", "tags", "links", "redirects", "images", "profiles"):
            assert f"{table}.json" in names
        assert {"manifest.json", "site.json"} <= names
        for image in Image.objects.all():
            stored = default_storage.open(image.file.name).read()
            assert (root / "media" / image.file.name).read_bytes() == stored
        assert not [name for name in names if name.startswith("media/renditions/")]
        assert f"media/{AuthorProfile.objects.get().avatar.name}" in names
        assert f"media/{SiteSettings.load().logo.name}" in names

    def test_front_matter_carries_every_field_of_a_post(self, exported):
        root, _ = exported
        text = (root / "posts/bytes/round-trip.md").read_text()
        head, body = text.removeprefix("---\n").split("\n---\n", 1)
        import yaml

        front = yaml.safe_load(head)
        post = Post.objects.get(slug="round-trip")
        assert front == {
            "uuid": str(post.uuid),
            "title": post.title,
            "subtitle": "yes",
            "slug": "round-trip",
            "section": "bytes",
            "author": "rowan",
            "status": "published",
            "published_at": "2024-02-29T12:30:15.123456+00:00",
            "created_at": post.created_at.astimezone(UTC).isoformat(),
            "updated_at": post.updated_at.astimezone(UTC).isoformat(),
            "excerpt": post.excerpt,
            "meta_description": post.meta_description,
            "canonical_url": "https://example.org/first/",
            "cover": post.cover.file.name,
            "tags": ["C++", "Café ☕", "SQLite"],
            "series": "extra-series",
            "series_position": 2,
        }
        assert body == post.body.replace("\r\n", "\n") + "\n", "LF line ends, one final LF"

    def test_output_is_deterministic_utf8_lf_and_free_of_database_ids(self, exported, tmp_path):
        root, _ = exported
        run("export_site", str(tmp_path / "again"))
        assert_same_bundles(root, tmp_path / "again")
        for name, data in bundle_files(root).items():
            if name.startswith("media/"):
                continue
            text = data.decode("utf-8")
            assert "\r" not in text, name
            assert text.endswith("\n"), name
        links = json.loads((root / "links.json").read_text())
        ours = [link["title"] for link in links if link["post"] == "bytes/round-trip"]
        assert ours == ["First", "Second", "Also second"], "position, then creation"
        for name in ("sections", "series", "tags", "links", "images", "profiles", "redirects"):
            rows = json.loads((root / f"{name}.json").read_text())
            assert not [row for row in rows if "id" in row or "pk" in row], name
        manifest = json.loads((root / "manifest.json").read_text())
        assert manifest["format_version"] == bundle.FORMAT_VERSION
        assert "exported_at" not in manifest, "nothing in a bundle depends on when it was made"

    def test_summary_line_counts_what_was_written(self, exported):
        _, output = exported
        assert output.count("\n") == 1, "one line"
        found = re.findall(r"(\d+) ([a-z ]+?)(?=,| to )", output)
        counts = {name: int(n) for n, name in found}
        assert counts["posts"] == Post.objects.count()
        assert counts["pages"] == Page.objects.count()
        assert counts["images"] == Image.objects.count()
        assert counts["links"] == Link.objects.count()
        assert counts["redirect"] == 1

    def test_refuses_a_directory_that_is_not_empty(self, site, tmp_path):
        (tmp_path / "old").mkdir()
        (tmp_path / "old" / "notes.txt").write_text("mine")
        with pytest.raises(CommandError, match="not an empty directory"):
            run("export_site", str(tmp_path / "old"))
        assert (tmp_path / "old" / "notes.txt").read_text() == "mine"

    def test_a_lost_media_file_fails_the_export_and_names_it(self, site, tmp_path):
        lost = Image.objects.filter(decorative=True).get().file.name
        default_storage.delete(lost)
        with pytest.raises(CommandError, match=re.escape(lost)):
            run("export_site", str(tmp_path / "bundle"))
        assert not (tmp_path / "bundle").exists(), "no half-written bundle"
        assert not list(tmp_path.glob(".bundle.*")), "the scratch folder is removed"


class TestRoundTrip:
    def test_export_import_export_gives_identical_bytes(self, restored, tmp_path):
        first, _ = restored
        run("export_site", str(tmp_path / "second"))
        assert_same_bundles(first, tmp_path / "second")

    def test_the_restored_site_is_rendered_indexed_and_served(self, restored, client):
        post = Post.objects.get(slug="round-trip")
        doc = lxml_html.fromstring(f"<div>{post.body_html}</div>")
        assert doc.cssselect("figure picture source[type='image/webp']"), "renditions used"
        assert "<picture>" in post.cover_html and post.cover_social
        assert Rendition.objects.filter(image=post.cover, kind="social").exists()
        assert all(Rendition.objects.filter(image=image).exists() for image in Image.objects.all())
        assert post.reading_time >= 1
        assert post.summary.startswith("An excerpt"), "derived fields are rebuilt"
        assert [p.slug for p in search_posts("colons hashes").posts] == ["round-trip"]
        assert [p.slug for p in search_posts("importtime").posts], "demo posts are indexed"
        response = client.get(post.get_absolute_url())
        assert response.status_code == 200
        assert client.get("/bytes/old-name/").status_code == 301
        assert Post.objects.published().filter(title__contains="DRAFT-MARKER").count() == 0
        hidden = Post.objects.exclude(pk__in=Post.objects.published())
        assert sorted(p.visibility for p in hidden) == ["draft", "draft", "scheduled"]

    def test_timestamps_and_identities_are_kept_exactly(self, site, tmp_path, settings):
        before = {
            p.uuid: (p.published_at, p.created_at, p.updated_at, p.status)
            for p in Post.objects.all()
        }
        run("export_site", str(tmp_path / "b"))
        empty_the_site()
        settings.MEDIA_ROOT = tmp_path / "media-fresh"
        run("import_site", str(tmp_path / "b"))
        after = {
            p.uuid: (p.published_at, p.created_at, p.updated_at, p.status)
            for p in Post.objects.all()
        }
        assert after == before

    def test_summary_line_counts_what_was_restored(self, restored):
        _, output = restored
        assert output.count("\n") == 1
        assert f"Imported {Post.objects.count()} posts, " in output
        assert f"{Image.objects.count()} images" in output
        made = int(re.search(r"made (\d+) rendition", output).group(1))
        assert made == Rendition.objects.count()

    def test_accounts_come_back_without_a_password(self, restored):
        user = get_user_model().objects.get(username="rowan")
        assert not user.has_usable_password()
        assert SiteSettings.load().owner.user == user

    def test_a_different_file_under_the_same_name_is_kept_and_ours_renamed(
        self, exported, fresh_media, tmp_path
    ):
        first, _ = exported
        photo = Image.objects.get(title="Harbour photo.png").file.name
        empty_the_site()
        default_storage.save(photo, ContentFile(image_bytes(size=(5, 5))))
        run("import_site", str(first))
        restored = Image.objects.get(title="Harbour photo.png")
        assert restored.file.name != photo
        assert (first / "media" / photo).read_bytes() == restored.file.read()
        post = Post.objects.get(slug="round-trip")
        assert restored.file.url in post.body and photo not in post.body
        assert post in restored.posts.all(), "the body shows the restored image"


class TestImportRefuses:
    def test_a_database_with_content(self, exported):
        first, _ = exported
        count = Post.objects.count()
        with pytest.raises(CommandError, match=r"already has content \(\d+ posts"):
            run("import_site", str(first))
        assert Post.objects.count() == count

    def test_a_newer_format_naming_both_versions(self, exported, fresh_media):
        first, _ = exported
        empty_the_site()
        manifest = json.loads((first / "manifest.json").read_text())
        manifest |= {"format_version": bundle.FORMAT_VERSION + 1, "bytepress_version": "9.0"}
        (first / "manifest.json").write_text(json.dumps(manifest))
        with pytest.raises(CommandError) as error:
            run("import_site", str(first))
        message = str(error.value)
        assert f"format version {bundle.FORMAT_VERSION + 1}" in message
        assert "Bytepress 9.0" in message
        assert f"reads format version {bundle.FORMAT_VERSION} and older" in message
        assert not Post.objects.exists()

    def test_a_folder_that_is_not_a_bundle(self, db, tmp_path):
        with pytest.raises(CommandError, match=r"manifest\.json: missing"):
            run("import_site", str(tmp_path))

    def test_broken_yaml_names_the_file_and_line_and_writes_nothing(self, exported, fresh_media):
        first, _ = exported
        empty_the_site()
        path = first / "posts/bytes/round-trip.md"
        lines = path.read_text().split("\n")
        lines[3] = "excerpt: [unclosed"  # line 4 of the file
        path.write_text("\n".join(lines))
        with pytest.raises(CommandError) as error:
            run("import_site", str(first))
        assert re.search(r"posts/bytes/round-trip\.md:\d+: invalid YAML", str(error.value))
        assert not Post.objects.exists() and not Image.objects.exists()
        assert not list(Path(settings.MEDIA_ROOT).rglob("*.*")), "no media written"

    def test_broken_json_names_the_file_and_line(self, exported, fresh_media):
        first, _ = exported
        empty_the_site()
        (first / "tags.json").write_text('[\n  {"name": "a", "slug": "a"},\n  {"name": }\n]\n')
        with pytest.raises(CommandError, match=r"tags\.json:3: invalid JSON"):
            run("import_site", str(first))

    def test_every_problem_is_listed_at_once(self, exported, fresh_media):
        first, _ = exported
        empty_the_site()
        post = first / "posts/bytes/round-trip.md"
        post.write_text(post.read_text().replace("- C++\n", "- Not a known tag\n"))
        (first / "posts/nibbles/stray.txt").write_text("notes")
        photo = json.loads((first / "images.json").read_text())[0]["file"]
        (first / "media" / photo).write_bytes(b"not an image")
        with pytest.raises(CommandError) as error:
            run("import_site", str(first))
        message = str(error.value)
        assert "posts/bytes/round-trip.md: the tag 'Not a known tag' is not in tags.json" in message
        assert "posts/nibbles/stray.txt: not where a bundle keeps files" in message
        assert f"media/{photo}: not a readable image" in message

    def test_a_field_of_the_wrong_kind_names_the_file_and_line(self, exported, fresh_media):
        first, _ = exported
        empty_the_site()
        post = first / "posts/bytes/round-trip.md"
        lines = post.read_text().split("\n")
        number = next(i for i, line in enumerate(lines) if line.startswith("series_position:"))
        lines[number] = "series_position: two"
        post.write_text("\n".join(lines))
        with pytest.raises(CommandError) as error:
            run("import_site", str(first))
        assert f"posts/bytes/round-trip.md:{number + 1}: series_position: expected a whole" in str(
            error.value
        )

    def test_a_value_the_database_refuses_rolls_everything_back(self, exported, fresh_media):
        """Found only while writing (after images, media and other posts are stored):
        the transaction and the file clean-up leave nothing behind."""
        first, _ = exported
        empty_the_site()
        post = first / "posts/nibbles/systems-reading-list-3.md"
        post.write_text(post.read_text().replace("status: published", "status: archived"))
        with pytest.raises(CommandError, match=r"systems-reading-list-3\.md: status: .*archived"):
            run("import_site", str(first))
        for model in (Post, Image, Section, Series, Tag, AuthorProfile, Rendition):
            assert not model.objects.exists(), model
        assert not [p for p in Path(settings.MEDIA_ROOT).rglob("*") if p.is_file()]


# --- across databases: export from SQLite, import into PostgreSQL -------------------------


def _postgres_admin():
    import psycopg

    try:
        return psycopg.connect(f"{POSTGRES}/postgres", autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"PostgreSQL must be reachable in CI: {exc}")
        pytest.skip(f"PostgreSQL at {POSTGRES} is unreachable: {exc}")


def manage(env: dict, *args) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, f"manage.py {' '.join(args)}:\n{result.stderr}"
    return result.stdout


@pytest.mark.django_db(transaction=False)
def test_export_from_sqlite_import_into_postgresql_is_byte_identical(tmp_path):
    admin = _postgres_admin()
    scratch = f"bytepress_bundle_{uuid.uuid4().hex[:8]}"
    base = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "DATABASE_", "REDIS_", "MEDIA_"))
    }
    base |= {"DJANGO_SETTINGS_MODULE": "config.settings", "DJANGO_DEBUG": "1"}
    sqlite = base | {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'a.sqlite3'}",
        "MEDIA_ROOT": str(tmp_path / "media-a"),
    }
    postgres = base | {
        "DATABASE_URL": f"{POSTGRES}/{scratch}",
        "MEDIA_ROOT": str(tmp_path / "media-b"),
    }
    manage(sqlite, "migrate", "-v0")
    manage(sqlite, "seed_demo")
    manage(sqlite, "shell", "-c", "from tests.test_bundle import add_extras; add_extras()")
    manage(sqlite, "export_site", str(tmp_path / "from-sqlite"))
    admin.execute(f'CREATE DATABASE "{scratch}"')
    try:
        manage(postgres, "migrate", "-v0")
        output = manage(postgres, "import_site", str(tmp_path / "from-sqlite"))
        assert output.startswith("Imported ")
        manage(postgres, "export_site", str(tmp_path / "from-postgres"))
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')
        admin.close()
    assert_same_bundles(tmp_path / "from-sqlite", tmp_path / "from-postgres")
