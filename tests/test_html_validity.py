"""Every page of the demo site is valid HTML, by the Nu HTML Checker (vnu).

html5lib (tests/test_views.py) only proves that a page parses. vnu checks it against the
HTML standard: attribute values (a ``<time datetime>`` with microseconds), content
models, ARIA. Its JVM takes seconds to start, so every page goes through one run.

`make vnu` installs the pinned checker into .tools/ (it needs Java). Without it this test
skips locally; in CI (CI=true) a skipped test fails the run.
"""

import json
import shutil
import subprocess
from collections import deque
from urllib.parse import urljoin, urlsplit

import html5lib
import pytest
from django.conf import settings
from django.test import Client
from django.urls import Resolver404, resolve
from lxml import html as lxml_html

from blog.models import Post, SiteSettings

pytestmark = pytest.mark.django_db

VNU_JAR = settings.BASE_DIR / ".tools" / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"

# Not pages of the reader site: files, and the admin (Django's own markup).
SKIPPED_PREFIXES = (settings.STATIC_URL, settings.MEDIA_URL, "/admin/")

# Warnings left on purpose, with the reason; any other warning fails like an error.
ACCEPTED_WARNINGS = {
    f"The “align” attribute on the “{cell}” element is obsolete. Use CSS instead.": (
        "Markdown table alignment; the sanitiser drops style attributes, and site.css "
        "styles [align]"
    )
    for cell in ("th", "td")
}

# Valid for html5lib, which only parses, but not for the HTML standard: HTML allows at
# most three fractional digits of a second. It proves that vnu really checked the pages.
CANARY = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Canary</title></head>
<body><p>Posted <time datetime="2026-11-17T12:17:10.152528+00:00">17 Nov</time></p></body>
</html>
"""


def vnu_command():
    """The command that runs vnu, or skip the test saying what is missing."""
    java = shutil.which("java")
    if java is None:
        pytest.skip("Java is not installed (apt-get install default-jre-headless)")
    if not VNU_JAR.exists():
        pytest.skip(f"the Nu HTML Checker is not installed at {VNU_JAR} (run `make vnu`)")
    return [java, "-jar", str(VNU_JAR), "--format", "json", "--stdout", "--exit-zero-always"]


def is_page(path: str) -> bool:
    if path.startswith(SKIPPED_PREFIXES):
        return False
    try:
        match = resolve(path)
    except Resolver404:
        return True  # a broken link: fetched, so that its 404 fails the crawl
    return "feed" not in match.url_name and match.url_name not in {"sitemap", "robots-txt"}


def internal_links(url: str, page: bytes) -> set[str]:
    """The site's own pages that ``page`` links to, as paths with their query."""
    links = set()
    for href in lxml_html.fromstring(page).xpath("//a/@href"):
        parts = urlsplit(urljoin("http://testserver" + url, href))
        if parts.netloc != "testserver" or not is_page(parts.path):
            continue
        links.add(parts.path + (f"?{parts.query}" if parts.query else ""))
    return links


def crawl(client, *starts: str) -> tuple[dict[str, bytes], list[str]]:
    """Every page reachable from ``starts`` by links, and the links that are not 200 HTML."""
    pages, broken = {}, []
    queue, seen = deque(starts), set(starts)
    while queue:
        url = queue.popleft()
        response = client.get(url)
        if response.status_code != 200 or not response["Content-Type"].startswith("text/html"):
            broken.append(f"{url}: {response.status_code} {response['Content-Type']}")
            continue
        pages[url] = response.content
        for link in sorted(internal_links(url, response.content) - seen):
            seen.add(link)
            queue.append(link)
    return pages, broken


def validate(pages: dict[str, bytes], folder) -> dict[str, list[str]]:
    """Run vnu once over all pages; the errors and warnings found on each URL."""
    command = vnu_command()
    files = {}
    for number, (url, content) in enumerate(pages.items()):
        path = folder / f"page-{number:03}.html"
        path.write_bytes(content)
        files[path.name] = url
    result = subprocess.run(
        [*command, *(str(folder / name) for name in files)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    problems = {url: [] for url in pages}
    for message in json.loads(result.stdout)["messages"]:
        # vnu names a file "file:/tmp/…/page-001.html".
        where = message.get("url", "")
        url = files.get(where.rsplit("/", 1)[-1], where)
        # "info" is a plain note unless its subType is "warning".
        if message["type"] == "info" and (
            message.get("subType") != "warning" or message["message"] in ACCEPTED_WARNINGS
        ):
            continue
        kind = message.get("subType", message["type"])
        extract = " ".join(message.get("extract", "").split())
        problems.setdefault(url, []).append(
            f"{kind} line {message.get('lastLine', '?')}: {message['message']} [{extract}]"
        )
    return problems


def test_every_page_of_the_demo_site_passes_the_nu_html_checker(
    client, demo, django_user_model, tmp_path
):
    """Every page a reader can reach, a 404 and a staff preview are valid HTML for vnu."""
    vnu_command()  # skip before the crawl when the checker is missing
    site = SiteSettings.load()
    site.posts_per_page = 2  # so that sections, tags and archives have more than one page
    site.save()
    long_post = Post.objects.get(slug="sqlite-is-enough")
    long_post.body += "\n\n## Further reading\n\nThe SQLite documentation.\n"
    long_post.save()  # a third heading: its page shows a table of contents
    # Search pages are reached through a form, not a link: start there too.
    pages, broken = crawl(client, "/", "/search/", "/search/?q=sqlite")
    assert not broken, "internal links that lead to no page:\n" + "\n".join(broken)

    kinds = {resolve(urlsplit(url).path).url_name for url in pages}
    assert kinds >= {
        "home",
        "section-detail",
        "post-detail",
        "series-list",
        "series-detail",
        "tag-list",
        "tag-detail",
        "archive",
        "archive-year",
        "archive-month",
        "search",
    }, kinds
    assert any("?page=2" in url for url in pages), "pagination was not followed"

    not_found = client.get("/does-not-exist/")
    assert not_found.status_code == 404
    pages["/does-not-exist/ (404)"] = not_found.content
    staff = Client()
    staff.force_login(django_user_model.objects.create_superuser(username="editor"))
    for post in Post.objects.exclude(pk__in=Post.objects.published()):
        response = staff.get(post.get_absolute_url())
        assert response.status_code == 200
        pages[f"{post.get_absolute_url()} (staff preview, {post.visibility})"] = response.content

    html5lib.HTMLParser(strict=True).parse(CANARY)  # html5lib finds nothing wrong here
    pages["canary"] = CANARY.encode()
    problems = validate(pages, tmp_path)

    canary = problems.pop("canary")
    assert any("datetime" in problem for problem in canary), f"vnu missed the canary: {canary}"
    failures = [f"{url}\n  " + "\n  ".join(found) for url, found in problems.items() if found]
    assert not failures, f"vnu found problems on {len(failures)} of {len(pages) - 1} pages:\n" + (
        "\n".join(failures)
    )
    assert b'class="post-toc"' in pages[long_post.get_absolute_url()], "no page had a TOC"
