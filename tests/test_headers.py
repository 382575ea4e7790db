"""The headers that limit what a browser does with a response, on every kind of response.

Reader pages, feeds, the sitemap, the admin, errors, static files, kept pages and media
all carry Content-Security-Policy, X-Content-Type-Options, Referrer-Policy,
Permissions-Policy, Cross-Origin-Opener-Policy and X-Frame-Options; reader pages allow
nothing inline and only this origin; an upload is shown in place only when it is a
raster image, wherever it is served from (Django in development, nginx, the bucket).
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from lxml import html as lxml_html
from storages.backends.s3 import S3Storage

from blog import chrome
from blog.editor import PREVIEW_POLICY
from blog.media_storage import MediaS3Storage
from blog.models import Image, Page, Post, Series, SiteSettings
from config import media

from .conftest import image_bytes
from .test_deploy import deployed_nginx, fetch  # noqa: F401 (deployed_nginx is a fixture)
from .test_s3_media import KEYS, REGION, bucket, s3_endpoint  # noqa: F401 (fixtures)

ROOT = Path(__file__).resolve().parent.parent
SELF, NONE = "'self'", "'none'"
DENIED = (
    "camera",
    "microphone",
    "geolocation",
    "payment",
    "usb",
    "browsing-topics",
    "interest-cohort",
)


# --- parsing the headers ---------------------------------------------------------------


def policy(response) -> dict[str, list[str]]:
    """Content-Security-Policy as {directive: [sources]} (a directive named twice would
    be a bug: browsers keep the first, so it is refused here)."""
    directives = {}
    for part in response["Content-Security-Policy"].split(";"):
        name, *sources = part.split()
        assert name.lower() not in directives, f"{name} appears twice"
        directives[name.lower()] = sources
    return directives


def effective(directives: dict, name: str) -> list[str]:
    """The sources a fetch directive ends up with (script-src and style-src fall back to
    default-src when they are not given)."""
    return directives.get(name, directives["default-src"])


def permissions(response) -> dict[str, str]:
    features = {}
    for item in response["Permissions-Policy"].split(","):
        feature, _, allowlist = item.strip().partition("=")
        features[feature] = allowlist
    return features


def assert_fenced(response, *, label=""):
    """Every security header is there, with the values that deny."""
    assert response["X-Content-Type-Options"] == "nosniff", label
    assert response["Referrer-Policy"] == "strict-origin-when-cross-origin", label
    assert response["Cross-Origin-Opener-Policy"] == "same-origin", label
    assert response["X-Frame-Options"] == "DENY", label
    features = permissions(response)
    assert all(features[name] == "()" for name in DENIED), (label, features)
    directives = policy(response)
    assert directives["frame-ancestors"] == [NONE], label
    assert directives["object-src"] == [NONE], label
    assert directives["base-uri"] == [SELF], label
    assert directives["form-action"] == [SELF], label
    return directives


# --- the site -------------------------------------------------------------------------


@pytest.fixture
def site(db):
    """The demo blog, two posts to a list page, so that sections have a page 2."""
    call_command("seed_demo", verbosity=0)
    SiteSettings.objects.update(posts_per_page=2)
    cache.clear()
    chrome.forget_local()


def reader_paths() -> dict[str, str]:
    post = Post.objects.get(slug="sqlite-is-enough")
    month = {"year": post.published_at.year, "month": post.published_at.month}
    return {
        "home": "/",
        "section": "/bytes/",
        "section page 2": "/bytes/?page=2",
        "post": post.get_absolute_url(),
        "series list": reverse("blog:series-list"),
        "series": Series.objects.get().get_absolute_url(),
        "tags": reverse("blog:tag-list"),
        "tag": reverse("blog:tag-detail", kwargs={"slug": "python"}),
        "archive": reverse("blog:archive"),
        "year": reverse("blog:archive-year", kwargs={"year": month["year"]}),
        "month": reverse("blog:archive-month", kwargs=month),
        "search": reverse("blog:search") + "?q=database",
        "page": Page.objects.get(slug="about").get_absolute_url(),
    }


OTHER_PUBLIC_PATHS = {
    "rss": "/feed/",
    "atom": "/feed/atom/",
    "json feed": "/feed.json",
    "section feed": "/bytes/feed/",
    "sitemap": "/sitemap.xml",
    "robots": "/robots.txt",
}


def test_every_reader_page_carries_every_header(site, client):
    for name, path in reader_paths().items():
        response = client.get(path)
        assert response.status_code == 200, (name, path)
        assert_fenced(response, label=name)


def test_feeds_sitemap_and_robots_carry_every_header(site, client):
    for name, path in OTHER_PUBLIC_PATHS.items():
        response = client.get(path)
        assert response.status_code == 200, (name, path)
        assert_fenced(response, label=name)


def test_not_found_carries_every_header(site, client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert_fenced(response)


def test_a_csrf_failure_page_carries_every_header_and_needs_no_inline_style(db):
    response = Client(enforce_csrf_checks=True).post(
        reverse("admin:login"), {"username": "a", "password": "b"}
    )
    assert response.status_code == 403
    assert_fenced(response)
    document = lxml_html.fromstring(response.content)
    assert document.xpath("//style | //*[@style]") == []
    assert document.xpath("//link[@rel='stylesheet']/@href") == ["/static/css/site.css"]


def test_reader_pages_allow_only_this_origin_and_nothing_inline(site, client):
    """No 'unsafe-inline', no 'unsafe-eval', no hash or nonce, no other host: the
    test settings keep media on the local disk, so 'self' covers images too."""
    for name, path in reader_paths().items():
        directives = policy(client.get(path))
        assert effective(directives, "script-src") == [SELF], name
        assert effective(directives, "style-src") == [SELF], name
        sources = {source for listed in directives.values() for source in listed}
        assert sources <= {SELF, NONE}, (name, sources)


def test_reader_pages_hold_no_inline_script_style_or_handler(site, client):
    """What the policy refuses must not be in the pages: every script is a file, except
    the JSON-LD data block, which browsers never execute (and which still parses)."""
    for name, path in reader_paths().items():
        document = lxml_html.fromstring(client.get(path).content)
        assert document.xpath("//style | //*[@style]") == [], name
        handlers = [a for e in document.iter() for a in e.attrib if a.lower().startswith("on")]
        assert handlers == [], (name, handlers)
        for script in document.xpath("//script"):
            if script.get("src"):
                assert urlsplit(script.get("src")).netloc == "", name
            else:
                assert script.get("type") == "application/ld+json", name
                assert json.loads(script.text)["@context"] == "https://schema.org"
    post = lxml_html.fromstring(client.get(reader_paths()["post"]).content)
    assert len(post.xpath("//script[@type='application/ld+json']")) == 1


def test_a_page_kept_by_the_page_cache_carries_every_header(site, client, settings):
    settings.BYTEPRESS_PAGE_CACHE = True
    first = client.get("/bytes/")
    kept = client.get("/bytes/")
    assert kept.content == first.content
    assert_fenced(kept)
    assert kept["Content-Security-Policy"] == first["Content-Security-Policy"]


def test_static_files_from_whitenoise_carry_every_header(db, client, settings):
    settings.WHITENOISE_USE_FINDERS = True  # read when the client's middleware is built
    response = client.get("/static/css/site.css")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/css")
    assert_fenced(response)


# --- the admin and the editor ------------------------------------------------------------


def test_admin_pages_carry_every_header(staff_client):
    paths = [
        reverse("admin:index"),
        reverse("admin:blog_post_changelist"),
        reverse("admin:blog_post_add"),
        reverse("admin:blog_image_add"),
    ]
    for path in paths:
        response = staff_client.get(path)
        assert response.status_code == 200, path
        assert_fenced(response, label=path)


def test_the_admin_has_the_readers_policy_with_nothing_inline(site, staff_client, client):
    """The admin, the editor and the preview need nothing more (blog/csp.py says why;
    tests/test_browser_csp.py proves it in Chromium)."""
    reader = client.get("/")["Content-Security-Policy"]
    for path in [reverse("admin:index"), reverse("admin:blog_post_add")]:
        assert staff_client.get(path)["Content-Security-Policy"] == reader, path


def test_the_admin_login_page_carries_every_header(db, client):
    response = client.get(reverse("admin:login"))
    assert response.status_code == 200
    assert_fenced(response)


def test_the_editor_preview_fragment_may_run_nothing_by_itself(staff_client):
    response = staff_client.post(reverse("markdownx_markdownify"), {"content": "# Hi *there*"})
    assert response.status_code == 200
    directives = policy(response)
    assert directives["default-src"] == [NONE]
    assert directives["sandbox"] == []
    assert set(directives) == set(PREVIEW_POLICY)
    assert response["X-Content-Type-Options"] == "nosniff"
    fragment = lxml_html.fragment_fromstring(response.content.decode(), create_parent="div")
    assert fragment.xpath("//style | //*[@style] | //script") == []


# --- media ------------------------------------------------------------------------------


def write_media(settings, name: str, content: bytes) -> str:
    path = Path(settings.MEDIA_ROOT) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return settings.MEDIA_URL + name


@pytest.mark.parametrize(
    ("name", "content_type", "disposition"),
    [
        ("images/photo.png", "image/png", 'inline; filename="photo.png"'),
        ("images/photo.WEBP", "image/webp", 'inline; filename="photo.WEBP"'),
        ("images/drawing.svg", "application/octet-stream", 'attachment; filename="drawing.svg"'),
        ("images/page.html", "application/octet-stream", 'attachment; filename="page.html"'),
        ("notes.txt", "application/octet-stream", 'attachment; filename="notes.txt"'),
    ],
)
def test_media_served_by_django_in_development_is_never_a_page(
    db, client, settings, name, content_type, disposition
):
    url = write_media(settings, name, b"<html><script>alert(1)</script></html>")
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == content_type
    assert response["Content-Disposition"] == disposition
    assert response["X-Content-Type-Options"] == "nosniff"
    assert_fenced(response)


def test_the_media_rule_shows_only_raster_images_in_place():
    for suffix, content_type in media.INLINE_MEDIA_TYPES.items():
        assert content_type.startswith("image/") and content_type != "image/svg+xml"
        headers = media.media_headers(f"images/a{suffix.upper()}")
        assert headers["Content-Disposition"].startswith("inline;"), suffix
    for name in ["a.svg", "a.html", "a.htm", "a.xml", "a", "a.png.html", "a.js"]:
        headers = media.media_headers(name)
        assert headers == {
            "Content-Type": "application/octet-stream",
            "Content-Disposition": f'attachment; filename="{name}"',
        }


def test_nginx_shows_only_raster_images_in_place_and_never_sniffs(deployed_nginx, tmp_path):  # noqa: F811
    folder = tmp_path / "media" / "images"
    names = [f"a{suffix}" for suffix in media.INLINE_MEDIA_TYPES] + ["b.JPG"]
    downloads = ["x.svg", "x.html", "x.txt", "x"]
    for name in names + downloads:
        (folder / name).write_bytes(b"<html><script>alert(1)</script></html>")
    for name in names:
        with fetch(deployed_nginx, f"/media/images/{name}") as response:
            assert response.headers["Content-Disposition"] == "inline", name
            assert response.headers["X-Content-Type-Options"] == "nosniff", name
    for name in downloads:
        with fetch(deployed_nginx, f"/media/images/{name}") as response:
            assert response.headers["Content-Disposition"] == "attachment", name
            assert response.headers["X-Content-Type-Options"] == "nosniff", name


def test_nginx_sends_nosniff_on_static_files(deployed_nginx):  # noqa: F811
    for path in ["/static/css/site.0123456789ab.css", "/static/favicon.txt"]:
        with fetch(deployed_nginx, path) as response:
            assert response.headers["X-Content-Type-Options"] == "nosniff", path


def test_the_nginx_site_states_the_media_headers_in_its_media_location():
    """The shipped file itself (the test above runs it with this machine's paths)."""
    site = (ROOT / "deploy" / "nginx-bytepress.conf").read_text()
    location = re.search(r"location /media/ \{(.*?)\n    \}", site, re.DOTALL).group(1)
    headers = dict(re.findall(r'add_header\s+(\S+)\s+("[^"]*"|[^\s;]+)', location))
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Content-Disposition"] == "$bytepress_media_disposition"
    mapping = re.search(r"map \$uri \$bytepress_media_disposition \{(.*?)\}", site, re.DOTALL)
    assert "default attachment;" in mapping.group(1)


# --- media on S3 ---------------------------------------------------------------------------


def test_the_bucket_stores_each_object_with_its_type_and_disposition(bucket):  # noqa: F811
    assert isinstance(storages["default"], MediaS3Storage)
    png = storages["default"].save("images/photo.png", ContentFile(image_bytes("PNG")))
    page = storages["default"].save("images/page.html", ContentFile(b"<script>alert(1)</script>"))
    head = bucket.head(png)
    assert head["ContentType"] == "image/png"
    assert head["ContentDisposition"] == f'inline; filename="{Path(png).name}"'
    assert head["CacheControl"] == media.CACHE_CONTROL
    head = bucket.head(page)
    assert head["ContentType"] == "application/octet-stream"
    assert head["ContentDisposition"] == f'attachment; filename="{Path(page).name}"'


def test_an_upload_through_the_library_lands_in_the_bucket_as_an_image(bucket, staff_client):  # noqa: F811
    upload = SimpleUploadedFile("photo.png", image_bytes("PNG"), content_type="text/html")
    response = staff_client.post(
        reverse("markdownx_upload"), {"image": upload}, HTTP_X_REQUESTED_WITH="XMLHttpRequest"
    )
    assert response.status_code == 200, response.content
    renditions = bucket.keys("renditions/")
    assert renditions
    for key in [Image.objects.get().file.name, *renditions]:
        head = bucket.head(key)
        assert head["ContentType"].startswith("image/"), key
        assert head["ContentDisposition"].startswith("inline; filename="), key


def csp_allows(url: str, sources: list[str]) -> bool:
    """Whether a CSP host source (scheme://host[:port][/path/]) matches this URL."""
    target = urlsplit(url)
    for source in sources:
        allowed = urlsplit(source)
        if (target.scheme, target.netloc) != (allowed.scheme, allowed.netloc):
            continue
        if not allowed.path or target.path.startswith(allowed.path):
            return True
    return False


@pytest.mark.parametrize(
    "env",
    [
        {"MEDIA_CDN_DOMAIN": "media.example.org"},
        {"MEDIA_CDN_DOMAIN": "http://127.0.0.1:9000"},
        {"AWS_S3_ENDPOINT_URL": "https://s3.example.com", "AWS_S3_ADDRESSING_STYLE": "path"},
        {"AWS_S3_ENDPOINT_URL": "https://s3.example.com", "AWS_S3_ADDRESSING_STYLE": "virtual"},
        {"AWS_S3_ENDPOINT_URL": "http://127.0.0.1:9000"},
        {"AWS_S3_REGION_NAME": "eu-west-1"},
        {"AWS_S3_REGION_NAME": "us-east-1", "AWS_S3_ADDRESSING_STYLE": "path"},
        {},
    ],
)
def test_images_from_the_bucket_are_allowed_and_no_other_bucket_is(env, monkeypatch):
    """The policy's image sources match the URLs that the storage writes into pages (no
    request is made: the URLs are built locally)."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", "ap-south-1")
    entry = media.s3_storage({"AWS_STORAGE_BUCKET_NAME": "blog-media", **KEYS, **env})
    sources = media.media_image_sources(entry)
    url = S3Storage(**entry["OPTIONS"]).url("images/2026/photo.png")
    assert csp_allows(url, sources), (url, sources)
    if "blog-media" in url:  # not behind a CDN: another bucket on that service is not
        other = url.replace("blog-media", "other-bucket")
        assert not csp_allows(other, sources), (other, sources)


def test_local_media_needs_no_image_source_but_self():
    assert media.media_image_sources(media.LOCAL_STORAGE) == []


def test_the_policy_allows_images_from_the_cdn_set_in_the_environment():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "AWS_", "MEDIA_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DJANGO_DEBUG="1",
        MEDIA_STORAGE="s3",
        AWS_STORAGE_BUCKET_NAME="blog-media",
        AWS_S3_REGION_NAME=REGION,
        MEDIA_CDN_DOMAIN="media.example.org",
        **KEYS,
    )
    script = (
        "import json; from django.conf import settings; "
        "print(json.dumps(settings.CONTENT_SECURITY_POLICY['DIRECTIVES']))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    directives = json.loads(result.stdout)
    assert directives["img-src"] == [SELF, "https://media.example.org"]
    assert directives["script-src"] == directives["style-src"] == [SELF]
