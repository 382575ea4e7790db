import io
import itertools
import shutil
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone
from PIL import Image

from blog.models import AuthorProfile, Link, Post, Section, Series

_counter = itertools.count(1)


@pytest.fixture(autouse=True)
def _media_root(tmp_path, settings):
    """Each test writes uploads to its own empty folder."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MEDIA_ROOT.mkdir()
    yield
    shutil.rmtree(settings.MEDIA_ROOT, ignore_errors=True)


@pytest.fixture
def author(django_user_model):
    user = django_user_model.objects.create_user(username=f"author{next(_counter)}")
    return AuthorProfile.objects.create(user=user, display_name="Test Author")


@pytest.fixture
def section(db):
    return Section.objects.create(name="Bytes", slug="bytes", nav_position=1)


@pytest.fixture
def other_section(db):
    return Section.objects.create(name="Nibbles", slug="nibbles", nav_position=2)


@pytest.fixture
def make_post(author, section):
    """Create a post; published an hour ago unless told otherwise."""

    def make(**fields):
        n = next(_counter)
        tags = fields.pop("tags", None)
        defaults = {
            "title": f"Post {n}",
            "slug": f"post-{n}",
            "section": section,
            "author": author,
            "body": f"Body of post {n}.",
            "status": Post.Status.PUBLISHED,
            "published_at": timezone.now() - timedelta(hours=1),
        }
        defaults.update(fields)
        post = Post.objects.create(**defaults)
        if tags:
            post.tags.set(tags)
        return post

    return make


@pytest.fixture
def make_rich_posts(make_post):
    """Posts that each have tags, links and a series part, as list pages show them."""

    def make(count, *, section=None):
        series = Series.objects.create(title=f"Series {next(_counter)}", slug=f"s-{next(_counter)}")
        posts = []
        for i in range(count):
            kwargs = {"series": series, "series_position": i + 1, "tags": ["alpha", "beta"]}
            if section is not None:
                kwargs["section"] = section
            post = make_post(**kwargs)
            Link.objects.create(post=post, title="A link", url="https://example.org/a", position=1)
            posts.append(post)
        return posts

    return make


@pytest.fixture
def staff_client(client, django_user_model):
    user = django_user_model.objects.create_superuser(username="editor", password="pw-for-tests")
    client.force_login(user)
    client.user = user
    return client


def image_bytes(fmt="PNG", size=(64, 48), mode="RGB", exif=None, **save_options):
    image = Image.new(mode, size, (200, 100, 50) if mode == "RGB" else None)
    out = io.BytesIO()
    if exif is not None:
        save_options["exif"] = exif
    image.save(out, fmt, **save_options)
    return out.getvalue()


def gps_exif(orientation=None):
    """EXIF with GPS coordinates (and optionally an orientation), as a phone writes it."""
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    if orientation:
        exif[0x0112] = orientation
    gps = {1: "N", 2: (51.0, 30.0, 0.0), 3: "W", 4: (0.0, 7.0, 0.0)}
    exif[0x8825] = gps
    return exif


@pytest.fixture
def media_files():
    """Every file stored under MEDIA_ROOT, as relative paths."""

    def files():
        root = settings.MEDIA_ROOT
        return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())

    return files
