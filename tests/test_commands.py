"""Management commands: seed_demo, rerender, build_renditions, rebuild_search_index,
ensure_local_admin; the progress bars and summary lines of the long ones."""

import re
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from lxml import html as lxml_html

from blog.models import Link, Page, Post, Section, Series, SiteSettings, Tag, TaggedPost

pytestmark = pytest.mark.django_db


def run(*args, **kwargs):
    out = StringIO()
    call_command(*args, stdout=out, **kwargs)
    return out.getvalue()


def snapshot():
    return {
        "posts": sorted(Post.objects.values_list("pk", "updated_at", "body_html")),
        "links": Link.objects.count(),
        "tags": TaggedPost.objects.count(),
        "series": Series.objects.count(),
        "sections": Section.objects.count(),
        "users": get_user_model().objects.count(),
        "site": SiteSettings.objects.values_list("title", "logo").get(),
    }


class TestSeedDemo:
    def test_running_twice_changes_nothing(self, demo):
        before = snapshot()
        assert "nothing changed" in run("seed_demo")
        assert snapshot() == before

    def test_an_owners_settings_are_never_overwritten(self, demo):
        site = SiteSettings.load()
        site.title, site.tagline = "My own blog", ""
        site.save()
        run("seed_demo")
        site.refresh_from_db()
        assert (site.title, site.tagline) == ("My own blog", "")

    def test_sections_bytes_and_nibbles(self, demo):
        assert list(Section.objects.values_list("name", flat=True)) == ["Bytes", "Nibbles"]

    def test_at_least_eight_published_posts(self, demo):
        assert Post.objects.published().count() >= 8

    def test_a_three_part_reading_list_series_with_grouped_links(self, demo):
        series = Series.objects.get(slug="systems-reading-list")
        parts = Post.objects.published().filter(series=series).order_by("series_position")
        assert [p.series_position for p in parts] == [1, 2, 3]
        for part in parts:
            links = list(part.links.all())
            assert len(links) >= 3
            assert all(link.commentary_html.startswith("<p>") for link in links)
            assert len({link.group for link in links}) >= 2, "links are grouped under headings"

    def test_bodies_show_code_tables_footnotes_and_a_captioned_image(self, demo):
        html = " ".join(Post.objects.published().values_list("body_html", flat=True))
        doc = lxml_html.fromstring(f"<div>{html}</div>")
        assert doc.cssselect("div.highlight pre code span")
        assert doc.cssselect("table thead th")
        assert doc.cssselect("div.footnote li")
        [figure] = doc.cssselect("figure")
        assert figure.cssselect("picture source[type='image/webp']"), "a library image"
        assert figure.cssselect("img")[0].get("alt")
        assert figure.cssselect("figcaption")[0].text
        with_cover = Post.objects.exclude(cover=None).get()
        assert with_cover.cover.alt and with_cover.cover.caption
        assert with_cover.cover.file.storage.exists(with_cover.cover.file.name)
        assert with_cover.cover.renditions.filter(kind="social").exists()

    def test_tags_and_site_settings(self, demo):
        assert Tag.objects.count() >= 5
        site = SiteSettings.load()
        assert site.title and site.tagline and site.logo and site.logo_alt and site.owner
        assert site.owner.links.count() >= 2

    def test_one_draft_and_one_scheduled_post_carry_the_marker(self, demo):
        hidden = Post.objects.exclude(pk__in=Post.objects.published())
        assert sorted(p.visibility for p in hidden) == ["draft", "scheduled"]
        for post in hidden:
            assert "DRAFT-MARKER" in post.title and "DRAFT-MARKER" in post.body
        scheduled = next(p for p in hidden if p.visibility == "scheduled")
        assert scheduled.series is not None, "a planned series part, to test navigation"
        assert scheduled.tags.exists()
        assert not Post.objects.published().filter(title__contains="DRAFT-MARKER").exists()

    def test_demo_content_is_original(self, demo):
        """The demo must not reuse the reference page's prose."""
        text = " ".join(Post.objects.values_list("body", flat=True)).lower()
        for phrase in ("infinite context", "tinyllama", "chinchilla", "mamba"):
            assert phrase not in text


class TestSeedSyntheticPosts:
    def test_adds_published_posts_with_tags_links_and_series(self, demo):
        before = Post.objects.published().count()
        output = run("seed_demo", posts=25)
        assert re.search(r"added 25 synthetic posts", output)
        new = Post.objects.published().filter(slug__startswith="sample-")
        assert new.count() == 25
        assert Post.objects.published().count() == before + 25
        for post in new.prefetch_related("tags", "links"):
            assert len(post.tags.all()) == 3
            assert len(post.links.all()) == 2
            assert post.body_html.strip()
            assert post.reading_time >= 1
        assert new.filter(series__isnull=False).count() == 25
        positions = set(new.values_list("series_position", flat=True))
        assert positions == {1, 2, 3, 4, 5}

    def test_can_be_run_again(self, demo):
        run("seed_demo", posts=5)
        run("seed_demo", posts=5)
        assert Post.objects.filter(slug__startswith="sample-").count() == 10

    def test_negative_count_is_refused(self, demo):
        from django.core.management import CommandError

        with pytest.raises(CommandError):
            run("seed_demo", posts=-1)


