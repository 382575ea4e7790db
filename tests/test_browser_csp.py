"""Every page type, the feeds and the admin editor in Chromium, under the site's real
Content-Security-Policy: any violation the browser reports fails the test.

Chromium reports a violation twice, and both are watched: as a `securitypolicyviolation`
event in the page (hooked before any of the page's own code runs) and as a console
message. Permissions-Policy mistakes (a feature Chromium does not know) show in the
console too, and fail as well.
"""

import json

import pytest
from django.contrib import admin
from django.core.management import call_command
from django.urls import reverse

from blog.models import Image, Post, SiteSettings
from blog.sharing import make_token

from .conftest import screenshot
from .test_headers import OTHER_PUBLIC_PATHS, reader_paths

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

USERNAME, PASSWORD = "csp-editor", "correct-horse-42"

REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.reportPolicyViolation({
    page: document.location.href,
    directive: event.effectiveDirective,
    blocked: event.blockedURI,
    sample: event.sample,
    where: `${event.sourceFile}:${event.lineNumber}`,
  });
}, true);
"""
POLICY_MESSAGES = ("Content Security Policy", "Content-Security-Policy", "Permissions-Policy")

# Lazy images load once they come into view: scroll through the page, then let the last
# requests (and any report) arrive.
LOAD_EVERYTHING = """
async () => {
  for (let y = 0; y < document.documentElement.scrollHeight; y += 600) {
    window.scrollTo(0, y);
    await new Promise((done) => setTimeout(done, 20));
  }
}
"""


@pytest.fixture
def site(live_server, django_user_model):
    call_command("seed_demo", verbosity=0)
    SiteSettings.objects.update(posts_per_page=2)  # sections get a page 2
    django_user_model.objects.create_superuser(username=USERNAME, password=PASSWORD)
    return live_server.url


@pytest.fixture
def watched(browser):
    """A page whose policy reports are collected in page.violations."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    found = []
    context.expose_function("reportPolicyViolation", lambda violation: found.append(violation))
    context.add_init_script(REPORT_VIOLATIONS)
    page = context.new_page()

    def on_console(message):
        if any(marker in message.text for marker in POLICY_MESSAGES):
            found.append({"page": page.url, "console": message.text})

    page.on("console", on_console)
    page.violations = found
    yield page
    context.close()


def visit(page, url, *, status=200):
    response = page.goto(url)
    assert response.status == status, url
    page.evaluate(LOAD_EVERYTHING)
    page.wait_for_load_state("networkidle")
    return response


def report(violations) -> str:
    return "\n".join(json.dumps(violation, sort_keys=True) for violation in violations)


def log_in(page, site):
    visit(page, site + reverse("admin:login"))
    page.fill("#id_username", USERNAME)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(site + reverse("admin:index"))


def test_reader_pages_raise_no_policy_violation(watched, site):
    pages = reader_paths()
    for post in Post.objects.published():
        pages[f"post {post.slug}"] = post.get_absolute_url()
    for name, path in pages.items():
        visit(watched, site + path)
        if name.startswith("post"):
            # The JSON-LD data block is left alone by the policy and still reads.
            data = watched.locator("script[type='application/ld+json']").text_content()
            assert json.loads(data)["@type"] == "BlogPosting", path
    visit(watched, site + "/no-such-page/", status=404)
    assert watched.violations == [], report(watched.violations)
    screenshot(watched, "csp-not-found")


def test_a_post_shows_its_images_under_the_policy(watched, site):
    post = Post.objects.published().exclude(cover=None).first()
    visit(watched, site + post.get_absolute_url())
    images = watched.locator(".prose img, .post img")
    assert images.count() >= 1
    broken = watched.evaluate(
        "() => [...document.images].filter((i) => i.complete && !i.naturalWidth).map((i) => i.src)"
    )
    assert broken == []
    assert watched.violations == [], report(watched.violations)


def test_feeds_in_the_browser_raise_no_policy_violation(watched, site):
    """The feeds and robots.txt. Not the sitemap: XML without a stylesheet is shown by
    Chromium's own XML viewer, which styles itself inline and so reports a violation
    under any policy that refuses inline style; a sitemap is for crawlers."""
    for name, path in OTHER_PUBLIC_PATHS.items():
        if name != "sitemap":
            visit(watched, site + path)
    assert watched.violations == [], report(watched.violations)


def test_previews_raise_no_policy_violation(watched, site):
    """The staff preview of a draft (with its banner) and a shared preview link."""
    draft = Post.objects.exclude(pk__in=Post.objects.published()).first()
    log_in(watched, site)
    visit(watched, site + draft.get_absolute_url())
    assert watched.locator(".preview-banner").is_visible()
    visit(watched, site + reverse("blog:share-preview", kwargs={"token": make_token(draft)}))
    assert watched.violations == [], report(watched.violations)


EDITOR_TEXT = """# A heading

Some *emphasis*, a [link](https://example.org/) and `code`.

```python
def hello():
    return "world"
```

| a | b |
|---|---|
| 1 | 2 |

![A test image](IMAGE_URL)

A footnote.[^1]

[^1]: The note.
"""


def test_the_admin_editor_and_its_live_preview_raise_no_policy_violation(watched, site):
    page = watched
    log_in(page, site)
    visit(page, site + reverse("admin:blog_post_changelist"))
    visit(page, site + reverse("admin:blog_post_add"))
    image = Image.objects.first()
    page.fill("#id_body", EDITOR_TEXT.replace("IMAGE_URL", image.file.url))
    preview = page.locator(".field-body .markdownx-preview")
    preview.locator("h2").wait_for()
    preview.locator("pre code").wait_for()
    preview.locator("img").wait_for()
    page.wait_for_function(
        "() => [...document.querySelectorAll('.markdownx-preview img')]"
        ".every((i) => i.complete && i.naturalWidth > 0)"
    )
    # The series picker is an autocomplete (select2): open it and let it list.
    page.locator(".field-series .select2-selection").click()
    page.locator(".select2-results__option").first.wait_for()
    page.keyboard.press("Escape")
    screenshot(page, "csp-editor-preview")

    post = Post.objects.published().exclude(cover=None).first()
    visit(page, site + reverse("admin:blog_post_change", args=[post.pk]))
    page.locator(
        ".field-body .markdownx-preview h2, .field-body .markdownx-preview p"
    ).first.wait_for()
    visit(page, site + reverse("post-revisions", args=[post.pk]))
    visit(page, site + reverse("admin:blog_image_add"))
    assert page.violations == [], report(page.violations)


def admin_pages() -> dict[str, str]:
    """Every registered model's list and add form (the image list apart: see below)."""
    pages = {"index": reverse("admin:index")}
    for model in admin.site._registry:
        opts = model._meta
        for view in ("changelist", "add"):
            name = f"admin:{opts.app_label}_{opts.model_name}_{view}"
            pages[name] = reverse(name)
    del pages["admin:blog_image_changelist"]
    return pages


def test_every_admin_list_and_form_raises_no_policy_violation(watched, site):
    log_in(watched, site)
    for path in admin_pages().values():
        watched.goto(site + path)  # a singleton's add form may redirect or refuse
        watched.wait_for_load_state("networkidle")
    assert watched.violations == [], report(watched.violations)


def test_the_image_list_raises_no_policy_violation(watched, site):
    log_in(watched, site)
    visit(watched, site + reverse("admin:blog_image_changelist"))
    assert watched.locator("#result_list img").count() >= 1
    assert watched.violations == [], report(watched.violations)
