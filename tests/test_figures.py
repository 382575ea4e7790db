"""Library images in posts: responsive pictures, alt text, captions, feeds, deletion."""

import io

import feedparser
import pytest
from django.db.models import ProtectedError
from django.urls import reverse
from lxml import html as lxml_html

from blog import services
from blog.models import Image

from .conftest import image_bytes
from .test_renditions import library_image

pytestmark = pytest.mark.django_db


@pytest.fixture
def photo(db):
    return library_image(
        image_bytes("JPEG", size=(2000, 1000)), alt="A harbour at dawn", caption="Porto, 2024"
    )


def figure_of(post):
    return lxml_html.fragment_fromstring(post.body_html, create_parent="div").cssselect("figure")


def test_library_image_becomes_a_responsive_picture(make_post, photo):
    post = make_post(body=f"Intro.\n\n![typed alt]({photo.file.url})\n\nMore.")
    [figure] = figure_of(post)
    sources = figure.cssselect("picture source")
    types = [s.get("type") for s in sources]
    assert "image/webp" in types
    webp = next(s for s in sources if s.get("type") == "image/webp")
    assert [c.split()[1] for c in webp.get("srcset").split(", ")] == ["480w", "960w", "1600w"]
    assert webp.get("sizes")
    img = figure.cssselect("picture img")[0]
    assert img.get("alt") == "typed alt", "the alt text typed in the post wins"
    assert (img.get("width"), img.get("height")) == ("2000", "1000")
    assert img.get("decoding") == "async"
    assert img.get("src").endswith("-width-960w.jpg")
    assert figure.cssselect("figcaption")[0].text == "Porto, 2024"
    assert list(post.body_images.all()) == [photo]


def test_markdown_alt_and_title_fill_in_what_the_library_lacks(make_post):
    bare = library_image(image_bytes("PNG", size=(800, 600)), name="d.png", alt="")
    post = make_post(body=f'![A diagram of the cache]({bare.file.url} "How a 304 flows")')
    [figure] = figure_of(post)
    assert figure.cssselect("img")[0].get("alt") == "A diagram of the cache"
    assert figure.cssselect("figcaption")[0].text == "How a 304 flows"


def test_the_library_alt_text_is_used_where_the_markdown_has_only_the_placeholder(make_post, photo):
    post = make_post(body=f"![Describe this image]({photo.file.url})", status="draft")
    [figure] = figure_of(post)
    assert figure.cssselect("img")[0].get("alt") == "A harbour at dawn"


def test_alt_text_typed_in_markdown_is_saved_to_a_library_image_without_one(make_post):
    bare = library_image(image_bytes("PNG", size=(800, 600)), name="d.png", alt="")
    make_post(body=f"![A diagram of the cache]({bare.file.url})")
    bare.refresh_from_db()
    assert bare.alt == "A diagram of the cache"
    # The next post that shows the image without typing an alt text starts from it.
    later = make_post(body=f"![Describe this image]({bare.file.url})", status="draft")
    assert figure_of(later)[0].cssselect("img")[0].get("alt") == "A diagram of the cache"


def test_markdown_alt_text_never_overwrites_the_library_or_fills_decorative_images(
    make_post, photo
):
    decorative = library_image(
        image_bytes("PNG", size=(300, 200)), name="swirl.png", alt="", decorative=True
    )
    make_post(body=f"![Other words]({photo.file.url})\n\n![A swirl]({decorative.file.url})")
    photo.refresh_from_db()
    decorative.refresh_from_db()
    assert photo.alt == "A harbour at dawn"
    assert decorative.alt == ""


def test_uploads_keep_their_file_name_as_title_and_store_their_size(staff_client):
    upload = io.BytesIO(image_bytes("PNG", size=(320, 200)))
    upload.name = "Cache diagram (final).png"
    response = staff_client.post(reverse("markdownx_upload"), {"image": upload})
    assert response.status_code == 200
    image = Image.objects.get()
    assert image.title == "Cache diagram (final).png"
    assert str(image) == "Cache diagram (final).png"
    assert (image.width, image.height) == (320, 200)
    changelist = staff_client.get(reverse("admin:blog_image_changelist"))
    assert "Cache diagram (final).png" in changelist.content.decode()


def test_images_below_the_first_are_lazy(make_post, photo):
    post = make_post(body=f"![a]({photo.file.url})\n\ntext\n\n![b]({photo.file.url})")
    first, second = figure_of(post)
    assert first.cssselect("img")[0].get("loading") is None
    assert second.cssselect("img")[0].get("loading") == "lazy"


def test_other_images_are_left_alone(make_post):
    post = make_post(body="![Elsewhere](https://example.org/x.png)")
    [figure] = figure_of(post)
    assert not figure.cssselect("picture")
    assert figure.cssselect("img")[0].get("src") == "https://example.org/x.png"


def test_editing_the_library_image_updates_posts(make_post, photo):
    post = make_post(body=f"![Describe this image]({photo.file.url})", status="draft")
    photo.alt = "A harbour at dusk"
    updated_at = post.updated_at
    services.save_image(photo)
    post.refresh_from_db()
    assert 'alt="A harbour at dusk"' in post.body_html
    # Not an edit of the post: it does not show as "Updated", nor as a new revision.
    assert post.updated_at == updated_at
    assert not post.revisions.exists()