class TestSeedLongFormPosts:
    """``seed_demo --posts N --long``: what the bench measures must look like real posts."""

    @pytest.fixture
    def long_posts(self, demo):
        output = run("seed_demo", posts=25, long=True)
        assert re.search(r"added 25 long-form synthetic posts", output)
        return Post.objects.published().filter(slug__startswith="sample-")

    def test_bodies_are_about_1500_words_with_headings_lists_code_and_links(self, long_posts):
        for post in long_posts:
            assert 1300 <= len(post.body.split()) <= 1800
            assert len(post.body_text.split()) >= 1200, "the rendered text is as long"
            doc = lxml_html.fromstring(f"<div>{post.body_html}</div>")
            assert len(doc.cssselect("h2")) >= 4
            assert doc.cssselect("ul > li") or doc.cssselect("ol > li")
            assert [c for c in doc.cssselect("code") if c.getparent().tag != "pre"], "inline"
            assert doc.cssselect("div.highlight pre code"), "a highlighted code block"
            assert doc.cssselect("p a[href^='https://']")
            assert post.reading_time >= 5
            assert post.shows_toc

    def test_each_post_has_one_to_three_tags_and_two_links(self, long_posts):
        for post in long_posts.prefetch_related("tags", "links"):
            tags = [tag.name.lower() for tag in post.tags.all()]
            assert 1 <= len(tags) <= 3
            assert post.title.rsplit(" about ", 1)[1] in tags, "the body's topic is a tag"
            assert len(post.links.all()) == 2

    def test_one_post_in_five_is_part_of_a_series(self, long_posts):
        parts = long_posts.filter(series__isnull=False)
        assert parts.count() == 5  # posts 1, 6, 11, 16 and 21
        positions = list(parts.order_by("published_at").values_list("series_position", flat=True))
        assert positions == [1, 2, 3, 4, 1]
        assert len(set(parts.values_list("series", flat=True))) == 2

    def test_bodies_are_distinct_and_each_is_rendered_once(self, demo, monkeypatch):
        renders = []
        original = Post.render
        monkeypatch.setattr(Post, "render", lambda post: renders.append(1) or original(post))
        run("seed_demo", posts=12, long=True)
        bodies = Post.objects.filter(slug__startswith="sample-").values_list("body", flat=True)
        assert len(set(bodies)) == 12
        assert len(renders) == 12, "one render per distinct body, none per post"

    def test_the_pool_of_bodies_is_bounded(self, db, monkeypatch):
        from blog.demo import seed

        monkeypatch.setattr(seed, "LONG_POOL_SIZE", 4)
        seed.seed_synthetic(10, long=True)
        bodies = Post.objects.filter(slug__startswith="sample-").values_list("body", flat=True)
        assert len(set(bodies)) == 4

    def test_long_posts_are_searchable(self, long_posts):
        from blog.search import search_posts

        assert search_posts("query planner").posts, "the bench's search finds posts"

    def test_seeding_moves_the_content_version(self, demo):
        """Bulk writes send no signals: cached pages must still see the new posts."""
        from blog.models import SiteVersion

        run("seed_demo", posts=3, long=True)  # creates the synthetic tags (with signals)
        before = SiteVersion.current().content
        run("seed_demo", posts=3, long=True)  # nothing but bulk writes
        assert SiteVersion.current().content != before

    def test_long_needs_a_count(self, demo):
        from django.core.management import CommandError

        with pytest.raises(CommandError, match="--long needs --posts"):
            run("seed_demo", long=True)


def test_a_long_form_body_is_the_same_for_a_seed_and_differs_between_seeds():
    from blog.demo import longform

    assert longform.body(7, "queues") == longform.body(7, "queues")
    assert longform.body(7, "queues") != longform.body(8, "queues")


def test_rerender_rebuilds_stored_html(demo):
    Post.objects.update(body_html="stale", summary="stale", cover_html="stale")
    Series.objects.update(description_html="stale")
    Link.objects.update(commentary_html="stale")
    output = run("rerender")
    assert "Re-rendered" in output
    assert not Post.objects.filter(body_html="stale").exists()
    assert not Post.objects.filter(summary="stale").exists()
    assert not Post.objects.filter(cover_html="stale").exists()
    assert "<picture>" in Post.objects.exclude(cover=None).get().cover_html
    assert not Series.objects.filter(description_html="stale").exists()
    assert not Link.objects.filter(commentary_html="stale").exists()


