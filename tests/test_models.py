"""The content model: visibility, constraints, derived fields and tags."""

import io
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from blog.models import RESERVED_SLUGS, Link, Post, Section, Series, SiteSettings, Tag

pytestmark = pytest.mark.django_db


class TestPublished:
    def test_published_posts_dated_in_the_past_are_public(self, make_post):
        post = make_post()
        assert list(Post.objects.published()) == [post]

    def test_drafts_are_never_public(self, make_post):
        make_post(status=Post.Status.DRAFT)
        assert not Post.objects.published().exists()

    def test_future_dates_schedule_a_post_without_a_cron_job(self, make_post):
        post = make_post(published_at=timezone.now() + timedelta(hours=2))
        assert not Post.objects.published().exists()
        later = timezone.now() + timedelta(hours=3)
        assert list(Post.objects.published(now=later)) == [post]

    def test_the_boundary_instant_is_public(self, make_post):
        moment = timezone.now() - timedelta(minutes=5)
        post = make_post(published_at=moment)
        assert list(Post.objects.published(now=moment)) == [post]

    def test_publishing_without_a_date_stamps_now(self, make_post):
        post = make_post(published_at=None)
        assert post.published_at is not None
        assert post.published_at <= timezone.now()

    def test_visibility_labels(self, make_post):
        assert make_post(status=Post.Status.DRAFT).visibility == "draft"
        future = timezone.now() + timedelta(days=1)
        assert make_post(published_at=future).visibility == "scheduled"
        assert make_post().visibility == "published"

    def test_the_three_states_split_every_post_once_and_match_visibility(self, make_post):
        future = timezone.now() + timedelta(days=1)
        posts = [
            make_post(status=Post.Status.DRAFT, published_at=None),
            make_post(status=Post.Status.DRAFT, published_at=future),
            make_post(published_at=future),
            make_post(),
        ]
        states = {
            "draft": set(Post.objects.drafts()),
            "scheduled": set(Post.objects.scheduled()),
            "published": set(Post.objects.published()),
        }
        for post in posts:
            assert [name for name, members in states.items() if post in members] == [
                post.visibility
            ]

    def test_status_filters_live_only_in_the_queryset(self):
        """Habit 1: no filter, exclude or Q outside PostQuerySet (published(), and the
        admin's scheduled() and drafts()) names the status (however the call is spread
        over lines)."""
        import ast
        from pathlib import Path

        lookups = {"filter", "exclude", "get", "Q", "get_or_create", "update_or_create"}
        offenders = []
        for path in Path("blog").rglob("*.py"):
            if "migrations" in path.parts:
                continue
            tree = ast.parse(path.read_text())
            # The rule itself, and database constraints (which are not visibility).
            allowed = {
                id(node)
                for scope in ast.walk(tree)
                if (isinstance(scope, ast.ClassDef) and scope.name == "PostQuerySet")
                or (
                    isinstance(scope, ast.Call)
                    and getattr(scope.func, "attr", "") == "CheckConstraint"
                )
                for node in ast.walk(scope)
            }
            for node in ast.walk(tree):
                if not isinstance(node, ast.Call) or id(node) in allowed:
                    continue
                name = getattr(node.func, "attr", getattr(node.func, "id", ""))
                keywords = {k.arg or "" for k in node.keywords}
                if name in lookups and any(k.split("__")[0] == "status" for k in keywords):
                    offenders.append(f"{path}:{node.lineno}")
        assert offenders == []


