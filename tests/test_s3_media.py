"""Media on S3-compatible storage (MEDIA_STORAGE=s3), against a real S3 API: moto's
standalone server, started here as a separate process on 127.0.0.1.

Every upload path (the admin's image library, the editor's upload), the renditions and
the social card, pages, feeds, build_renditions and deletions go through the bucket; a
bucket that cannot be reached gives the author a clear error and loses nothing.
"""

import io
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import boto3
import pytest
from django.core.files.storage import default_storage, storages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse
from lxml import etree
from lxml import html as lxml_html
from PIL import features
from storages.backends.s3 import S3Storage

from blog.images import storage_errors_for_author
from blog.models import Image, Post, Rendition
from config import media

from .conftest import image_bytes
from .test_admin import errors_by_field, post_form

ROOT = Path(__file__).resolve().parent.parent
MOTO_SERVER = Path(sys.executable).with_name("moto_server")
REGION = "us-east-1"
KEYS = {"AWS_ACCESS_KEY_ID": "bytepress-test", "AWS_SECRET_ACCESS_KEY": "bytepress-test-secret"}
UPLOAD = reverse("markdownx_upload")
XHR = {"HTTP_X_REQUESTED_WITH": "XMLHttpRequest"}
MODERN = (["avif"] if features.check("avif") else []) + ["webp"]
CONTENT_TYPES = {"avif": "image/avif", "webp": "image/webp", "jpeg": "image/jpeg"}


# --- settings: MEDIA_STORAGE and the bucket's variables ---------------------------------

PRINT_STORAGE = (
    "import json, django; from django.conf import settings; django.setup(); "
    "entry = settings.STORAGES['default']; options = entry.get('OPTIONS', {}); "
    "config = options.pop('client_config', None); "
    "print(json.dumps({'backend': entry['BACKEND'], 'options': options, "
    "'connect_timeout': getattr(config, 'connect_timeout', None), "
    "'read_timeout': getattr(config, 'read_timeout', None), "
    "'retries': getattr(config, 'retries', None)}))"
)


def load_settings(**env):
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "DATABASE_", "AWS_", "MEDIA_"))
    }
    clean.update({"DJANGO_SETTINGS_MODULE": "config.settings", "DJANGO_DEBUG": "1"}, **env)
    return subprocess.run(
        [sys.executable, "-c", PRINT_STORAGE],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("value", [None, "", "local", "LOCAL"])
def test_without_media_storage_s3_uploads_stay_on_the_local_disk(value):
    result = load_settings(**({} if value is None else {"MEDIA_STORAGE": value}))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["backend"] == "django.core.files.storage.FileSystemStorage"


def test_media_storage_s3_is_configured_from_the_environment():
    result = load_settings(
        MEDIA_STORAGE="s3",
        AWS_STORAGE_BUCKET_NAME="blog-media",
        AWS_S3_ENDPOINT_URL="https://s3.example.com/",
        AWS_S3_REGION_NAME="eu-central-1",
        MEDIA_CDN_DOMAIN="media.example.org",
        **KEYS,
    )
    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout)
    assert loaded["backend"] == "blog.media_storage.MediaS3Storage"
    assert loaded["options"] == {
        "bucket_name": "blog-media",
        "endpoint_url": "https://s3.example.com",
        "region_name": "eu-central-1",
        "access_key": "bytepress-test",
        "secret_key": "bytepress-test-secret",
        "custom_domain": "media.example.org",
        "url_protocol": "https:",
        "default_acl": None,
        "querystring_auth": False,
        "file_overwrite": False,
        "object_parameters": {"CacheControl": "public, max-age=31536000, immutable"},
    }
    # An outage must cost an upload seconds, not the SDK's default minutes.
    assert loaded["connect_timeout"] <= 5
    assert loaded["read_timeout"] <= 30
    assert loaded["retries"]["max_attempts"] <= 3