def test_feeds_get_a_plain_img_of_a_mid_size_rendition(client, make_post, photo):
    make_post(body=f"![A harbour at dawn]({photo.file.url})")
    feed = feedparser.parse(client.get("/feed/").content)
    content = feed.entries[0].content[0].value
    doc = lxml_html.fragment_fromstring(content, create_parent="div")
    assert not doc.cssselect("picture, source")
    [img] = doc.cssselect("img")
    assert img.get("src").startswith("http://testserver/media/renditions/")
    assert img.get("src").endswith("-width-960w.jpg")
    assert img.get("srcset") is None and img.get("sizes") is None
    assert img.get("alt") == "A harbour at dawn"


def test_an_image_a_post_shows_cannot_be_deleted(make_post, photo, staff_client):
    make_post(body=f"![x]({photo.file.url})")
    with pytest.raises(ProtectedError):
        photo.delete()
    response = staff_client.post(
        reverse("admin:blog_image_delete", args=[photo.pk]), {"post": "yes"}
    )
    assert response.status_code == 200
    assert "Cannot delete" in response.content.decode()
    assert Image.objects.filter(pk=photo.pk).exists()


def test_an_unused_image_can_be_deleted(photo, make_post):
    post = make_post(body=f"![x]({photo.file.url})")
    post.body = "No image any more."
    post.save()
    photo.delete()
    assert not Image.objects.exists()


def test_editor_upload_adds_to_the_library(staff_client):
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("p.png", image_bytes("PNG", size=(1000, 500)))
    response = staff_client.post(
        reverse("markdownx_upload"), {"image": upload}, HTTP_X_REQUESTED_WITH="XMLHttpRequest"
    )
    image = Image.objects.get()
    assert response.json()["image_code"] == f"![Describe this image]({image.file.url})"
    assert image.renditions.filter(format="webp").count() == 2  # 480 and 960


def test_credit_is_shown_in_the_caption(make_post):
    image = library_image(
        image_bytes("JPEG", size=(800, 600)), alt="A fox", caption="Morning", credit="Photo: A. N."
    )
    [figure] = figure_of(make_post(body=f"![x]({image.file.url})"))
    caption = figure.cssselect("figcaption")[0]
    assert caption.text_content() == "Morning Photo: A. N."
    assert caption.cssselect("small.credit")


def test_a_cover_image_cannot_be_deleted_while_used(make_post, photo):
    make_post(cover=photo)
    with pytest.raises(ProtectedError):
        photo.delete()


def test_pages_with_images_run_the_same_queries_however_many_images(client, make_post):
    """Renditions are resolved when the post is saved, so a page never looks them up."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    images = [
        library_image(image_bytes("JPEG", size=(900, 600)), name=f"i{n}.jpg") for n in range(5)
    ]
    one = make_post(cover=images[0], body=f"![a]({images[1].file.url})")
    many = make_post(
        cover=images[0], body="\n\n".join(f"![a]({image.file.url})" for image in images)
    )
    client.get("/")

    def count(post):
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(post.get_absolute_url()).status_code == 200
        return len(ctx.captured_queries)

    assert count(one) == count(many)
    assert count(many) <= 8


def test_library_images_are_found_on_any_media_url(make_post, settings):
    """With media on a CDN or bucket, file URLs are absolute; they are still recognised."""
    settings.MEDIA_URL = "https://cdn.example.org/media/"
    image = library_image(image_bytes("JPEG", size=(900, 600)), alt="On the CDN")
    assert image.file.url.startswith("https://cdn.example.org/media/images/")
    [figure] = figure_of(make_post(body=f"![x]({image.file.url})"))
    assert figure.cssselect("picture source")
    assert figure.cssselect("img")[0].get("src").startswith("https://cdn.example.org/media/")


def test_editing_a_cover_image_refreshes_the_post(make_post, photo):
    post = make_post(cover=photo)
    photo.alt = "A harbour at noon"
    services.save_image(photo)
    post.refresh_from_db()
    assert 'alt="A harbour at noon"' in post.cover_html


def test_the_file_of_an_image_in_use_cannot_be_replaced(make_post, photo):
    from django.core.exceptions import ValidationError
    from django.core.files.base import ContentFile

    make_post(body=f"![x]({photo.file.url})")
    photo.file.save("other.jpg", ContentFile(image_bytes("JPEG")), save=False)
    with pytest.raises(ValidationError) as excinfo:
        photo.full_clean()
    assert "cannot be replaced" in excinfo.value.message_dict["file"][0]


def test_build_renditions_refreshes_posts_that_show_the_image(make_post, photo):
    from django.core.management import call_command

    post = make_post(body=f"![x]({photo.file.url})")
    photo.renditions.filter(format="webp").delete()
    post.save()
    assert "image/webp" not in post.body_html
    call_command("build_renditions", stdout=io.StringIO())
    post.refresh_from_db()
    assert "image/webp" in post.body_html
