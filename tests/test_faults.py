"""Faults: the database out of reach, uploads that fail half-way, transactions that roll
back after storing files, and a renderer that crashes on one post during `rerender`.

The outage is tested twice: in-process (an error injected where the page cache and a
view query), and for real, with gunicorn in the production profile talking to
PostgreSQL through a TCP switch that the test turns off and on again. The real one is
skipped only when PostgreSQL is unreachable and CI is not "true".
"""

import contextlib
import io
import secrets
import socket
import threading
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import IntegrityError, InterfaceError, OperationalError, transaction
from django.test import Client
from django.urls import reverse
from lxml import html as lxml_html

from blog import faults, pagecache, renditions, services
from blog.images import StorageUnavailable
from blog.models import Image, Post, Rendition

from .conftest import image_bytes
from .test_deploy import free_port, gunicorn, manage, needs, production_env, wait_until_up

# --- telling an outage from a bad query -------------------------------------------------


def driver_error(error):
    """A Django database error raised from a driver's, as Django's wrapper raises it."""

    def wrapped(django_class):
        try:
            raise django_class(*error.args) from error
        except django_class as exc:
            return exc

    return wrapped


def test_connection_failures_mean_the_database_is_unavailable():
    psycopg = pytest.importorskip("psycopg")
    refused = psycopg.OperationalError("connection failed: Connection refused")
    assert faults.means_database_unavailable(driver_error(refused)(OperationalError))
    lost = psycopg.OperationalError("consuming input failed: server closed the connection")
    assert faults.means_database_unavailable(driver_error(lost)(OperationalError))
    shutting_down = psycopg.errors.AdminShutdown("terminating connection")
    assert faults.means_database_unavailable(driver_error(shutting_down)(OperationalError))
    assert faults.means_database_unavailable(InterfaceError("connection already closed"))
    assert faults.means_database_unavailable(OperationalError("unable to open database file"))


def test_a_failed_query_is_not_an_outage():
    psycopg = pytest.importorskip("psycopg")
    cancelled = psycopg.errors.QueryCanceled("canceling statement due to statement timeout")
    assert not faults.means_database_unavailable(driver_error(cancelled)(OperationalError))
    deadlock = psycopg.errors.DeadlockDetected("deadlock detected")
    assert not faults.means_database_unavailable(driver_error(deadlock)(OperationalError))
    assert not faults.means_database_unavailable(OperationalError("fts5: syntax error near '('"))
    assert not faults.means_database_unavailable(IntegrityError("duplicate key"))
    assert not faults.means_database_unavailable(ValueError("not a database error"))


# --- the 503 page, in-process -----------------------------------------------------------


def assert_unavailable_page(status, headers, body: bytes):
    """The styled 503: Retry-After, never kept by a cache, the site's stylesheet, and no
    trace of the error that caused it."""
    assert status == 503
    assert int(headers["Retry-After"]) > 0
    assert "no-store" in headers["Cache-Control"]
    page = lxml_html.fromstring(body.decode())
    assert page.findtext(".//h1").strip() == "Back in a moment"
    [stylesheet] = page.xpath("//link[@rel='stylesheet']/@href")
    assert "site" in stylesheet and stylesheet.endswith(".css")
    text = body.decode()
    for leak in ("Traceback", "OperationalError", "psycopg", "Connection refused", "Exception"):
        assert leak not in text


def lose_the_database(*args, **kwargs):
    raise OperationalError("unable to open database file")


def test_the_page_cache_losing_the_database_answers_503(client, make_post, monkeypatch, caplog):
    """The version row is read before any view: an outage there is a 503 too, and the
    log gets one line, not a traceback."""
    post = make_post()
    monkeypatch.setattr(pagecache, "_read_version", lose_the_database)
    reader = Client(raise_request_exception=False)
    for url in ("/", post.get_absolute_url(), "/feed/", reverse("blog:search") + "?q=post"):
        caplog.clear()
        response = reader.get(url)
        assert_unavailable_page(response.status_code, response.headers, response.content)
        [record] = [r for r in caplog.records if r.levelname in {"ERROR", "CRITICAL"}]
        assert record.name == "blog.faults" and not record.exc_info
        assert "Database unavailable" in record.getMessage() and url.split("?")[0] in (
            record.getMessage()
        )


