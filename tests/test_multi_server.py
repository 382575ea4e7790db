"""Several app servers behind a load balancer, on real components.

nginx takes turns between two gunicorn instances (config/gunicorn.py, debug off, the
page cache on) that share a scratch PostgreSQL database, Redis and a media folder that
nginx serves. What one instance writes, the other shows on its very next request: a
post published, edited and unpublished through A's admin; a session made by logging in
on one; an image uploaded through one.

Skipped when nginx, PostgreSQL or Redis is missing, except with CI=true, where that
fails the run instead.
"""

import http.cookiejar
import io
import json
import os
import secrets
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from lxml import etree
from lxml import html as lxml_html
from PIL import Image

from .test_deploy import (
    NGINX,
    ROOT,
    free_port,
    gunicorn,
    manage,
    needs,
    nginx_main_config,
    production_env,
    start_nginx,
    wait_until_up,
)

PG_SERVER = "postgres://postgres@127.0.0.1:5432"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/13"
USERNAME, PASSWORD = "editor", secrets.token_urlsafe(16)


# --- the shared services --------------------------------------------------------------


def postgres_server() -> str:
    """The PostgreSQL server of DATABASE_URL when it names one, else the local one."""
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql://")):
        parts = urlsplit(url)
        return f"{parts.scheme}://{parts.netloc}"
    return PG_SERVER


def admin_connection(server: str):
    import psycopg

    return psycopg.connect(f"{server}/postgres", autocommit=True, connect_timeout=5)


@pytest.fixture(scope="module")
def scratch_database():
    """A new database on the real server, dropped at the end whatever happened."""
    import psycopg

    server = postgres_server()
    try:
        connection = admin_connection(server)
    except psycopg.OperationalError:
        connection = None
    needs(connection is not None, f"PostgreSQL at {server}")
    name = f"bytepress_multi_{secrets.token_hex(4)}"
    with connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{server}/{name}"
    finally:
        with admin_connection(server) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def shared_redis():
    import redis

    url = os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL
    client = redis.Redis.from_url(url, socket_connect_timeout=2)
    try:
        client.flushdb()
    except redis.RedisError:
        client = None
    needs(client is not None, f"Redis at {url}")
    yield url, client
    client.flushdb()


# --- the cluster ------------------------------------------------------------------------


def load_balancer_site(port: int, app_ports: list[int], media: Path) -> str:
    servers = "".join(f"server 127.0.0.1:{app};" for app in app_ports)
    return f"""
        upstream app {{ {servers} }}
        server {{
            listen 127.0.0.1:{port};
            client_max_body_size 12m;
            location /static/ {{ alias {ROOT / "staticfiles"}/; }}
            location /media/ {{
                alias {media}/;
                add_header X-Content-Type-Options nosniff;
            }}
            location / {{
                proxy_pass http://app;
                proxy_set_header Host $host;
                proxy_set_header X-Forwarded-Proto $scheme;
                proxy_set_header X-Forwarded-Host $host;
                proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
                # Which instance answered: the test checks that both take turns.
                add_header X-Upstream $upstream_addr always;
            }}
        }}
    """


SETUP = f"""
from django.contrib.auth import get_user_model
from blog.models import AuthorProfile, Section
user = get_user_model().objects.create_superuser({USERNAME!r}, "e@example.org", {PASSWORD!r})
AuthorProfile.objects.create(user=user, display_name="Editor")
Section.objects.create(name="Bytes", slug="bytes")
"""


@pytest.fixture(scope="module")
def nginx_binary():
    needs(Path(NGINX).is_file(), NGINX)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, nginx_binary, scratch_database, shared_redis):
    tmp = tmp_path_factory.mktemp("cluster")
    port, port_a, port_b = free_port(), free_port(), free_port()
    origin = f"http://127.0.0.1:{port}"
    env = production_env(
        tmp,
        DATABASE_URL=scratch_database,
        REDIS_URL=shared_redis[0],
        BYTEPRESS_PAGE_CACHE="1",
        SITE_URL=origin,
        DJANGO_ALLOWED_HOSTS="127.0.0.1",
        DJANGO_SECURE_SSL_REDIRECT="0",
        DJANGO_SECURE_COOKIES="0",
        DJANGO_SECURE_PROXY_SSL_HEADER="1",
        DJANGO_LOG_LEVEL="WARNING",
    )
    media = Path(env["MEDIA_ROOT"])
    media.mkdir()
    manage(env, "migrate", "--noinput", "-v0")
    manage(env, "collectstatic", "--noinput", "-v0")
    manage(env, "shell", "-v0", "-c", SETUP)
    site = load_balancer_site(port, [port_a, port_b], media)
    with (
        gunicorn(env, port_a, tmp / "a.log") as a,
        gunicorn(env, port_b, tmp / "b.log") as b,
        start_nginx(tmp, nginx_main_config(tmp, site)) as balancer,
    ):
        wait_until_up(f"http://127.0.0.1:{port_a}/", a)
        wait_until_up(f"http://127.0.0.1:{port_b}/", b)
        wait_until_up(origin + "/", balancer)
        yield {
            "a": f"http://127.0.0.1:{port_a}",
            "b": f"http://127.0.0.1:{port_b}",
            "nginx": origin,
            "media": media,
            "redis": shared_redis[1],
        }