class TestEnsureLocalAdmin:
    @pytest.fixture(autouse=True)
    def credentials_file(self, tmp_path, monkeypatch):
        from blog.management.commands import ensure_local_admin

        path = tmp_path / ".local-admin"
        monkeypatch.setattr(ensure_local_admin, "CREDENTIALS_FILE", path)
        return path

    def test_creates_a_superuser_with_a_generated_password(self, credentials_file):
        output = run("ensure_local_admin")
        password = re.search(r"password:\s+(\S+)", output).group(1)
        user = get_user_model().objects.get(username="admin")
        assert user.is_superuser and user.is_staff
        assert user.check_password(password)
        assert len(password) >= 12
        assert credentials_file.read_text().split() == ["admin", password]
        assert oct(credentials_file.stat().st_mode)[-3:] == "600"

    def test_passwords_differ_between_machines(self, credentials_file):
        first = re.search(r"password:\s+(\S+)", run("ensure_local_admin")).group(1)
        get_user_model().objects.all().delete()
        credentials_file.unlink()
        second = re.search(r"password:\s+(\S+)", run("ensure_local_admin")).group(1)
        assert first != second

    def test_second_run_creates_nothing_and_reprints_the_login(self):
        first = run("ensure_local_admin")
        second = run("ensure_local_admin")
        assert get_user_model().objects.filter(is_superuser=True).count() == 1
        password = re.search(r"password:\s+(\S+)", first).group(1)
        assert password in second

    def test_an_existing_superuser_is_left_alone(self, django_user_model):
        django_user_model.objects.create_superuser(username="owner", password="x" * 20)
        output = run("ensure_local_admin")
        assert "already exists" in output
        assert django_user_model.objects.count() == 1


def test_rebuild_search_index_command(make_post):
    from blog.search import search_posts

    post = make_post(title="Before")
    Post.objects.filter(pk=post.pk).update(title="Bulk capybara", body_text="capybara")
    assert "rebuilt" in run("rebuild_search_index")
    assert [p.title for p in search_posts("capybara").posts] == ["Bulk capybara"]


def test_rebuild_search_index_works_in_batches(make_post):
    """Every post is indexed whatever the batch boundaries, and deleted ones leave."""
    from blog.search import rebuild_index, search_posts

    posts = [make_post(title=f"Wombat {i}") for i in range(5)]
    posts[2].delete()
    Post.objects.update(body_text="marsupial")
    assert rebuild_index(batch_size=2) == 4
    found = sorted(p.title for p in search_posts("marsupial").posts)
    assert found == ["Wombat 0", "Wombat 1", "Wombat 3", "Wombat 4"]


# --- progress bars and summary lines ----------------------------------------------------


class Terminal(StringIO):
    """A stderr that says it is a terminal, where progress bars are drawn."""

    def isatty(self):
        return True


def run_on_terminal(*args, **kwargs):
    out, err = StringIO(), Terminal()
    call_command(*args, stdout=out, stderr=err, **kwargs)
    return out.getvalue(), err.getvalue()


class TestProgressAndSummaries:
    def test_seed_demo_ends_with_one_summary_line(self, db):
        out, err = run_on_terminal("seed_demo", posts=5)
        assert re.fullmatch(
            r"Demo content: created \d+ objects; added 5 synthetic posts in \d+\.\d s\.\n", out
        )
        assert "Adding posts" in err, "a bar on the terminal"
        out, _ = run_on_terminal("seed_demo")
        assert out == "Demo content already present, nothing changed.\n"

    def test_rerender_counts_what_it_rendered(self, demo):
        out, err = run_on_terminal("rerender")
        assert out == (
            f"Re-rendered {Link.objects.count()} links, {Series.objects.count()} series, "
            f"{Page.objects.count()} pages, {Post.objects.count()} posts; "
            "search index rebuilt.\n"
        )
        assert "Re-rendering posts" in err and "Indexing posts" in err

    def test_rebuild_search_index_counts_posts(self, demo):
        out, err = run_on_terminal("rebuild_search_index")
        assert out == f"Search index rebuilt: {Post.objects.count()} post(s) indexed.\n"
        assert "Indexing posts" in err

    def test_build_renditions_counts_images(self, demo):
        from blog.models import Image

        out, err = run_on_terminal("build_renditions")
        assert out == (
            f"{Image.objects.count()} image(s) checked: 0 rendition(s) made, "
            "0 with missing files replaced.\n"
        )
        assert "Images" in err

    def test_no_bar_off_a_terminal(self, demo):
        """In CI logs and cron mail a bar is noise: stderr stays empty."""
        err = StringIO()
        call_command("rerender", stdout=StringIO(), stderr=err)
        call_command("rebuild_search_index", stdout=StringIO(), stderr=err)
        assert err.getvalue() == ""

    def test_export_and_import_draw_bars_on_a_terminal(self, demo, tmp_path):
        out, err = run_on_terminal("export_site", str(tmp_path / "bundle"))
        assert out.startswith(f"Exported {Post.objects.count()} posts, ")
        assert "Posts" in err and "Media files" in err