def test_a_view_losing_the_database_answers_503(staff_client, make_post, monkeypatch, caplog):
    """With a session the page cache steps aside, and the view is first to query."""
    post = make_post()
    monkeypatch.setattr(Post.objects, "published", lose_the_database)
    response = staff_client.get(reverse("blog:home"))
    assert_unavailable_page(response.status_code, response.headers, response.content)
    assert [r.name for r in caplog.records if r.levelname == "ERROR"] == ["blog.faults"]
    monkeypatch.undo()
    assert staff_client.get(post.get_absolute_url()).status_code == 200


def test_other_errors_are_still_server_errors(client, monkeypatch):
    monkeypatch.setattr(pagecache, "_read_version", lambda: 1 / 0)
    response = Client(raise_request_exception=False).get("/")
    assert response.status_code == 500


def test_search_does_not_call_a_lost_database_a_bad_query(staff_client, make_post, monkeypatch):
    from blog import search

    make_post(title="Queues")
    monkeypatch.setattr(search, "_search_sqlite", lose_the_database)
    monkeypatch.setattr(search, "_search_postgres", lose_the_database)
    response = staff_client.get(reverse("blog:search") + "?q=queues")
    assert response.status_code == 503
    assert b"could not be understood" not in response.content


# --- the database out of reach, for real -----------------------------------------------


class DatabaseSwitch:
    """A TCP relay from a free local port to PostgreSQL that can be turned off (new
    connections are refused, and the ones it carries are cut, as when the server
    restarts) and on again, on the same port."""

    def __init__(self, target: tuple[str, int]):
        self.target = target
        self.port = free_port()
        self._listener = None
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()

    def on(self):
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        listener.settimeout(0.1)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def off(self):
        listener, self._listener = self._listener, None
        listener.close()
        with self._lock:
            cut, self._open = self._open, set()
        for sock in cut:
            self._close(sock)

    def _accept(self, listener):
        while self._listener is listener:
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                server = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            client.settimeout(None)
            server.settimeout(None)
            with self._lock:
                self._open |= {client, server}
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=self._relay, args=(source, sink), daemon=True).start()

    def _relay(self, source, sink):
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            self._close(source)
            self._close(sink)

    @staticmethod
    def _close(sock):
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)  # wakes the relay thread blocked in recv()
        sock.close()


def postgres_server() -> tuple[str, int, str]:
    """(host, port, admin URL) of the PostgreSQL that DATABASE_URL names, or the local one."""
    import os
    from urllib.parse import urlsplit

    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        url = "postgres://postgres@127.0.0.1:5432/postgres"
    parts = urlsplit(url)
    user = f"{parts.username}@" if parts.username else ""
    host = parts.hostname or "127.0.0.1"
    return host, parts.port or 5432, f"postgresql://{user}{host}:{parts.port or 5432}"


@pytest.fixture(scope="module")
def scratch_postgres():
    """A database ifaults_<random> on the real server, dropped at the end."""
    psycopg = pytest.importorskip("psycopg")
    host, port, server = postgres_server()
    try:
        admin = psycopg.connect(f"{server}/postgres", autocommit=True, connect_timeout=5)
    except psycopg.OperationalError:
        admin = None
    needs(admin is not None, f"PostgreSQL at {host}:{port}")
    name = f"ifaults_{secrets.token_hex(4)}"
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield host, port, server, name
    finally:
        with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