# --- HTTP as a browser would do it -------------------------------------------------------


class NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args):
        return None


class Browser:
    """Cookies, forms and uploads over plain HTTP; redirects are answers, not followed."""

    def __init__(self):
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.cookies), NoRedirects
        )

    def request(self, url, data=None, headers=None):
        request = urllib.request.Request(url, data=data, headers=headers or {})
        try:
            with self.opener.open(request, timeout=30) as response:
                return response.status, response.headers, response.read()
        except urllib.error.HTTPError as answer:
            return answer.code, answer.headers, answer.read()

    def cookie(self, name) -> str:
        return next(c.value for c in self.cookies if c.name == name)

    def form(self, url, selector):
        status, _, body = self.request(url)
        assert status == 200, f"GET {url}: {status}"
        [form] = lxml_html.fromstring(body.decode()).cssselect(selector)
        return dict(form.form_values()), form

    def submit(self, url, values):
        return self.request(url, urllib.parse.urlencode(values).encode())

    def log_in(self, base):
        values, _ = self.form(f"{base}/admin/login/?next=/admin/", "form#login-form")
        values.update(username=USERNAME, password=PASSWORD)
        status, headers, _ = self.submit(f"{base}/admin/login/?next=/admin/", values)
        assert status == 302 and headers["Location"] == "/admin/", "the login was refused"

    def upload(self, url, field, filename, content, content_type):
        boundary = secrets.token_hex(16)
        body = (
            (
                f"--{boundary}\r\n"
                f'Content-Disposition: form-data; name="{field}"; filename="{filename}"\r\n'
                f"Content-Type: {content_type}\r\n\r\n"
            ).encode()
            + content
            + f"\r\n--{boundary}--\r\n".encode()
        )
        headers = {
            "Content-Type": f"multipart/form-data; boundary={boundary}",
            "X-CSRFToken": self.cookie("csrftoken"),
        }
        return self.request(url, body, headers)


def reader_get(url):
    """An anonymous reader's request: no cookies, so the page cache may answer."""
    return Browser().request(url)


def admin_index_status(base, session: str) -> int:
    status, _, body = reader_get_with_session(f"{base}/admin/", session)
    if status == 200:
        assert b"Site administration" in body
    return status


def reader_get_with_session(url, session):
    return Browser().request(url, headers={"Cookie": f"sessionid={session}"})


# --- what a reader sees -------------------------------------------------------------------


def links_on(base, path) -> set[str]:
    status, _, body = reader_get(base + path)
    assert status == 200, f"{base}{path}: {status}"
    return {a.get("href") for a in lxml_html.fromstring(body.decode()).iter("a")}


def feed_titles(base) -> list[str]:
    status, _, body = reader_get(base + "/feed/")
    assert status == 200
    return [item.findtext("title") for item in etree.fromstring(body).iter("item")]


def post_title(base, path) -> str | None:
    status, _, body = reader_get(base + path)
    if status == 404:
        return None
    assert status == 200, f"{base}{path}: {status}"
    return lxml_html.fromstring(body.decode()).findtext(".//h1").strip()


def page_cache_keys(cluster) -> list[bytes]:
    return [key for key in cluster["redis"].scan_iter("*") if b":page:" in key]


# --- the checks ----------------------------------------------------------------------------


def test_nginx_takes_turns_between_the_two_instances(cluster):
    answered = set()
    for _ in range(6):
        status, headers, _ = reader_get(cluster["nginx"] + "/")
        assert status == 200
        answered.add(headers["X-Upstream"])
    assert answered == {urlsplit(cluster["a"]).netloc, urlsplit(cluster["b"]).netloc}


