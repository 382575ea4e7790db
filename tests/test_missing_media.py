"""A library image whose file is gone degrades to a page without it, never a 500; image
sizes are stored on upload so that loading a row never reads the file."""

import importlib
import logging

import pytest
from django.apps import apps
from django.core.files.storage import default_storage
from django.urls import reverse
from lxml import html as lxml_html

from blog.models import Image, Series

from .conftest import image_bytes
from .test_renditions import library_image

pytestmark = pytest.mark.django_db


@pytest.fixture
def post_with_images(make_post):
    cover = library_image(image_bytes("JPEG", size=(1600, 900)), name="cover.jpg")
    inline = library_image(image_bytes("PNG", size=(800, 400)), name="inline.png")
    series = Series.objects.create(title="A series", slug="a-series")
    post = make_post(
        body=f"Intro.\n\n![A chart]({inline.file.url})\n\nMore.",
        cover=cover,
        tags=["python"],
        series=series,
        series_position=1,
    )
    return post, cover, inline


def urls_showing(post):
    return [
        post.get_absolute_url(),
        "/",
        post.section.get_absolute_url(),
        "/feed/",
        "/feed/atom/",
        "/feed.json",
        reverse("blog:section-feed-rss", args=[post.section.slug]),
        reverse("blog:series-feed-rss", args=["a-series"]),
        reverse("blog:series-feed-atom", args=["a-series"]),
        reverse("blog:tag-feed-rss", args=["python"]),
        reverse("blog:tag-feed-atom", args=["python"]),
    ]


def test_sizes_are_stored_on_upload(post_with_images):
    _, cover, inline = post_with_images
    stored = dict(Image.objects.values_list("pk", "width").filter(pk__in=[cover.pk, inline.pk]))
    assert stored == {cover.pk: 1600, inline.pk: 800}


def test_a_missing_original_file_never_gives_a_server_error(
    client, staff_client, post_with_images, caplog
):
    post, cover, inline = post_with_images
    for image in (cover, inline):
        default_storage.delete(image.file.name)
    with caplog.at_level(logging.WARNING, logger="blog.models"):
        for url in urls_showing(post):
            assert client.get(url).status_code == 200, url
    # With sizes stored, reader pages never even try to open the original.
    assert not [r for r in caplog.records if "Cannot read the size" in r.getMessage()]
    for url in [
        reverse("admin:blog_image_changelist"),
        reverse("admin:blog_image_change", args=[cover.pk]),
        reverse("admin:blog_post_change", args=[post.pk]),
    ]:
        assert staff_client.get(url).status_code == 200, url


def test_an_old_row_without_sizes_and_without_its_file_is_served_and_logged(
    client, staff_client, post_with_images, caplog
):
    """A row whose file was unreadable when sizes were stored: pages never read the
    file; a feed leaves out the cover's enclosure and says why in the log."""
    post, cover, inline = post_with_images
    Image.objects.update(width=None, height=None, file_size=None)
    for image in (cover, inline):
        default_storage.delete(image.file.name)
    with caplog.at_level(logging.WARNING):
        for url in urls_showing(post):
            assert client.get(url).status_code == 200, url
        assert staff_client.get(reverse("admin:blog_image_changelist")).status_code == 200
    messages = [r.getMessage() for r in caplog.records]
    assert any("enclosure" in m and cover.file.name in m for m in messages), messages
    assert not any("Cannot read the size" in m for m in messages), "nothing read on load"
    post.save()  # re-rendered with no size known: the <img> says none, not "None"
    img = lxml_html.fromstring(client.get(post.get_absolute_url()).content).cssselect(
        ".prose figure img"
    )[0]
    assert (img.get("width"), img.get("height")) == (None, None)


@pytest.mark.usefixtures("post_with_images")
def test_feeds_make_no_storage_request_per_item(client, monkeypatch):
    def no_storage(*args, **kwargs):
        raise AssertionError("a feed asked storage for a file's size")

    monkeypatch.setattr(type(default_storage._wrapped), "size", no_storage)
    monkeypatch.setattr(type(default_storage._wrapped), "open", no_storage)
    for url in ["/feed/", "/feed/atom/", "/feed.json"]:
        assert client.get(url).status_code == 200, url


def test_the_migration_stores_the_sizes_of_old_rows(post_with_images, caplog):
    _, cover, inline = post_with_images
    Image.objects.update(width=None, height=None, file_size=None)
    default_storage.delete(inline.file.name)
    migration = importlib.import_module("blog.migrations.0003_chrome_version_and_image_fields")
    with caplog.at_level(logging.WARNING):
        migration.store_image_sizes(apps, None)
    sizes = dict(Image.objects.values_list("pk", "width"))
    assert sizes == {cover.pk: 1600, inline.pk: None}
    assert Image.objects.get(pk=cover.pk).file_size == default_storage.size(cover.file.name)
    assert any(inline.file.name in r.getMessage() for r in caplog.records)