class TestConstraints:
    def test_post_slug_is_unique_within_its_section(self, make_post, section):
        make_post(slug="hello")
        with pytest.raises(IntegrityError), transaction.atomic():
            make_post(slug="hello")

    def test_the_same_slug_may_be_used_in_another_section(self, make_post, other_section):
        make_post(slug="hello")
        assert make_post(slug="hello", section=other_section).pk

    def test_series_positions_are_unique(self, make_post):
        series = Series.objects.create(title="S", slug="s")
        make_post(series=series, series_position=1)
        with pytest.raises(IntegrityError), transaction.atomic():
            make_post(series=series, series_position=1)

    def test_a_series_part_needs_a_position(self, make_post):
        series = Series.objects.create(title="S", slug="s")
        with pytest.raises(IntegrityError), transaction.atomic():
            make_post(series=series, series_position=None)

    def test_deleting_a_series_keeps_its_posts_as_standalone_posts(self, make_post):
        series = Series.objects.create(title="S", slug="s")
        post = make_post(series=series, series_position=1)
        series.delete()
        post.refresh_from_db()
        assert (post.series, post.series_position) == (None, None)

    def test_series_and_section_slugs_are_unique(self):
        Series.objects.create(title="S", slug="s")
        with pytest.raises(IntegrityError), transaction.atomic():
            Series.objects.create(title="T", slug="s")
        Section.objects.create(name="A", slug="a")
        with pytest.raises(IntegrityError), transaction.atomic():
            Section.objects.create(name="B", slug="a")

    def test_published_posts_have_a_date_in_the_database(self, make_post):
        post = make_post()
        with pytest.raises(IntegrityError), transaction.atomic():
            Post.objects.filter(pk=post.pk).update(published_at=None)

    @pytest.mark.parametrize("slug", sorted(RESERVED_SLUGS & {"series", "tags", "admin", "feed"}))
    def test_reserved_paths_cannot_be_section_slugs(self, slug):
        section = Section(name="X", slug=slug)
        with pytest.raises(ValidationError) as excinfo:
            section.full_clean()
        assert "reserved" in excinfo.value.message_dict["slug"][0]

    def test_list_indexes_exist(self):
        names = {index.name for index in Post._meta.indexes}
        assert {"post_status_published_idx", "post_section_published_idx"} <= names

    def test_site_settings_is_a_single_row(self):
        first = SiteSettings.load()
        SiteSettings(title="Another").save()
        assert SiteSettings.objects.count() == 1
        assert SiteSettings.load().pk == first.pk == 1


class TestValidation:
    def test_duplicate_slug_error_names_the_slug_field(self, make_post, author, section):
        make_post(slug="taken")
        post = Post(title="T", slug="taken", section=section, author=author, body="x")
        with pytest.raises(ValidationError) as excinfo:
            post.full_clean()
        assert "slug" in excinfo.value.message_dict
        assert "already uses the slug" in excinfo.value.message_dict["slug"][0]

    def test_series_position_clash_is_a_field_error(self, make_post, author, section):
        series = Series.objects.create(title="S", slug="s")
        make_post(series=series, series_position=2)
        post = Post(
            title="T", slug="t", section=section, author=author, body="x",
            series=series, series_position=2,
        )  # fmt: skip
        with pytest.raises(ValidationError) as excinfo:
            post.full_clean()
        assert "already taken" in excinfo.value.message_dict["series_position"][0]

    def test_cover_image_needs_alt_text(self, author, section):

        from .conftest import image_bytes
        from .test_renditions import library_image

        cover = library_image(image_bytes(), name="x.png", alt="")
        post = Post(title="T", slug="t", section=section, author=author, body="x", cover=cover)
        with pytest.raises(ValidationError) as excinfo:
            post.full_clean()
        assert "cover" in excinfo.value.message_dict

    def test_published_post_needs_alt_text_on_body_images(self, author, section):
        post = Post(
            title="T", slug="t", section=section, author=author,
            body="![Describe this image](/media/x.png)", status=Post.Status.PUBLISHED,
        )  # fmt: skip
        with pytest.raises(ValidationError) as excinfo:
            post.full_clean()
        assert "alt text" in excinfo.value.message_dict["body"][0]
        post.status = Post.Status.DRAFT
        post.full_clean()  # a draft may be saved mid-edit


class TestDerivedFields:
    def test_body_html_is_rendered_and_sanitised_on_save(self, make_post):
        post = make_post(body="## Hi\n\n<script>x()</script>*there*")
        assert '<h2 id="p-hi">' in post.body_html
        assert "<em>there</em>" in post.body_html
        assert "<script" not in post.body_html
        post.body = "changed"
        post.save()
        post.refresh_from_db()
        assert post.body_html == "<p>changed</p>"

    def test_reading_time_counts_words(self, make_post):
        assert make_post(body="word " * 10).reading_time == 1
        assert make_post(body="word " * 1000).reading_time == 5  # 1000 / 230 rounded up

    def test_summary_comes_from_the_excerpt_or_the_opening(self, make_post):
        assert make_post(body="First words. " * 100).summary.startswith("First words.")
        assert len(make_post(body="word " * 500).summary) <= 280
        assert make_post(body="x", excerpt="Hand-written.").summary == "Hand-written."

    def test_series_description_and_link_commentary_are_rendered(self, make_post):
        # Markup the sanitiser cannot keep shows as text (see test_markdown.py).
        series = Series.objects.create(title="S", slug="s", description="*hi* <iframe></iframe>")
        assert series.description_html == "<p><em>hi</em> &lt;iframe&gt;&lt;/iframe&gt;</p>"
        link = Link.objects.create(
            post=make_post(), title="L", url="https://www.example.org/a", commentary="**b**"
        )
        assert link.commentary_html == "<p><strong>b</strong></p>"
        assert link.domain == "example.org"

    def test_every_post_gets_a_stable_uuid(self, make_post):
        post = make_post()
        uuid = post.uuid
        post.slug = "renamed"
        post.save()
        post.refresh_from_db()
        assert post.uuid == uuid