def test_a_session_made_on_one_instance_works_on_the_other_and_through_nginx(cluster):
    browser = Browser()
    browser.log_in(cluster["a"])
    session = browser.cookie("sessionid")
    for base in (cluster["a"], cluster["b"], cluster["nginx"], cluster["nginx"]):
        assert admin_index_status(base, session) == 200, base
    assert admin_index_status(cluster["b"], "not-a-session") == 302
    # And the other way round: logged in through nginx, recognised by A and by B.
    other = Browser()
    other.log_in(cluster["nginx"])
    for base in (cluster["a"], cluster["b"]):
        assert admin_index_status(base, other.cookie("sessionid")) == 200, base


def test_a_post_changed_through_one_instance_shows_on_the_other_at_once(cluster):
    a, b = cluster["a"], cluster["b"]
    slug = "served-by-two"
    path = f"/bytes/{slug}/"
    # B keeps the pages before the post exists (in the shared page cache).
    for page in ("/", "/bytes/"):
        assert path not in links_on(b, page)
    assert feed_titles(b) == []
    assert page_cache_keys(cluster), "the page cache is not on: this test would prove nothing"

    editor = Browser()
    editor.log_in(a)
    values, _ = editor.form(f"{a}/admin/blog/post/add/", "form#post_form")
    values.update(title="Served by two", slug=slug, body="Written on *A*.", tags="")
    values["section"] = values["section"] or first_option(editor, a, "section")
    values["_publish"] = "Publish now"
    status, _, body = editor.submit(f"{a}/admin/blog/post/add/", values)
    assert status == 302, body.decode()[:2000]

    assert path in links_on(b, "/")
    assert path in links_on(b, "/bytes/")
    assert feed_titles(b) == ["Served by two"]
    assert post_title(b, path) == "Served by two"

    change = change_url(editor, a, slug)
    values, _ = editor.form(change, "form#post_form")
    values.update(title="Served by two, edited", _continue="Save and continue editing")
    assert editor.submit(change, values)[0] == 302
    assert feed_titles(b) == ["Served by two, edited"]
    assert post_title(b, path) == "Served by two, edited"
    assert post_title(cluster["nginx"], path) == "Served by two, edited"
    status, _, body = reader_get(b + "/")
    assert "Served by two, edited" in body.decode()

    values, _ = editor.form(change, "form#post_form")
    values["_unpublish"] = "Unpublish"
    assert editor.submit(change, values)[0] == 302
    assert path not in links_on(b, "/")
    assert path not in links_on(b, "/bytes/")
    assert feed_titles(b) == []
    assert post_title(b, path) is None


def first_option(browser, base, field) -> str:
    _, form = browser.form(f"{base}/admin/blog/post/add/", "form#post_form")
    return next(
        o.get("value") for o in form.cssselect(f"select[name={field}] option") if o.get("value")
    )


def change_url(browser, base, slug) -> str:
    """The post's change page, as A's change list links to it."""
    status, _, body = browser.request(f"{base}/admin/blog/post/?q={slug}")
    assert status == 200
    doc = lxml_html.fromstring(body.decode())
    [link] = doc.cssselect("#result_list tbody th a")
    return urllib.parse.urljoin(base, link.get("href"))


def png_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 40, 90)).save(out, "PNG")
    return out.getvalue()


def test_an_image_uploaded_through_one_instance_is_served_to_every_reader(cluster):
    a, b = cluster["a"], cluster["b"]
    editor = Browser()
    editor.log_in(a)
    editor.request(f"{a}/admin/blog/post/add/")  # the page that sets the CSRF cookie
    original = png_bytes()
    status, _, body = editor.upload(
        f"{a}/admin/markdownx/upload/", "image", "shared.png", original, "image/png"
    )
    assert status == 200, body
    code = json.loads(body)["image_code"]
    url = code[code.index("](") + 2 : -1]
    assert url.startswith("/media/images/") and url.endswith(".png")

    status, headers, served = reader_get(cluster["nginx"] + url)
    assert status == 200
    assert headers["X-Content-Type-Options"] == "nosniff"
    stored = (cluster["media"] / url.removeprefix("/media/")).read_bytes()
    assert served == stored
    # Stored without metadata, so compare what a reader sees: the same pixels.
    assert Image.open(io.BytesIO(served)).tobytes() == Image.open(io.BytesIO(original)).tobytes()

    # B knows the image from the shared database, and its renditions are served too.
    other = Browser()
    other.log_in(b)
    status, _, body = other.request(f"{b}/admin/blog/image/")
    assert status == 200
    thumbnails = [
        img.get("src") for img in lxml_html.fromstring(body.decode()).cssselect("#result_list img")
    ]
    assert thumbnails, "B's image library does not list the upload"
    for src in thumbnails:
        assert reader_get(cluster["nginx"] + src)[0] == 200, src
