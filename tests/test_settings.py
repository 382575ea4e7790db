"""Settings come from the environment, and production refuses unsafe defaults."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GOOD_KEY = "k" * 20 + "Zq8-Vw3_rT6yU1iO4pA7sD0fG2hJ5kL9"
PRINT_SETTINGS = (
    "import json, django; from django.conf import settings; django.setup(); "
    "print(json.dumps({'debug': settings.DEBUG, 'hosts': settings.ALLOWED_HOSTS, "
    "'engine': settings.DATABASES['default']['ENGINE'], "
    "'name': str(settings.DATABASES['default']['NAME']), "
    "'cache': settings.CACHES['default']['BACKEND'], 'site_url': settings.SITE_URL}))"
)


def load(**env):
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_"))}
    clean.pop("REDIS_URL", None)
    clean.pop("SITE_URL", None)
    clean["DJANGO_SETTINGS_MODULE"] = "config.settings"
    clean.update(env)
    return subprocess.run(
        [sys.executable, "-c", PRINT_SETTINGS],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


def last_line(result):
    """The error, which must be the only line printed (no traceback)."""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert result.returncode == 1
    return lines[0]


def test_debug_off_without_a_secret_key_refuses_to_start():
    result = load(DJANGO_ALLOWED_HOSTS="blog.example.org")
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is not set" in last_line(result)


def test_debug_off_without_allowed_hosts_refuses_to_start():
    result = load(DJANGO_SECRET_KEY=GOOD_KEY)
    assert result.returncode != 0
    assert "DJANGO_ALLOWED_HOSTS is not set" in last_line(result)


@pytest.mark.parametrize("key", ["short", "django-insecure-" + "x" * 50])
def test_debug_off_refuses_placeholder_keys(key):
    result = load(DJANGO_SECRET_KEY=key, DJANGO_ALLOWED_HOSTS="blog.example.org")
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is too weak" in last_line(result)


def test_production_settings_load_with_real_values():
    result = load(
        DJANGO_SECRET_KEY=GOOD_KEY,
        DJANGO_ALLOWED_HOSTS="blog.example.org, www.example.org",
        SITE_URL="https://blog.example.org/",
    )
    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout)
    assert loaded["debug"] is False
    assert loaded["hosts"] == ["blog.example.org", "www.example.org"]
    assert loaded["site_url"] == "https://blog.example.org"


def test_debug_has_local_defaults_and_sqlite_in_the_project():
    result = load(DJANGO_DEBUG="1")
    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout)
    assert loaded["debug"] is True
    assert "127.0.0.1" in loaded["hosts"]
    assert loaded["engine"] == "django.db.backends.sqlite3"
    assert loaded["name"] == str(ROOT / "db.sqlite3")
    assert loaded["cache"].endswith("LocMemCache")


def test_database_url_and_redis_url_are_honoured():
    result = load(
        DJANGO_DEBUG="true",
        DATABASE_URL="postgres://bp:secret@db.internal:5432/bytepress",
        REDIS_URL="redis://127.0.0.1:6379/3",
    )
    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout)
    assert loaded["engine"] == "django.db.backends.postgresql"
    assert loaded["name"] == "bytepress"
    assert loaded["cache"] == "blog.cache.ResilientRedisCache"


@pytest.mark.parametrize(
    "value",
    [
        "blog.example.org",
        "ftp://x.org",
        "https://x.org/blog",
        "https://x.org?a=1",
        "https://x.org#top",
        "https://user:pw@x.org",
    ],
)
def test_site_url_must_be_an_origin(value):
    result = load(DJANGO_DEBUG="1", SITE_URL=value)
    assert result.returncode != 0
    assert "SITE_URL must be an origin" in last_line(result)


def test_a_mistyped_database_url_is_one_clear_line():
    result = load(DJANGO_DEBUG="1", DATABASE_URL="postgress://db/blog")
    assert "DATABASE_URL is not a database URL" in last_line(result)


def test_an_empty_database_url_means_the_default_sqlite_file():
    result = load(DJANGO_DEBUG="1", DATABASE_URL="")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["engine"] == "django.db.backends.sqlite3"


def test_unreadable_boolean_is_an_error_not_a_silent_false():
    result = load(DJANGO_DEBUG="maybe")
    assert result.returncode != 0
    assert "DJANGO_DEBUG must be one of" in last_line(result)


def test_deploy_checks_pass_with_production_settings(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DJANGO_SECRET_KEY=GOOD_KEY,
        DJANGO_ALLOWED_HOSTS="blog.example.org",
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.skipif(
    not os.environ.get("REDIS_URL"), reason="set REDIS_URL to test against a Redis server"
)
def test_redis_cache_works_when_configured():
    """The optional cache against a real Redis server (CI sets REDIS_URL)."""
    from django.core.cache.backends.redis import RedisCache

    cache = RedisCache(os.environ["REDIS_URL"], {"KEY_PREFIX": "bytepress-test"})
    cache.set("probe", {"ok": 1}, 10)
    assert cache.get("probe") == {"ok": 1}
    cache.delete("probe")
