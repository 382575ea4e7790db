"""The admin's front door: login throttling (django-axes), the admin's address
(BYTEPRESS_ADMIN_PATH) and the session and CSRF cookies' flags."""

import json
import subprocess
import sys
from datetime import timedelta

import pytest
from axes.handlers import proxy as axes_proxy
from django.core.exceptions import ValidationError
from django.test import RequestFactory, override_settings
from django.urls import reverse
from django.utils import timezone
from lxml import html

from blog.models import Page, Section
from config.settings import admin_path_problem, client_address

from .test_deploy import ROOT, production_env

PASSWORD = "correct-horse-battery-42"
HOME = "203.0.113.10"  # the owner's address
ATTACKER = "198.51.100.66"


@pytest.fixture
def owner(django_user_model):
    return django_user_model.objects.create_superuser(username="owner", password=PASSWORD)


def log_in(client, username, password="wrong-guess", address=ATTACKER, **extra):
    return client.post(
        reverse("admin:login"),
        {"username": username, "password": password, "next": reverse("admin:index")},
        REMOTE_ADDR=address,
        **extra,
    )


def logged_in(response) -> bool:
    return response.status_code == 302 and response["Location"] == reverse("admin:index")


def is_refused_login_form(response) -> bool:
    """The ordinary answer to a wrong password: the form again, with its error."""
    return response.status_code == 200 and b'id="login-form"' in response.content


def fail(client, count, *, usernames, addresses):
    """``count`` wrong passwords, cycling through the usernames and addresses given; the
    answers."""
    return [
        log_in(client, usernames[i % len(usernames)], address=addresses[i % len(addresses)])
        for i in range(count)
    ]


def is_lockout(response) -> bool:
    return response.status_code == 429 and b'id="lockout-message"' in response.content


# --- throttling --------------------------------------------------------------------------


def test_the_defaults_are_five_failures_and_fifteen_minutes(settings):
    assert settings.AXES_FAILURE_LIMIT == 5
    assert settings.AXES_COOLOFF_TIME.total_seconds() == 15 * 60
    assert settings.AXES_ENABLED, "the suite runs with throttling on"


def test_failures_for_one_account_lock_it_from_every_address(client, owner):
    addresses = [f"192.0.2.{n}" for n in range(1, 6)]
    answers = fail(client, 5, usernames=["owner"], addresses=addresses)
    assert all(is_refused_login_form(answer) for answer in answers[:4])
    assert is_lockout(answers[4]), "the fifth failure locks the account"

    # The right password, from an address that never failed, is refused too.
    answer = log_in(client, "owner", PASSWORD, address=HOME)
    assert is_lockout(answer)
    assert "_auth_user_id" not in client.session
    # Another account from a fresh address is not affected.
    other = owner.__class__.objects.create_superuser(username="other", password=PASSWORD)
    assert logged_in(log_in(client, other.username, PASSWORD, address="192.0.2.99"))


def test_failures_from_one_address_lock_it_for_every_account(client, owner):
    """Password spraying: one guess each for many accounts, from one address."""
    answers = fail(client, 5, usernames=["ann", "bob", "cy", "dee", "eve"], addresses=[ATTACKER])
    assert all(is_refused_login_form(answer) for answer in answers[:4])
    assert is_lockout(answers[4])

    assert is_lockout(log_in(client, "owner", PASSWORD, address=ATTACKER))
    assert "_auth_user_id" not in client.session
    assert logged_in(log_in(client, "owner", PASSWORD, address=HOME)), "other addresses pass"


def test_a_success_clears_the_count(client, owner):
    answers = fail(client, 4, usernames=["owner"], addresses=[HOME])
    assert all(is_refused_login_form(answer) for answer in answers)
    assert logged_in(log_in(client, "owner", PASSWORD, address=HOME))
    client.logout()

    answers = fail(client, 5, usernames=["owner"], addresses=[HOME])
    assert all(is_refused_login_form(answer) for answer in answers[:4]), "counting anew"
    assert is_lockout(answers[4])