SEED = """
from datetime import timedelta
from django.utils import timezone
from django.contrib.auth import get_user_model
from blog.models import AuthorProfile, Post, Section
user = get_user_model().objects.create_user("writer")
author = AuthorProfile.objects.create(user=user, display_name="Writer")
section = Section.objects.create(name="Bytes", slug="bytes")
Post.objects.create(
    title="Queues in practice", slug="queues", section=section, author=author,
    body="A post about queues.", status="published",
    published_at=timezone.now() - timedelta(hours=1),
)
"""


def http_get(url, cookie=None):
    request = urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as answer:
        return answer.code, answer.headers, answer.read()


@pytest.fixture(scope="module")
def site_behind_a_switch(tmp_path_factory, scratch_postgres):
    """gunicorn (production profile, page cache on) whose database is behind the switch."""
    host, port, server, name = scratch_postgres
    switch = DatabaseSwitch((host, port))
    switch.on()
    tmp = tmp_path_factory.mktemp("faults")
    web_port = free_port()
    origin = f"http://127.0.0.1:{web_port}"
    user_part = server.split("//", 1)[1].split("@")[0] + "@" if "@" in server else ""
    env = production_env(
        tmp,
        DATABASE_URL=f"postgres://{user_part}127.0.0.1:{switch.port}/{name}",
        BYTEPRESS_PAGE_CACHE="1",
        SITE_URL=origin,
        DJANGO_ALLOWED_HOSTS="127.0.0.1",
        DJANGO_SECURE_SSL_REDIRECT="0",
        DJANGO_SECURE_COOKIES="0",
    )
    Path(env["MEDIA_ROOT"]).mkdir()
    manage(env, "migrate", "--noinput", "-v0")
    manage(env, "collectstatic", "--noinput", "-v0")
    manage(env, "shell", "-v0", "-c", SEED)
    log = tmp / "gunicorn.log"
    try:
        with gunicorn(env, web_port, log) as server_process:
            wait_until_up(origin + "/", server_process)
            yield {"origin": origin, "switch": switch, "log": log}
    finally:
        if switch._listener is not None:
            switch.off()


# Each page with the cookie it is asked with: the admin with a session to look up.
PAGES = [
    ("home", "/", None),
    ("post", "/bytes/queues/", None),
    ("feed", "/feed/", None),
    ("search", "/search/?q=queues", None),
    # A session cookie makes the login page look the session up.
    ("admin", reverse("admin:login"), "sessionid=not-a-real-session"),
]


def test_the_site_answers_503_while_the_database_is_down_and_recovers(site_behind_a_switch):
    site = site_behind_a_switch
    origin, switch = site["origin"], site["switch"]
    # Every worker first holds a persistent connection that works.
    for _ in range(4):
        for name, path, cookie in PAGES:
            status, _, _ = http_get(origin + path, cookie)
            assert status == 200, f"{name} before the outage: {status}"

    switch.off()
    try:
        for _ in range(3):  # two workers: each one's broken connection, then refusals
            for name, path, cookie in PAGES:
                status, headers, body = http_get(origin + path, cookie)
                assert status == 503, f"{name} while the database is down: {status}"
                assert_unavailable_page(status, headers, body)
    finally:
        switch.on()

    # Back without a restart: every page, on every worker, at the first try.
    for _ in range(4):
        for name, path, cookie in PAGES:
            status, _, body = http_get(origin + path, cookie)
            assert status == 200, f"{name} after the database came back: {status}"
    log = site["log"].read_text()
    assert "Traceback" not in log
    assert log.count("Database unavailable, answered 503") >= 3 * len(PAGES)


# --- uploads that fail half-way -------------------------------------------------------------


def upload(size=(2000, 1000)):
    return SimpleUploadedFile("photo.png", image_bytes("PNG", size=size))


def fail_on_call(monkeypatch, module, name, call_number, error):
    """Make ``module.name`` raise ``error`` on its ``call_number``-th call."""
    real = getattr(module, name)
    calls = []

    def failing(*args, **kwargs):
        calls.append(1)
        if len(calls) == call_number:
            raise error
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, failing)
    return calls