def reading_list_links(count, *, words=100):
    """Admin inline data for ``count`` links, each titled in two words with a commentary
    of ``words`` words."""
    data = {"links-TOTAL_FORMS": str(count)}
    for i in range(count):
        data |= {
            f"links-{i}-position": str(i),
            f"links-{i}-group": "",
            f"links-{i}-title": "Two words",
            f"links-{i}-url": f"https://example.org/{i}",
            f"links-{i}-commentary": "*word* " * words,
        }
    return data


class TestReadingTime:
    """A reading list is read too: its links' titles and commentary count."""

    def test_links_count_when_saved_with_the_post(self, make_post):
        from blog import services

        post = make_post(body="word " * 10)

        def add_links():
            for _ in range(7):
                Link.objects.create(
                    post=post, title="Two words", url="https://e.org", commentary="*word* " * 100
                )

        services.save_post(post, related=add_links)
        post.refresh_from_db()
        assert post.reading_time == 4  # (10 + 7 * 102) / 230, rounded up
        keep = post.links.first()
        services.save_post(post, related=lambda: post.links.exclude(pk=keep.pk).delete())
        post.refresh_from_db()
        assert post.reading_time == 1

    def test_right_after_the_admin_saves_the_post_then_its_links(
        self, staff_client, section, author
    ):
        from .test_admin import ADD_URL, post_form

        body = "word " * 10
        data = post_form(section, author, body=body, **reading_list_links(7))
        assert staff_client.post(ADD_URL, data).status_code == 302
        post = Post.objects.get()
        assert post.reading_time == 4

        # The change form deletes all the links but one.
        data = post_form(section, author, body=body, **reading_list_links(7))
        data["links-INITIAL_FORMS"] = "7"
        for i, link in enumerate(post.links.order_by("position")):
            data |= {f"links-{i}-id": str(link.pk), f"links-{i}-post": str(post.pk)}
            if i:
                data[f"links-{i}-DELETE"] = "on"
        change_url = reverse("admin:blog_post_change", args=[post.pk])
        assert staff_client.post(change_url, data).status_code == 302
        post.refresh_from_db()
        assert (post.links.count(), post.reading_time) == (1, 1)

    def test_rerender_counts_the_links(self, make_post):
        from django.core.management import call_command

        post = make_post(body="word " * 10)
        for _ in range(7):
            Link.objects.create(
                post=post, title="Two words", url="https://e.org", commentary="*word* " * 100
            )
        Post.objects.update(reading_time=1)
        Link.objects.update(commentary_html="")  # stale: rerender renders links first
        call_command("rerender", stdout=io.StringIO())
        post.refresh_from_db()
        assert post.reading_time == 4


class TestTags:
    def test_tags_split_on_commas_only(self, make_post):
        post = make_post()
        from taggit.utils import parse_tags

        post.tags.set(parse_tags("machine learning, Python ,  web   apps"))
        names = sorted((t.name for t in post.tags.all()), key=str.casefold)
        assert names == ["machine learning", "Python", "web apps"]

    def test_case_duplicates_in_one_call_become_one_tag(self, make_post):
        from taggit.utils import parse_tags

        post = make_post()
        post.tags.set(parse_tags("Python, python, PYTHON"))
        assert Tag.objects.count() == 1

    def test_tags_match_existing_ones_regardless_of_case(self, make_post):
        make_post(tags=["Python"])
        make_post(tags=["python"])
        assert list(Tag.objects.values_list("name", flat=True)) == ["Python"]

    def test_tag_names_are_unique_regardless_of_case_in_the_database(self):
        Tag.objects.create(name="Django")
        with pytest.raises(IntegrityError), transaction.atomic():
            Tag.objects.create(name="django", slug="django-2")

    def test_unicode_tags_get_unicode_slugs_that_reverse(self, make_post):
        post = make_post(tags=["Café crème"])
        tag = post.tags.get()
        assert tag.slug == "café-crème"
        assert reverse("blog:tag-detail", kwargs={"slug": tag.slug})

    def test_symbol_only_tags_still_get_a_slug(self, make_post):
        make_post(tags=["C++", "+++"])
        slugs = set(Tag.objects.values_list("slug", flat=True))
        assert "" not in slugs
        for slug in slugs:
            assert reverse("blog:tag-detail", kwargs={"slug": slug})