def test_the_lockout_page_is_the_admins_and_says_what_happened(client, owner):
    fail(client, 5, usernames=["owner"], addresses=[ATTACKER])
    response = log_in(client, "owner", PASSWORD, address=ATTACKER)

    assert response.status_code == 429
    assert response["Content-Type"].startswith("text/html")
    doc = html.fromstring(response.content)
    message = " ".join(doc.get_element_by_id("lockout-message").text_content().split())
    assert message.startswith("Too many failed logins")
    assert "Too many failed logins" in doc.findtext(".//title")
    assert "login" in doc.body.get("class").split(), "the login page's layout"
    stylesheets = [link.get("href") for link in doc.cssselect('link[rel="stylesheet"]')]
    assert any(href.endswith("admin/css/login.css") for href in stylesheets)
    assert "Try again in 15 minutes" in doc.get_element_by_id("content-main").text_content()
    assert [a.get("href") for a in doc.cssselect("#content-main a")] == [reverse("admin:login")]
    assert not doc.cssselect("input[type=password]"), "nothing to type into"


def test_a_script_gets_the_lockout_as_json(client, owner):
    fail(client, 5, usernames=["owner"], addresses=[ATTACKER])
    response = log_in(client, "owner", address=ATTACKER, HTTP_X_REQUESTED_WITH="XMLHttpRequest")
    assert response.status_code == 429
    assert response.json()["failure_limit"] == 5


def later(monkeypatch, delta: timedelta):
    """Axes reads the time of each attempt through axes.handlers.proxy.now."""
    moved = timezone.now() + delta
    monkeypatch.setattr(axes_proxy, "now", lambda: moved)


def test_logins_work_again_after_the_cool_off(client, owner, monkeypatch):
    fail(client, 5, usernames=["owner"], addresses=[ATTACKER])

    later(monkeypatch, timedelta(minutes=14))
    assert is_lockout(log_in(client, "owner", PASSWORD, address=HOME))

    later(monkeypatch, timedelta(minutes=15, seconds=5))
    assert logged_in(log_in(client, "owner", PASSWORD, address=HOME))


def test_attempts_during_the_pause_do_not_stretch_it(client, owner, monkeypatch):
    """Otherwise one guess every few minutes would keep the owner out for good."""
    fail(client, 5, usernames=["owner"], addresses=[ATTACKER])
    later(monkeypatch, timedelta(minutes=10))
    assert is_lockout(log_in(client, "owner", address=ATTACKER))

    later(monkeypatch, timedelta(minutes=15, seconds=5))
    assert logged_in(log_in(client, "owner", PASSWORD, address=HOME))


def test_the_cool_off_and_limit_follow_the_settings(client, owner, settings, monkeypatch):
    settings.AXES_FAILURE_LIMIT = 2
    settings.AXES_COOLOFF_TIME = timedelta(minutes=1)
    answers = fail(client, 2, usernames=["owner"], addresses=[ATTACKER])
    assert is_refused_login_form(answers[0]) and is_lockout(answers[1])
    later(monkeypatch, timedelta(seconds=61))
    assert logged_in(log_in(client, "owner", PASSWORD, address=ATTACKER))


# --- the client's address ----------------------------------------------------------------


def test_without_a_proxy_x_forwarded_for_is_ignored(client, owner, settings):
    """A client can write any X-Forwarded-For: changing it each time gains nothing."""
    settings.BYTEPRESS_PROXY_COUNT = 0
    answers = [
        log_in(client, f"user{n}", address=ATTACKER, HTTP_X_FORWARDED_FOR=f"192.0.2.{n}")
        for n in range(5)
    ]
    assert is_lockout(answers[4])


def test_behind_a_proxy_each_client_is_counted_apart(client, owner, settings):
    """Through nginx every request comes from 127.0.0.1; the address nginx appended to
    X-Forwarded-For tells clients apart, and whatever the client wrote before it does
    not."""
    settings.BYTEPRESS_PROXY_COUNT = 1
    answers = [
        log_in(
            client,
            f"user{n}",
            address="127.0.0.1",
            HTTP_X_FORWARDED_FOR=f"192.0.2.{n}, {ATTACKER}",
        )
        for n in range(5)
    ]
    assert is_lockout(answers[4]), "rotating the forged part does not help"
    assert logged_in(
        log_in(client, "owner", PASSWORD, address="127.0.0.1", HTTP_X_FORWARDED_FOR=HOME)
    )