def test_a_rendition_that_fails_leaves_no_file_and_no_row(db, monkeypatch, media_files):
    """The original and three renditions are stored before the fourth fails."""
    calls = fail_on_call(monkeypatch, renditions, "_encode", 4, RuntimeError("encoder bug"))
    with pytest.raises(RuntimeError, match="encoder bug"):
        services.add_image(upload(), alt="A photo")
    assert len(calls) == 4
    assert media_files() == []
    assert not Image.objects.exists() and not Rendition.objects.exists()


def test_a_storage_failing_half_way_is_an_author_message_and_leaves_nothing(
    db, monkeypatch, media_files
):
    from django.core.files.storage import FileSystemStorage

    fail_on_call(monkeypatch, FileSystemStorage, "_save", 3, OSError("No space left on device"))
    with pytest.raises(StorageUnavailable, match="nothing was stored"):
        services.add_image(upload(), alt="A photo")
    assert media_files() == []
    assert not Image.objects.exists() and not Rendition.objects.exists()


def test_the_editor_upload_failing_half_way_answers_an_error_and_leaves_nothing(
    staff_client, monkeypatch, media_files
):
    from django.core.files.storage import FileSystemStorage

    fail_on_call(monkeypatch, FileSystemStorage, "_save", 2, OSError("disk gone"))
    response = staff_client.post(
        reverse("markdownx_upload"),
        {"image": upload()},
        headers={"X-Requested-With": "XMLHttpRequest"},
    )
    assert response.status_code == 400
    assert "media storage did not answer" in response.json()["error"]
    assert media_files() == []
    assert not Image.objects.exists()


def test_an_upload_that_works_keeps_every_file(db, media_files):
    image = services.add_image(upload(), alt="A photo")
    stored = {image.file.name, *image.renditions.values_list("file", flat=True)}
    assert set(media_files()) == stored and len(stored) > 5


@pytest.mark.django_db(transaction=True)
def test_files_of_a_transaction_rolled_back_later_are_deleted(monkeypatch, media_files):
    """The upload finished, but the transaction around it rolled back afterwards: its
    rows are gone, and its files go at the end of the request (here, by hand)."""

    class Later(Exception):
        pass

    with pytest.raises(Later), transaction.atomic():
        services.add_image(upload(), alt="A photo")
        assert len(media_files()) > 5
        raise Later
    assert not Image.objects.exists()
    faults.delete_files_of_rolled_back_transactions()
    assert media_files() == []


@pytest.mark.django_db(transaction=True)
def test_the_admin_rolling_back_after_the_renditions_deletes_their_files(
    staff_client, monkeypatch, media_files
):
    """The admin's own transaction rolls back after save_model (here its log entry
    fails): the original and the renditions it made are deleted by the end of the request."""
    from blog.admin import ImageAdmin

    def failing_log(*args, **kwargs):
        raise RuntimeError("the log entry could not be written")

    monkeypatch.setattr(ImageAdmin, "log_addition", failing_log)
    staff_client.raise_request_exception = False
    form = {
        "file": SimpleUploadedFile("harbour.png", image_bytes("PNG", size=(1000, 600))),
        "alt": "A harbour",
        "caption": "",
        "credit": "",
        "renditions-TOTAL_FORMS": "0",
        "renditions-INITIAL_FORMS": "0",
        "renditions-MIN_NUM_FORMS": "0",
        "renditions-MAX_NUM_FORMS": "0",
    }
    response = staff_client.post(reverse("admin:blog_image_add"), form)
    assert response.status_code == 500
    assert not Image.objects.exists() and not Rendition.objects.exists()
    assert media_files() == []