def test_keys_are_optional_when_the_machine_has_a_role():
    result = load_settings(MEDIA_STORAGE="s3", AWS_STORAGE_BUCKET_NAME="blog-media")
    assert result.returncode == 0, result.stderr
    options = json.loads(result.stdout)["options"]
    assert "access_key" not in options and options["endpoint_url"] is None


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"MEDIA_STORAGE": "bucket"}, "MEDIA_STORAGE must be local or s3, not 'bucket'."),
        ({"AWS_STORAGE_BUCKET_NAME": " "}, "MEDIA_STORAGE=s3 needs AWS_STORAGE_BUCKET_NAME"),
        (
            {"MEDIA_STORAGE": "s3", "AWS_STORAGE_BUCKET_NAME": "Blog Media"},
            "AWS_STORAGE_BUCKET_NAME 'Blog Media' is not a bucket name",
        ),
        (
            {"AWS_S3_ENDPOINT_URL": "s3.example.com"},
            "AWS_S3_ENDPOINT_URL must be an origin such as https://s3.example.com, "
            "not 's3.example.com'.",
        ),
        ({"AWS_S3_ENDPOINT_URL": "http://127.0.0.1:port"}, "AWS_S3_ENDPOINT_URL must be"),
        ({"AWS_S3_ENDPOINT_URL": "https://s3.example.com/bucket?x=1"}, "AWS_S3_ENDPOINT_URL"),
        ({"AWS_ACCESS_KEY_ID": "AKIA1"}, "AWS_SECRET_ACCESS_KEY is not set: give both"),
        ({"AWS_SECRET_ACCESS_KEY": "secret"}, "AWS_ACCESS_KEY_ID is not set: give both"),
        ({"AWS_S3_REGION_NAME": "EU West"}, "AWS_S3_REGION_NAME must look like eu-west-1"),
        ({"AWS_S3_ADDRESSING_STYLE": "dns"}, "AWS_S3_ADDRESSING_STYLE must be auto, path"),
        ({"MEDIA_CDN_DOMAIN": "ftp://cdn.example.org"}, "MEDIA_CDN_DOMAIN must be a host name"),
        ({"MEDIA_CDN_DOMAIN": "cdn.example.org?x"}, "MEDIA_CDN_DOMAIN must be a host name"),
    ],
)
def test_a_bad_media_setting_stops_the_start_with_one_line(env, message):
    base = {"MEDIA_STORAGE": "s3", "AWS_STORAGE_BUCKET_NAME": "blog-media"}
    result = load_settings(**{**base, **env})
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 1
    assert len(lines) == 1, result.stderr  # no traceback
    assert lines[0].startswith("Bytepress configuration error: ")
    assert message in lines[0]


# --- a real S3 API: moto's server in its own process ------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_answering(url: str, process: subprocess.Popen, log: Path, timeout: float = 30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"moto_server exited ({process.returncode}): {log.read_text()}")
        try:
            urllib.request.urlopen(url, timeout=1).close()
            return
        except urllib.error.HTTPError:
            return  # any HTTP answer means it is up
        except OSError:
            time.sleep(0.1)
    pytest.fail(f"moto_server did not answer on {url} within {timeout} s: {log.read_text()}")


@pytest.fixture(scope="module")
def s3_endpoint(tmp_path_factory):
    """The URL of a real S3 API on 127.0.0.1, stopped after this module's tests."""
    port = free_port()
    log = tmp_path_factory.mktemp("moto") / "moto_server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(MOTO_SERVER), "-H", "127.0.0.1", "-p", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        wait_until_answering(endpoint, process, log)
        yield endpoint
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def s3_client(endpoint):
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=KEYS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=KEYS["AWS_SECRET_ACCESS_KEY"],
    )


def use_s3(settings, **env):
    """Make the default storage what config.media builds from these variables."""
    entry = media.s3_storage(
        {"AWS_S3_REGION_NAME": REGION, "AWS_S3_ADDRESSING_STYLE": "path", **KEYS, **env}
    )
    settings.STORAGES = {**settings.STORAGES, "default": entry}
    # Django's setting_changed handler dropped the storage it had made: the next use
    # builds this one (Image.file and Rendition.file follow the lazy default_storage).
    assert isinstance(storages["default"], S3Storage)
    assert default_storage.bucket_name == entry["OPTIONS"]["bucket_name"]


class Bucket:
    def __init__(self, endpoint, name):
        self.endpoint, self.name, self.client = endpoint, name, s3_client(endpoint)

    @property
    def url(self):
        return f"{self.endpoint}/{self.name}/"

    def keys(self, prefix=""):
        listing = self.client.list_objects_v2(Bucket=self.name, Prefix=prefix)
        return sorted(item["Key"] for item in listing.get("Contents", []))

    def head(self, key):
        return self.client.head_object(Bucket=self.name, Key=key)


