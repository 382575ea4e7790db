"""og:image on every page: the post's cover, else the site's social image, else a card
made from the site's title."""

import io

import pytest
from django.core.files.storage import default_storage
from lxml import html as lxml_html
from PIL import Image as PILImage

from blog.models import Series, SiteSettings

from .conftest import image_bytes
from .test_renditions import library_image

pytestmark = pytest.mark.django_db


def og(client, url):
    doc = lxml_html.fromstring(client.get(url).content)
    values = {
        meta.get("property") or meta.get("name"): meta.get("content")
        for meta in doc.cssselect("meta[property^='og:'], meta[name^='twitter:']")
    }
    return values


def stored_file(absolute_url):
    name = absolute_url.split("/media/", 1)[1]
    with default_storage.open(name, "rb") as handle:
        return handle.read()


@pytest.fixture
def pages(make_post):
    series = Series.objects.create(title="Deep dive", slug="deep-dive")
    post = make_post(tags=["python"], series=series, series_position=1)
    return [
        "/",
        post.section.get_absolute_url(),
        "/tags/",
        "/tags/python/",
        "/series/",
        "/series/deep-dive/",
        "/archive/",
        post.get_absolute_url(),
    ]


def test_pages_without_a_cover_get_a_generated_card_of_the_site(client, pages):
    site = SiteSettings.load()
    site.title = "Notes on Systems"
    site.save()
    images = {url: og(client, url) for url in pages}
    for url, tags in images.items():
        assert tags.get("og:image", "").startswith("http://testserver/media/"), url
        assert tags["og:image:alt"] == "Notes on Systems", url
        assert tags["twitter:card"] == "summary_large_image", url
    [card_url] = {tags["og:image"] for tags in images.values()}
    with PILImage.open(io.BytesIO(stored_file(card_url))) as card:
        assert card.size == (1200, 630)
    # A new title makes a new card (the old one would show the old name).
    site.title = "Systems, Slowly"
    site.save()
    assert og(client, "/")["og:image"] != card_url


def test_the_site_social_image_replaces_the_generated_card(client, pages):
    picture = library_image(image_bytes("JPEG", size=(1600, 1000)), alt="A lighthouse")
    site = SiteSettings.load()
    site.social_image = picture
    site.save()
    social = picture.renditions.get(kind="social")
    for url in pages:
        tags = og(client, url)
        assert tags["og:image"] == f"http://testserver{social.file.url}", url
        assert tags["og:image:alt"] == "A lighthouse"


def test_a_cover_wins_over_the_site_image(client, make_post):
    cover = library_image(image_bytes("JPEG", size=(1600, 1000)), alt="A harbour")
    post = make_post(cover=cover)
    tags = og(client, post.get_absolute_url())
    assert tags["og:image"] == f"http://testserver{cover.renditions.get(kind='social').file.url}"
    assert tags["og:image:alt"] == "A harbour"


def test_deleting_the_site_social_image_falls_back_to_the_generated_card(client, pages):
    picture = library_image(image_bytes("JPEG", size=(1600, 1000)), alt="A lighthouse")
    site = SiteSettings.load()
    site.social_image = picture
    site.save()
    assert "social" in og(client, "/")["og:image"]  # the picture's social card
    picture.delete()
    tags = og(client, "/")
    assert "/media/site/social-card-" in tags["og:image"]
    assert tags["og:image:alt"] == site.title


def test_a_storage_failure_leaves_pages_without_the_card_not_broken(client, pages, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("the bucket is unreachable")  # not an OSError, as with S3

    monkeypatch.setattr(type(default_storage._wrapped), "exists", broken)
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
    assert "og:image" not in og(client, "/")
