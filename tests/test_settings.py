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


def clean_env(**env) -> dict:
    """The environment without any of the site's settings, then ``env``."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_"))}
    clean.pop("REDIS_URL", None)
    clean.pop("SITE_URL", None)
    clean["DJANGO_SETTINGS_MODULE"] = "config.settings"
    clean.update(env)
    return clean


def load(**env):
    return subprocess.run(
        [sys.executable, "-c", PRINT_SETTINGS],
        cwd=ROOT,
        env=clean_env(**env),
        capture_output=True,
        text=True,
        timeout=60,
    )


def manage(*args, **env):
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=clean_env(**env),
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def production(tmp_path) -> dict:
    """Every variable production needs, on an SQLite file that exists."""
    database = tmp_path / "db.sqlite3"
    database.touch()
    return {
        "DJANGO_SECRET_KEY": GOOD_KEY,
        "DJANGO_ALLOWED_HOSTS": "blog.example.org",
        "SITE_URL": "https://blog.example.org",
        "DATABASE_URL": f"sqlite:///{database}",
    }


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


@pytest.mark.parametrize(
    "key",
    [
        "short",
        "django-insecure-" + "x" * 50,
        # Too little variety, however long: fewer than 10 different characters.
        "a" * 50,
        "changeme" * 8,
        "0123456789"[:9] * 6,
        # Random, but shorter than the 50 characters `check --deploy` asks for.
        "Zq8-Vw3_rT6yU1iO4pA7sD0fG2hJ5kL9xC4vB7nM1q",
    ],
)
def test_debug_off_refuses_placeholder_keys(key, production):
    result = load(**{**production, "DJANGO_SECRET_KEY": key})
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is too weak" in last_line(result)


def test_a_key_of_fifty_characters_and_ten_different_ones_is_enough(production):
    result = load(**{**production, "DJANGO_SECRET_KEY": "0123456789" * 5})
    assert result.returncode == 0, result.stderr


def test_production_settings_load_with_real_values(production):
    production.update(
        DJANGO_ALLOWED_HOSTS="blog.example.org, www.example.org",
        SITE_URL="https://blog.example.org/",
    )
    result = load(**production)
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


def test_debug_off_without_site_url_refuses_to_start(production):
    """Absolute URLs must never come from the Host header a client sends."""
    del production["SITE_URL"]
    result = load(**production)
    assert "SITE_URL is not set" in last_line(result)


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("postgress://db/blog", "unknown scheme 'postgress'"),
        ("postgres//db/blog", "no scheme"),
        ("db.internal/blog", "no scheme"),
        ("mysql://bp:s3cret-pw@db/blog", "unknown scheme 'mysql'"),
        ("postgres://bp:s3cret-pw@db:port/blog", "host or port"),
        ("postgres://bp:s3cret-pw@db.internal:5432", "names no database"),
        ("postgres://db.internal/", "names no database"),
        ("sqlite://", "names no SQLite file"),
    ],
)
def test_a_malformed_database_url_is_one_clear_line(value, problem):
    result = load(DJANGO_DEBUG="1", DATABASE_URL=value)
    line = last_line(result)
    assert line.startswith("Bytepress configuration error: DATABASE_URL is not a database URL")
    assert problem in line
    assert "s3cret-pw" not in result.stderr, "the password is never printed"


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("http://cache.internal:6379/0", "use redis://"),
        ("redis//cache.internal", "use redis://"),
        ("cache.internal:6379", "use redis://"),
        ("redis://:s3cret-pw@cache.internal:port/0", "use redis://"),
        ("redis://", "names no host"),
        ("redis://cache.internal/cache", "must be a number"),
        ("unix://", "socket's path"),
    ],
)
def test_a_malformed_redis_url_is_one_clear_line(value, problem):
    result = load(DJANGO_DEBUG="1", REDIS_URL=value)
    line = last_line(result)
    assert line.startswith("Bytepress configuration error: REDIS_URL is not a Redis URL")
    assert problem in line
    assert "s3cret-pw" not in result.stderr


@pytest.mark.parametrize(
    "value", ["redis://127.0.0.1:6379/13", "rediss://:pw@cache.internal:6380", "unix:///run/r.sock"]
)
def test_well_formed_redis_urls_are_accepted(value):
    result = load(DJANGO_DEBUG="1", REDIS_URL=value)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["cache"] == "blog.cache.ResilientRedisCache"


def test_debug_off_refuses_an_sqlite_file_that_does_not_exist(production, tmp_path):
    """A mistyped path must not start an empty blog beside the real one."""
    missing = tmp_path / "typo" / "db.sqlite3"
    result = load(**{**production, "DATABASE_URL": f"sqlite:///{missing}"})
    line = last_line(result)
    assert f"the SQLite database {missing} does not exist" in line
    assert "manage.py migrate" in line
    assert not missing.exists()
    result = manage("check", **{**production, "DATABASE_URL": f"sqlite:///{missing}"})
    assert "does not exist" in last_line(result)
    assert not missing.exists()


def test_migrate_creates_the_sqlite_file_on_first_run(production, tmp_path):
    new = tmp_path / "new.sqlite3"
    env = {**production, "DATABASE_URL": f"sqlite:///{new}"}
    result = manage("migrate", "--noinput", "-v0", **env)
    assert result.returncode == 0, result.stderr
    assert new.stat().st_size > 0
    # From now on every command finds it.
    assert manage("check", **env).returncode == 0


def test_debug_on_may_create_its_sqlite_file(tmp_path):
    result = load(DJANGO_DEBUG="1", DATABASE_URL=f"sqlite:///{tmp_path / 'dev.sqlite3'}")
    assert result.returncode == 0, result.stderr


def test_an_empty_database_url_means_the_default_sqlite_file():
    result = load(DJANGO_DEBUG="1", DATABASE_URL="")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["engine"] == "django.db.backends.sqlite3"


def test_unreadable_boolean_is_an_error_not_a_silent_false():
    result = load(DJANGO_DEBUG="maybe")
    assert result.returncode != 0
    assert "DJANGO_DEBUG must be one of" in last_line(result)


def test_deploy_checks_pass_with_production_settings(production):
    result = manage("check", "--deploy", "--fail-level", "WARNING", **production)
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