@pytest.mark.parametrize(
    ("proxies", "forwarded", "expected"),
    [
        (0, "192.0.2.1", "10.0.0.1"),
        (1, "192.0.2.1", "192.0.2.1"),
        (1, "6.6.6.6, 192.0.2.1", "192.0.2.1"),
        (1, " 2001:db8::1 ", "2001:db8::1"),
        (2, "6.6.6.6, 192.0.2.1, 10.0.0.9", "192.0.2.1"),
        (2, "192.0.2.1", "10.0.0.1"),  # fewer hops than proxies: a misconfiguration
        (1, "", "10.0.0.1"),
        (1, "unknown", "10.0.0.1"),
        (1, "192.0.2.1:443", "10.0.0.1"),
    ],
)
def test_client_address(settings, proxies, forwarded, expected):
    settings.BYTEPRESS_PROXY_COUNT = proxies
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR=forwarded)
    assert client_address(request) == expected


# --- configuration (a fresh process each) ------------------------------------------------

PRINT = (
    "import json, django; from django.conf import settings; django.setup(); "
    "print(json.dumps({name: str(getattr(settings, name)) for name in %r}))"
)


def settings_of(tmp_path, names, **env):
    environment = production_env(tmp_path, **env)
    (tmp_path / "db.sqlite3").touch()
    return subprocess.run(
        [sys.executable, "-c", PRINT % (names,)],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


def loaded(result) -> dict:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def refusal(result) -> str:
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 1 and len(lines) == 1, result.stderr
    return lines[0]


def test_the_production_profile_trusts_one_proxy_and_the_limits_come_from_the_environment(
    tmp_path,
):
    names = ["BYTEPRESS_PROXY_COUNT", "AXES_FAILURE_LIMIT", "AXES_COOLOFF_TIME"]
    assert loaded(settings_of(tmp_path, names)) == {
        "BYTEPRESS_PROXY_COUNT": "1",  # deploy/: nginx in front
        "AXES_FAILURE_LIMIT": "5",
        "AXES_COOLOFF_TIME": "0:15:00",
    }
    values = loaded(
        settings_of(
            tmp_path,
            names,
            DJANGO_SECURE_PROXY_SSL_HEADER="0",
            BYTEPRESS_LOGIN_FAILURE_LIMIT="8",
            BYTEPRESS_LOGIN_COOLOFF_MINUTES="60",
        )
    )
    assert values == {
        "BYTEPRESS_PROXY_COUNT": "0",
        "AXES_FAILURE_LIMIT": "8",
        "AXES_COOLOFF_TIME": "1:00:00",
    }


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("BYTEPRESS_LOGIN_FAILURE_LIMIT", "0", "must be at least 1"),
        ("BYTEPRESS_LOGIN_COOLOFF_MINUTES", "soon", "must be a whole number"),
        ("BYTEPRESS_PROXY_COUNT", "-1", "must be 0 or more"),
        ("BYTEPRESS_ADMIN_PATH", "search/", "/search/ is a reader's path"),
        ("BYTEPRESS_ADMIN_PATH", "back stage/", "use path segments"),
    ],
)
def test_a_bad_value_is_one_clear_line(tmp_path, variable, value, says):
    line = refusal(settings_of(tmp_path, ["DEBUG"], **{variable: value}))
    assert line.startswith("Bytepress configuration error: ")
    assert variable in line and says in line


@pytest.mark.parametrize(
    "value", ["", "/", "..", "../x", "a//b", "-x", "a/?b", "a/%2e", "a b", "séance"]
)
def test_admin_paths_that_are_refused(value):
    assert admin_path_problem(value)


@pytest.mark.parametrize("value", ["admin/", "backstage", "/back.stage_1~x-y/", "a/b/c/"])
def test_admin_paths_that_are_accepted(value):
    assert admin_path_problem(value) == ""


def test_every_fixed_reader_path_is_refused_as_the_admin_path():
    """The rule stays in step with the URLs: a fixed first segment of any reader's URL
    (one that is not the admin's) is refused."""
    from django.urls import get_resolver

    from .test_url_access import walk

    firsts = {
        route.lstrip("^").split("/")[0].rstrip("$")
        for route, _ in walk(get_resolver())
        if not route.startswith("admin/")
    }
    fixed = {first for first in firsts if first and not any(c in first for c in "<(\\")}
    assert fixed, "the walk found reader paths"
    assert all(admin_path_problem(f"{first}/") for first in fixed), fixed


# --- the admin somewhere else --------------------------------------------------------------

