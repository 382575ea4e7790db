import io
import itertools
import os
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


@pytest.fixture(autouse=True)
def _empty_cache():
    """The site chrome is cached (in the process and the cache); every test starts
    without it. Database rollbacks bring back old chrome tokens, hence the reset."""
    from django.core.cache import cache

    from blog import chrome

    cache.clear()
    chrome.forget_local()
    yield
    cache.clear()
    chrome.forget_local()


@pytest.fixture
def demo(db):
    """The demo blog from seed_demo."""
    from django.core.management import call_command

    call_command("seed_demo", stdout=io.StringIO())


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


# --- browser tests ---------------------------------------------------------------------

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = settings.BASE_DIR / "test-artifacts"


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium driven by Playwright. Skips locally without it; fails in CI."""
    if not os.path.exists(CHROMIUM):
        message = f"{CHROMIUM} is not installed (apt-get install -y chromium)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"Browser tests must run in CI: {message}")
        pytest.skip(message)
    # Playwright's sync API runs an event loop in this thread; the ORM calls that the
    # tests make around it are still synchronous.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield instance
        instance.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.console_errors = []
    page.on("console", lambda msg: msg.type == "error" and page.console_errors.append(msg.text))
    page.on("pageerror", lambda exc: page.console_errors.append(str(exc)))
    yield page
    context.close()


def screenshot(page, name):
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def pytest_sessionfinish(session, exitstatus):
    """In CI a skipped test is a failure: every test must really run there."""
    if os.environ.get("CI", "").lower() != "true" or exitstatus != 0:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    if skipped:
        reporter.write_line(f"CI=true: {len(skipped)} test(s) skipped; failing the run.", red=True)
        session.exitstatus = 1
