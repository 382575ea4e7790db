"""Edits reach every gunicorn worker on their next request, without Redis.

Each worker keeps its own copy of the site chrome; a token in the database tells it when
that copy is stale. This runs the real thing: gunicorn with three worker processes on a
scratch SQLite database, and an edit made by a separate ``manage.py`` process.
"""

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.conf import settings

ROOT = settings.BASE_DIR
REQUESTS = 60


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(params=["no-redis", "redis"])
def scratch_env(request, tmp_path):
    """The workers' environment: the page cache on, in each worker's memory, or in the
    real Redis they share (CI sets REDIS_URL)."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "DATABASE_", "REDIS_"))
    }
    env.update(
        DJANGO_DEBUG="1",
        DJANGO_SETTINGS_MODULE="config.settings",
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        MEDIA_ROOT=str(tmp_path / "media"),
        BYTEPRESS_PAGE_CACHE="1",
    )
    if request.param == "redis":
        if not os.environ.get("REDIS_URL"):
            pytest.skip("set REDIS_URL to test against a Redis server")
        env["REDIS_URL"] = os.environ["REDIS_URL"]
        subprocess.run(["redis-cli", "-u", env["REDIS_URL"], "flushdb"], check=False)
    return env


def manage(env, *args):
    subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, capture_output=True
    )


def shell(env, code):
    manage(env, "shell", "-c", code)


@pytest.fixture
def workers(scratch_env):
    manage(scratch_env, "migrate", "--noinput")
    shell(
        scratch_env,
        "from blog.models import *\n"
        "s = SiteSettings.load(); s.title = 'Before the edit'; s.save()\n"
        "Section.objects.create(name='Bytes', slug='bytes')",
    )
    port = free_port()
    access_log = Path(scratch_env["MEDIA_ROOT"]).parent / "access.log"
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi", "--workers", "3",
         "--bind", f"127.0.0.1:{port}", "--log-level", "warning",
         # Each request's worker pid, to show that every worker answered.
         "--access-logfile", str(access_log), "--access-logformat", "%(p)s"],
        cwd=ROOT, env=scratch_env,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(base + "/", timeout=5).read()
            break
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                pytest.fail("gunicorn did not start")
            time.sleep(0.2)
    # Every worker boots on its own: wait until all three have answered something.
    while len(set(access_log.read_text().splitlines())) < 3:
        if time.monotonic() > deadline:
            server.kill()
            pytest.fail("not every gunicorn worker started")
        titles(base)  # a burst over new connections, six at a time
    yield base, scratch_env, access_log
    server.terminate()
    server.wait(timeout=10)


def titles(base) -> list[str]:
    """The <title> of the home page, fetched REQUESTS times over new connections, six at
    a time, so that every worker answers some."""

    def fetch(_):
        with urllib.request.urlopen(base + "/", timeout=10) as response:
            return re.search(r"<title>(.*?)</title>", response.read().decode()).group(1)

    with ThreadPoolExecutor(6) as pool:
        return list(pool.map(fetch, range(REQUESTS)))


def workers_that_answered(access_log, since: int) -> set[str]:
    return set(access_log.read_text().splitlines()[since:])


def test_an_edit_shows_in_every_worker_on_the_next_request(workers):
    base, env, access_log = workers
    seen = len(access_log.read_text().splitlines())
    assert set(titles(base)) == {"Before the edit"}
    assert len(workers_that_answered(access_log, seen)) == 3, "every worker holds the chrome"
    seen = len(access_log.read_text().splitlines())
    shell(env, "from blog.models import *\ns = SiteSettings.load(); s.title = 'After'; s.save()")
    assert set(titles(base)) == {"After"}
    assert len(workers_that_answered(access_log, seen)) == 3
    shell(env, "from blog.models import *\nSection.objects.filter(slug='bytes').delete()")

    def nav(_):
        with urllib.request.urlopen(base + "/", timeout=10) as response:
            return 'href="/bytes/"' in response.read().decode()

    with ThreadPoolExecutor(6) as pool:
        assert not any(pool.map(nav, range(REQUESTS))), "a removed section stays in the nav"


def test_a_publish_shows_in_every_worker_on_the_next_request(workers):
    base, env, access_log = workers
    shell(
        env,
        "from blog.models import *\n"
        "from django.contrib.auth import get_user_model\n"
        "u = get_user_model().objects.create(username='w')\n"
        "a = AuthorProfile.objects.create(user=u, display_name='W')\n"
        "Post.objects.create(title='Draft first', slug='d', section=Section.objects.get(),"
        " author=a, body='Soon.')",
    )

    def home(_):
        with urllib.request.urlopen(base + "/", timeout=10) as response:
            return "Draft first" in response.read().decode()

    with ThreadPoolExecutor(6) as pool:
        assert not any(pool.map(home, range(REQUESTS)))  # every worker keeps the page now
    shell(
        env,
        "from blog import services\nfrom blog.models import Post\n"
        "services.publish_posts(Post.objects.all())",
    )
    seen = len(access_log.read_text().splitlines())
    with ThreadPoolExecutor(6) as pool:
        assert all(pool.map(home, range(REQUESTS))), "a worker served a stale page"
    assert len(workers_that_answered(access_log, seen)) == 3


def every_worker_sees(base, path, text) -> list[bool]:
    """Whether ``text`` is on ``path``, for REQUESTS requests spread over the workers."""

    def fetch(_):
        with urllib.request.urlopen(base + path, timeout=10) as response:
            return text in response.read().decode()

    with ThreadPoolExecutor(6) as pool:
        return list(pool.map(fetch, range(REQUESTS)))


def test_edits_unpublishing_and_a_schedule_coming_due_show_in_every_worker(workers):
    """With pages kept by every worker (or in the Redis they share), each change reaches
    every worker's next request: an edit, an unpublish, and a scheduled post whose time
    comes with no write at all."""
    base, env, access_log = workers
    shell(
        env,
        "from datetime import timedelta\n"
        "from django.utils import timezone\n"
        "from blog import services\n"
        "from blog.models import *\n"
        "from django.contrib.auth import get_user_model\n"
        "u = get_user_model().objects.create(username='w')\n"
        "a = AuthorProfile.objects.create(user=u, display_name='W')\n"
        "p = Post(title='First title', slug='p', section=Section.objects.get(), author=a,"
        " body='Text.', status=Post.Status.PUBLISHED,"
        " published_at=timezone.now() - timedelta(hours=1))\n"
        "services.save_post(p)",
    )
    assert all(every_worker_sees(base, "/", "First title"))
    assert all(every_worker_sees(base, "/feed/", "First title"))

    shell(
        env,
        "from blog import services\nfrom blog.models import Post\n"
        "p = Post.objects.get(slug='p'); p.title = 'Second title'; services.save_post(p)",
    )
    for path in ("/", "/bytes/", "/bytes/p/", "/feed/"):
        seen = every_worker_sees(base, path, "Second title")
        assert all(seen), f"a worker served the old {path}"

    shell(
        env,
        "from blog import services\nfrom blog.models import Post\n"
        "services.unpublish_posts(Post.objects.filter(slug='p'))",
    )
    assert not any(every_worker_sees(base, "/", "Second title"))
    assert not any(every_worker_sees(base, "/feed/", "Second title"))

    # Due in a few seconds: before then no worker shows it; after, every one does,
    # though nothing was written in between.
    shell(
        env,
        "from datetime import timedelta\n"
        "from django.utils import timezone\n"
        "from blog import services\n"
        "from blog.models import *\n"
        "p = Post(title='Scheduled one', slug='s', section=Section.objects.get(),"
        " author=AuthorProfile.objects.get(), body='Later.', status=Post.Status.PUBLISHED,"
        " published_at=timezone.now() + timedelta(seconds=8))\n"
        "services.save_post(p)",
    )
    due = time.monotonic() + 8  # at the latest: the post's time was set a little earlier
    assert not any(every_worker_sees(base, "/", "Scheduled one"))
    time.sleep(max(0.0, due - time.monotonic()) + 0.5)
    seen = len(access_log.read_text().splitlines())
    assert all(every_worker_sees(base, "/", "Scheduled one")), "a worker kept the page"
    assert all(every_worker_sees(base, "/feed/", "Scheduled one"))
    assert len(workers_that_answered(access_log, seen)) == 3