@pytest.mark.django_db(transaction=True)
def test_a_commit_whose_hooks_did_not_run_never_costs_a_live_file(media_files):
    """An earlier commit hook that raises stops the later ones (ours among them): the
    clean-up then finds rows pointing at the files, and keeps them."""

    def broken_hook():
        raise RuntimeError("someone else's hook")

    with pytest.raises(RuntimeError, match="someone else's hook"), transaction.atomic():
        transaction.on_commit(broken_hook)
        image = services.add_image(upload(), alt="A photo")
    faults.delete_files_of_rolled_back_transactions()
    stored = {image.file.name, *image.renditions.values_list("file", flat=True)}
    assert set(media_files()) == stored and len(stored) > 5


def test_renditions_lost_to_a_concurrent_build_leave_no_files(db, monkeypatch, media_files):
    """Two builds of one image race: the rows of the other won, and this build's files,
    which no row will point at, are deleted."""
    image = services.add_image(upload(size=(1000, 600)), alt="A photo")
    before = set(media_files())
    winners = list(image.renditions.all())
    image.renditions.all()._raw_delete(image.renditions.all().db)  # keep their files
    real = renditions._make_missing

    def racing(target):
        made = real(target)
        for rendition in winners:
            rendition.pk = None
        Rendition.objects.bulk_create(winners)  # the other build's rows, first
        return made

    monkeypatch.setattr(renditions, "_make_missing", racing)
    assert renditions.ensure_renditions(image) == []
    assert set(media_files()) == before
    assert set(image.renditions.values_list("file", flat=True)) == {r.file.name for r in winners}


# --- rerender: a crash on one post ------------------------------------------------------


def test_rerender_reports_a_post_it_cannot_render_and_does_the_rest(make_post, monkeypatch):
    good = [make_post(), make_post()]
    bad = make_post(slug="the-broken-one")
    Post.objects.update(body_html="stale")
    real_render = Post.render

    def render(self):
        if self.slug == "the-broken-one":
            raise ValueError("the renderer tripped\non two lines")
        real_render(self)

    monkeypatch.setattr(Post, "render", render)
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError, match="1 object"):
        call_command("rerender", stdout=out, stderr=err)
    assert f"post {bad.pk} (the-broken-one): ValueError: the renderer tripped" in err.getvalue()
    assert "on two lines" not in err.getvalue(), "one line per failure"
    assert "1 failed" in out.getvalue()
    assert "2 posts" in out.getvalue()
    for post in good:
        post.refresh_from_db()
        assert post.body_html != "stale"
    bad.refresh_from_db()
    assert bad.body_html == "stale", "a post that failed keeps its stored HTML"


def test_rerender_all_counts_failures_and_keeps_progress(make_post, monkeypatch):
    make_post()
    make_post(slug="broken")
    labels = []

    def progress(items, *, total=None, label):
        labels.append(label)
        return items

    def render(self):
        raise RuntimeError("boom")

    monkeypatch.setattr(Post, "render", render)
    result = services.rerender_all(progress=progress)
    assert result.counts["posts"] == 0
    assert len(result.failures) == 2 and {f.kind for f in result.failures} == {"post"}
    assert "broken" in {f.slug for f in result.failures}
    assert "Re-rendering posts" in labels


def test_a_database_error_in_one_render_leaves_the_rest_working(make_post, monkeypatch):
    """A savepoint around each render: on PostgreSQL a failed statement would otherwise
    abort the whole batch's transaction."""
    from django.db import connection

    make_post(slug="queries-badly")
    fine = make_post()
    Post.objects.update(body_html="stale")
    real_render = Post.render

    def render(self):
        if self.slug == "queries-badly":
            with connection.cursor() as cursor:
                cursor.execute("SELECT * FROM no_such_table_here")
        real_render(self)

    monkeypatch.setattr(Post, "render", render)
    result = services.rerender_all()
    assert [f.slug for f in result.failures] == ["queries-badly"]
    fine.refresh_from_db()
    assert fine.body_html != "stale"
