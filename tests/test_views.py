"""The reader pages that exist so far: routes, visibility and the demo marker sweep."""

from io import StringIO
from urllib.parse import unquote

import pytest
from django.core.management import call_command
from django.urls import resolve, reverse

from blog import views
from blog.models import Post, Section, Series, Tag

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("name", "kwargs", "path", "view"),
    [
        ("blog:home", {}, "/", views.HomeView),
        ("blog:section-detail", {"section": "bytes"}, "/bytes/", views.SectionDetailView),
        (
            "blog:post-detail",
            {"section": "bytes", "slug": "hello"},
            "/bytes/hello/",
            views.PostDetailView,
        ),
        ("blog:series-detail", {"slug": "s"}, "/series/s/", views.SeriesDetailView),
        ("blog:tag-detail", {"slug": "café"}, "/tags/caf%C3%A9/", views.TagDetailView),
    ],
)
def test_routes_reverse_and_resolve(name, kwargs, path, view):
    assert reverse(name, kwargs=kwargs) == path
    assert resolve(unquote(path)).func.view_class is view


def test_unicode_and_symbol_tags_have_working_pages(client, make_post):
    make_post(title="Tagged", tags=["Café", "+++"])
    for tag in Tag.objects.all():
        response = client.get(tag.get_absolute_url())
        assert response.status_code == 200
        assert "Tagged" in response.content.decode()


def test_home_page_and_admin_answer(client, make_post):
    make_post(title="Hello readers")
    response = client.get("/")
    assert response.status_code == 200
    assert "Hello readers" in response.content.decode()
    assert client.get("/admin/").status_code == 302


def test_published_post_page(client, make_post):
    post = make_post(body="## Part\n\nText with `code`.")
    response = client.get(post.get_absolute_url())
    assert response.status_code == 200
    assert '<h2 id="part">' in response.content.decode()


def test_drafts_and_scheduled_posts_answer_404(client, make_post):
    from datetime import timedelta

    from django.utils import timezone

    draft = make_post(status=Post.Status.DRAFT)
    scheduled = make_post(published_at=timezone.now() + timedelta(days=1))
    assert client.get(draft.get_absolute_url()).status_code == 404
    assert client.get(scheduled.get_absolute_url()).status_code == 404


def test_post_in_the_wrong_section_is_404(client, make_post, other_section):
    post = make_post()
    assert client.get(f"/{other_section.slug}/{post.slug}/").status_code == 404


def test_unknown_section_series_and_tag_are_404(client, db):
    for path in ("/nope/", "/series/nope/", "/tags/nope/", "/nope/post/"):
        assert client.get(path).status_code == 404


def test_demo_markers_never_reach_the_public_pages(client):
    call_command("seed_demo", stdout=StringIO())
    urls = ["/"]
    urls += [s.get_absolute_url() for s in Section.objects.all()]
    urls += [s.get_absolute_url() for s in Series.objects.all()]
    urls += [t.get_absolute_url() for t in Tag.objects.all()]
    urls += [p.get_absolute_url() for p in Post.objects.published()]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        assert "DRAFT-MARKER" not in response.content.decode(), url
    for post in Post.objects.exclude(pk__in=Post.objects.published()):
        assert client.get(post.get_absolute_url()).status_code == 404


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