ELSEWHERE = """
import json, django
from django.conf import settings
django.setup()
from django.core.management import call_command
from django.test import Client
from django.test.utils import setup_test_environment
from django.urls import reverse
from blog import pagecache

setup_test_environment()
call_command("migrate", verbosity=0)
client = Client()
print(json.dumps({
    "admin": [client.get("/backstage/").status_code, client.get("/backstage/")["Location"]],
    "login": client.get("/backstage/login/").status_code,
    "old admin": client.get("/admin/").status_code,
    "old login": client.get("/admin/login/").status_code,
    "index": reverse("admin:index"),
    "markdownx": [settings.MARKDOWNX_URLS_PATH, reverse("markdownx_markdownify")],
    "upload": [settings.MARKDOWNX_UPLOAD_URLS_PATH, reverse("markdownx_upload")],
    "autosave": reverse("post-autosave"),
    "preview needs staff": client.post("/backstage/markdownx/markdownify/").status_code,
    "not reader pages": pagecache.NOT_READER_PAGES[0],
    "robots": client.get("/robots.txt").content.decode(),
}))
"""


def test_the_admin_answers_at_the_configured_path_and_not_at_admin(tmp_path):
    env = production_env(
        tmp_path,
        DJANGO_SETTINGS_MODULE="tests.settings",
        DJANGO_DEBUG="1",
        BYTEPRESS_ADMIN_PATH="backstage",
    )
    result = subprocess.run(
        [sys.executable, "-c", ELSEWHERE],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["admin"] == [302, "/backstage/login/?next=/backstage/"]
    assert seen["login"] == 200
    assert seen["old admin"] == 404 and seen["old login"] == 404
    assert seen["index"] == "/backstage/"
    assert seen["markdownx"] == ["/backstage/markdownx/markdownify/"] * 2
    assert seen["upload"] == ["/backstage/markdownx/upload/"] * 2
    assert seen["autosave"] == "/backstage/blog/post/autosave/"
    assert seen["preview needs staff"] == 302
    assert seen["not reader pages"] == "/backstage/"
    assert "backstage" not in seen["robots"], "robots.txt does not give the address away"
    assert "/admin/" not in seen["robots"]


def test_the_editor_endpoints_are_where_markdownx_posts(settings):
    assert reverse("markdownx_markdownify") == settings.MARKDOWNX_URLS_PATH
    assert reverse("markdownx_upload") == settings.MARKDOWNX_UPLOAD_URLS_PATH


# --- cookies -----------------------------------------------------------------------------


def test_the_production_profile_sends_secure_httponly_samesite_cookies(tmp_path):
    names = [
        "SESSION_COOKIE_SECURE",
        "SESSION_COOKIE_HTTPONLY",
        "SESSION_COOKIE_SAMESITE",
        "CSRF_COOKIE_SECURE",
        "CSRF_COOKIE_HTTPONLY",
        "CSRF_COOKIE_SAMESITE",
    ]
    values = loaded(settings_of(tmp_path, names))
    assert values == {
        "SESSION_COOKIE_SECURE": "True",
        "SESSION_COOKIE_HTTPONLY": "True",
        "SESSION_COOKIE_SAMESITE": "Lax",
        "CSRF_COOKIE_SECURE": "True",
        "CSRF_COOKIE_HTTPONLY": "True",
        "CSRF_COOKIE_SAMESITE": "Lax",
    }


def cookie_flags(morsel) -> dict:
    """The attributes of a Set-Cookie line, read from the line itself."""
    parts = [part.strip() for part in morsel.OutputString().split(";")[1:]]
    return {part.split("=")[0].lower(): part.partition("=")[2] for part in parts}


def test_a_login_sets_cookies_with_the_production_flags(client, owner, settings):
    settings.SESSION_COOKIE_SECURE = True
    settings.CSRF_COOKIE_SECURE = True

    form = client.get(reverse("admin:login"), secure=True)
    csrf = cookie_flags(form.cookies[settings.CSRF_COOKIE_NAME])
    assert {"secure", "httponly"} <= csrf.keys()
    assert csrf["samesite"] == "Lax"

    response = log_in(client, "owner", PASSWORD, address=HOME, secure=True)
    assert response.status_code == 302
    session = cookie_flags(response.cookies[settings.SESSION_COOKIE_NAME])
    assert {"secure", "httponly"} <= session.keys()
    assert session["samesite"] == "Lax"
    assert session["path"] == "/" and "domain" not in session


@override_settings(BYTEPRESS_ADMIN_PATH="backstage/")
def test_a_section_or_page_cannot_take_the_admins_address(db):
    with pytest.raises(ValidationError):
        Section(name="Backstage", slug="backstage").full_clean()
    with pytest.raises(ValidationError):
        Page(title="Backstage", slug="Backstage", body="x").full_clean()