@pytest.fixture
def bucket(s3_endpoint, settings, db):
    """An empty bucket whose objects anyone may read (as a blog's media bucket is), made
    the default storage for the test."""
    found = Bucket(s3_endpoint, f"bytepress-{uuid.uuid4().hex[:12]}")
    found.client.create_bucket(Bucket=found.name)
    public_read = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{found.name}/*",
            }
        ],
    }
    found.client.put_bucket_policy(Bucket=found.name, Policy=json.dumps(public_read))
    use_s3(settings, AWS_STORAGE_BUCKET_NAME=found.name, AWS_S3_ENDPOINT_URL=s3_endpoint)
    return found


def admin_add_image(client, data, *, name="harbour.jpg", alt="A harbour at dusk"):
    form = {
        "file": SimpleUploadedFile(name, data, content_type="image/jpeg"),
        "alt": alt,
        "caption": "",
        "credit": "",
        "renditions-TOTAL_FORMS": "0",
        "renditions-INITIAL_FORMS": "0",
        "renditions-MIN_NUM_FORMS": "0",
        "renditions-MAX_NUM_FORMS": "0",
    }
    return client.post(reverse("admin:blog_image_add"), form)


def editor_upload(client, data, name="chart.png"):
    upload = SimpleUploadedFile(name, data, content_type="image/png")
    return client.post(UPLOAD, {"image": upload}, **XHR)


def fetch(url):
    """GET a URL as a reader's browser would (no credentials): (status, headers, body)."""
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, response.headers, response.read()


def image_keys(image):
    return {image.file.name, *image.renditions.values_list("file", flat=True)}


# --- uploads ---------------------------------------------------------------------------


def test_admin_upload_stores_the_original_and_its_renditions_in_the_bucket(staff_client, bucket):
    data = image_bytes("JPEG", size=(2000, 1000))
    response = admin_add_image(staff_client, data)
    assert response.status_code == 302, errors_by_field(response)
    image = Image.objects.get()
    assert image.file.name.startswith("images/") and image.file.name.endswith(".jpg")
    assert (image.width, image.height) == (2000, 1000)
    assert image.file_size == bucket.head(image.file.name)["ContentLength"]
    assert set(bucket.keys()) == image_keys(image), "nothing is left out or extra"

    original = bucket.head(image.file.name)
    assert original["ContentType"] == "image/jpeg"
    assert original["CacheControl"] == "public, max-age=31536000, immutable"
    for rendition in image.renditions.all():
        stored = bucket.head(rendition.file.name)
        assert stored["ContentType"] == CONTENT_TYPES[rendition.format], rendition
        assert stored["ContentLength"] == rendition.size
        assert "immutable" in stored["CacheControl"]
    for fmt in [*MODERN, "jpeg"]:
        widths = image.renditions.filter(kind="width", format=fmt).values_list("width", flat=True)
        assert sorted(widths) == [480, 960, 1600], fmt
    card = image.renditions.get(kind=Rendition.Kind.SOCIAL)
    assert (card.width, card.height) == (1200, 630)
    assert bucket.head(card.file.name)["ContentType"] == "image/jpeg"


def test_the_editor_upload_stores_in_the_bucket_and_inserts_its_public_url(staff_client, bucket):
    response = editor_upload(staff_client, image_bytes("PNG", size=(900, 500)))
    assert response.status_code == 200, response.content
    image = Image.objects.get()
    url = image.file.url
    assert response.json()["image_code"].endswith(f"]({url})")
    assert url == f"{bucket.url}{image.file.name}", "a plain URL: no signature, cacheable"
    assert set(bucket.keys()) == image_keys(image)
    assert bucket.head(image.file.name)["ContentType"] == "image/png"
    status, headers, body = fetch(url)
    assert status == 200 and headers["Content-Type"] == "image/png"
    assert len(body) == image.file_size


def test_two_uploads_with_the_same_name_never_overwrite_each_other(staff_client, bucket):
    for colour in ("first", "second"):
        response = admin_add_image(staff_client, image_bytes("JPEG", size=(700, 400)), alt=colour)
        assert response.status_code == 302
    first, second = Image.objects.order_by("pk")
    assert first.file.name != second.file.name
    assert {first.file.name, second.file.name} <= set(bucket.keys("images/"))


# --- pages and feeds --------------------------------------------------------------------


@pytest.fixture
def post_on_s3(staff_client, bucket, make_post):
    assert admin_add_image(staff_client, image_bytes("JPEG", size=(1600, 900))).status_code == 302
    cover = Image.objects.get()
    inline_code = editor_upload(staff_client, image_bytes("PNG", size=(1000, 500))).json()
    inline = Image.objects.exclude(pk=cover.pk).get()
    inline.alt = "A chart of uploads"
    inline.save()
    body = f"Intro.\n\n{inline_code['image_code']}\n\nMore."
    return make_post(title="On S3", body=body, cover=cover), cover, inline


def srcset_urls(element):
    return [part.strip().split(" ")[0] for part in element.get("srcset", "").split(",")]


def test_pages_show_pictures_from_the_bucket(client, post_on_s3, bucket):
    post, cover, _ = post_on_s3
    page = lxml_html.fromstring(client.get(post.get_absolute_url()).content)
    pictures = page.cssselect("picture")
    stored = set(bucket.keys())
    assert len(pictures) == 2, "the cover and the body image"
    for picture in pictures:
        urls = [url for source in picture.cssselect("source") for url in srcset_urls(source)]
        [img] = picture.cssselect("img")
        urls += [img.get("src"), *srcset_urls(img)]
        assert urls and all(url.startswith(bucket.url) for url in urls), urls
        for url in urls:
            key = url.removeprefix(bucket.url)
            assert key in stored, url
    cover_img = page.cssselect("figure.post__cover picture img")[0]
    assert (cover_img.get("width"), cover_img.get("height")) == ("1600", "900")
    body_img = page.cssselect("picture img")[1]
    assert body_img.get("alt") == "A chart of uploads"
    [og_image] = page.xpath("//meta[@property='og:image']/@content")
    card = cover.renditions.get(kind=Rendition.Kind.SOCIAL)
    assert og_image == f"{bucket.url}{card.file.name}"
    status, headers, _ = fetch(og_image)
    assert status == 200 and headers["Content-Type"] == "image/jpeg"


def test_the_feed_enclosure_is_the_cover_in_the_bucket_with_its_length(client, post_on_s3, bucket):
    _, cover, _ = post_on_s3
    feed = etree.fromstring(client.get("/feed/").content)
    [enclosure] = feed.findall("channel/item/enclosure")
    assert enclosure.get("url") == f"{bucket.url}{cover.file.name}"
    assert int(enclosure.get("length")) == bucket.head(cover.file.name)["ContentLength"]
    assert enclosure.get("type") == "image/jpeg"
    _, _, body = fetch(enclosure.get("url"))
    assert len(body) == int(enclosure.get("length"))


def test_a_cdn_domain_replaces_the_bucket_in_every_url(
    staff_client, client, bucket, settings, make_post
):
    use_s3(
        settings,
        AWS_STORAGE_BUCKET_NAME=bucket.name,
        AWS_S3_ENDPOINT_URL=bucket.endpoint,
        MEDIA_CDN_DOMAIN="media.example.test",
    )
    code = editor_upload(staff_client, image_bytes("PNG", size=(1000, 500))).json()["image_code"]
    image = Image.objects.get()
    assert code.endswith(f"](https://media.example.test/{image.file.name})")
    assert image.file.name in set(bucket.keys()), "files still go to the bucket"
    image.alt = "A chart"
    image.save()
    post = make_post(body=f"{code}\n", cover=image)
    page = lxml_html.fromstring(client.get(post.get_absolute_url()).content)
    assert len(page.cssselect("picture")) == 2, "the body image is still known as a library image"
    urls = [
        url
        for element in page.cssselect("picture source, picture img")
        for url in [element.get("src"), *srcset_urls(element)]
        if url
    ]
    assert urls and all(url.startswith("https://media.example.test/") for url in urls), urls
    [og_image] = page.xpath("//meta[@property='og:image']/@content")
    assert og_image.startswith("https://media.example.test/renditions/")
    feed = etree.fromstring(client.get("/feed/").content)
    enclosure = feed.find("channel/item/enclosure")
    assert enclosure.get("url") == f"https://media.example.test/{image.file.name}"


# --- maintenance and deletion -----------------------------------------------------------


def test_build_renditions_makes_again_what_the_bucket_lost(staff_client, bucket):
    assert admin_add_image(staff_client, image_bytes("JPEG", size=(1000, 800))).status_code == 302
    image = Image.objects.get()
    lost = image.renditions.get(kind="width", format="webp", width=960)
    bucket.client.delete_object(Bucket=bucket.name, Key=lost.file.name)
    call_command("build_renditions", stdout=io.StringIO())
    remade = image.renditions.get(kind="width", format="webp", width=960)
    assert remade.file.name in set(bucket.keys())
    assert set(bucket.keys()) == image_keys(image)


def test_replacing_an_unused_file_in_the_admin_replaces_its_objects(staff_client, bucket):
    assert admin_add_image(staff_client, image_bytes("JPEG", size=(1000, 800))).status_code == 302
    image = Image.objects.get()
    old_keys = image_keys(image)
    form = {
        "file": SimpleUploadedFile("wider.png", image_bytes("PNG", size=(1200, 500))),
        "alt": "A wider picture",
        "caption": "",
        "credit": "",
        "renditions-TOTAL_FORMS": "0",
        "renditions-INITIAL_FORMS": "0",
        "renditions-MIN_NUM_FORMS": "0",
        "renditions-MAX_NUM_FORMS": "0",
    }
    response = staff_client.post(reverse("admin:blog_image_change", args=[image.pk]), form)
    assert response.status_code == 302, errors_by_field(response)
    image.refresh_from_db()
    assert image.file.name.endswith(".png") and (image.width, image.height) == (1200, 500)
    assert image.file_size == bucket.head(image.file.name)["ContentLength"], "the new size"
    assert set(bucket.keys()) == image_keys(image)
    assert not old_keys & set(bucket.keys()), "the old original and renditions are gone"


def test_deleting_an_image_in_the_admin_deletes_its_objects(staff_client, bucket):
    assert admin_add_image(staff_client, image_bytes("JPEG", size=(1000, 800))).status_code == 302
    keep = editor_upload(staff_client, image_bytes("PNG", size=(600, 300)))
    assert keep.status_code == 200
    image, other = Image.objects.order_by("pk")
    assert image_keys(image) <= set(bucket.keys())
    url = reverse("admin:blog_image_delete", args=[image.pk])
    assert staff_client.post(url, {"post": "yes"}).status_code == 302
    assert set(bucket.keys()) == image_keys(other), "only the other image's objects remain"


# --- a bucket out of reach --------------------------------------------------------------


@pytest.fixture
def unreachable_bucket(settings, db):
    """The storage points at a port where nothing listens (a bucket that is down)."""
    use_s3(
        settings,
        AWS_STORAGE_BUCKET_NAME="bytepress-down",
        AWS_S3_ENDPOINT_URL=f"http://127.0.0.1:{free_port()}",
    )


def timed(call):
    started = time.monotonic()
    result = call()
    return result, time.monotonic() - started


def test_an_admin_upload_to_an_unreachable_bucket_is_a_form_error(staff_client, unreachable_bucket):
    response, seconds = timed(
        lambda: admin_add_image(staff_client, image_bytes("JPEG", size=(800, 600)))
    )
    assert response.status_code == 200, "the form again, not a server error"
    [message] = errors_by_field(response)["file"]
    assert "media storage did not answer" in message
    assert "nothing was stored" in message
    page = lxml_html.fromstring(response.content)
    assert page.cssselect("input[name=alt]")[0].get("value") == "A harbour at dusk", "kept"
    assert not Image.objects.exists()
    assert seconds < 15, "short timeouts: an outage does not hang the request"


def test_an_editor_upload_to_an_unreachable_bucket_answers_a_json_error(
    staff_client, unreachable_bucket
):
    response, seconds = timed(
        lambda: editor_upload(staff_client, image_bytes("PNG", size=(400, 300)))
    )
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert "media storage did not answer" in response.json()["error"]
    assert not Image.objects.exists()
    assert seconds < 15


def test_a_post_is_saved_while_the_bucket_is_down(
    staff_client, unreachable_bucket, section, author
):
    """The post itself never needs the bucket: its text is saved whatever the storage."""
    body = "A long draft written while the bucket was down."
    response = staff_client.post(
        reverse("admin:blog_post_add"), post_form(section, author, body=body)
    )
    assert response.status_code == 302, errors_by_field(response)
    assert Post.objects.get().body == body


def test_a_logo_upload_to_an_unreachable_bucket_keeps_the_other_settings(
    staff_client, unreachable_bucket, author
):
    from blog.models import SiteSettings

    site = SiteSettings.load()
    logo = SimpleUploadedFile("logo.png", image_bytes("PNG"), content_type="image/png")
    data = {
        "title": "Renamed blog",
        "tagline": "Notes",
        "logo": logo,
        "logo_alt": "The blog's logo",
        "owner": author.pk,
        "posts_per_page": "12",
        "feed_length": "20",
    }
    url = reverse("admin:blog_sitesettings_change", args=[site.pk])
    response = staff_client.post(url, data)
    assert response.status_code == 200
    assert "media storage did not answer" in " ".join(errors_by_field(response)["logo"])
    page = lxml_html.fromstring(response.content)
    assert page.cssselect("input[name=title]")[0].get("value") == "Renamed blog"


def test_storage_errors_become_a_message_for_the_author():
    """The SDK's own errors, which are not OSErrors, are recognised as well."""
    from botocore.exceptions import EndpointConnectionError

    from blog.images import StorageUnavailable

    with pytest.raises(StorageUnavailable) as caught, storage_errors_for_author():
        raise EndpointConnectionError(endpoint_url="http://127.0.0.1:1")
    assert "Please try again" in str(caught.value)
