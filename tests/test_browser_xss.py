"""The hostile inputs of tests/data/xss.json in Chromium: no script of theirs ever runs.

A page is opened with ``alert``, ``confirm``, ``prompt`` and ``print`` hooked, a binding
(``window.__pwned``) that payloads call, and its console watched. Every element then
gets the events its handlers would wait for (hover, focus, load, error, toggle, and a
click outside links and form controls), and the DOM that Chromium built is searched for
event handlers, dangerous URLs (as Chromium resolves them) and frames. The context
bypasses the Content-Security-Policy: this tests what the sanitiser lets through, not
what the policy would block after it.

The inputs are grouped on few pages (a post holds a slice of them in its body, links,
tags and fields), so that the whole corpus is seen in about forty page loads;
tests/test_xss_corpus.py puts each input in each field alone.
"""

import json
from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import quote

import pytest
from django.urls import reverse
from django.utils import timezone

from blog import services
from blog.models import AuthorProfile, Image, Link, Page, Post, ProfileLink, Section, Series, Tag

from .test_xss_corpus import (
    ADMIN_SVG_CLASSES,
    PAYLOADS,
    make_site_settings,
    shared_image_file,
    stored,
    unique_tag_name,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

POSTS = 6
SLICES = [PAYLOADS[i::POSTS] for i in range(POSTS)]

HOOKS = """
for (const name of ["alert", "confirm", "prompt", "print"]) {
  window[name] = (...args) => window.__pwned(name, ...args.map(String));
}
"""

# Returns what is wrong with the DOM, after giving every element the events that inline
# handlers wait for. Links are not clicked (they would leave the page): a link whose
# URL Chromium resolves to another scheme than http, https or mailto is itself a failure.
PROBE = """
([clicks, ownSvgClasses]) => {
  const wrong = [];
  const allowed = new Set(["http:", "https:", "mailto:"]);
  const urlAttributes = new Set(["href", "src", "action", "formaction", "cite", "data",
    "poster", "background", "xlink:href", "ping"]);
  const quiet = new Set(["A", "AREA", "BUTTON", "INPUT", "SELECT", "OPTION", "TEXTAREA",
    "LABEL", "SUMMARY", "FORM"]);
  const events = ["mouseover", "mouseenter", "mousemove", "pointerover", "focus", "focusin",
    "blur", "load", "error", "toggle", "animationstart", "transitionend", "begin"];
  for (const el of document.querySelectorAll("*")) {
    for (const name of el.getAttributeNames()) {
      const value = el.getAttribute(name);
      if (name.startsWith("on")) wrong.push(`${el.tagName} ${name}=${value}`);
      if (urlAttributes.has(name)) {
        let url = null;
        try { url = new URL(value, document.baseURI); } catch (error) { continue; }
        if (!allowed.has(url.protocol)) wrong.push(`${el.tagName} ${name}=${value}`);
      }
    }
    const own = ownSvgClasses.some((name) => el.classList.contains(name));
    if (["IFRAME", "FRAME", "OBJECT", "EMBED", "BASE", "PORTAL", "SVG", "MATH"]
        .includes(el.tagName.toUpperCase()) && !own) wrong.push(el.tagName);
    for (const type of events) el.dispatchEvent(new Event(type));
    if (clicks && !quiet.has(el.tagName)) el.dispatchEvent(new MouseEvent("click"));
  }
  return wrong;
}
"""


@dataclass
class Watch:
    """What a payload would leave behind: calls to the hooks, console lines, dialogs."""

    calls: list = field(default_factory=list)

    def record(self, *what):
        self.calls.append(what)

    def answer(self, dialog):
        # The editor asks before leaving unsaved changes (autosave.js): that one is ours.
        if dialog.type == "beforeunload":
            dialog.accept()
        else:
            self.record("dialog", dialog.type, dialog.message)
            dialog.dismiss()


@pytest.fixture
def watched(browser):
    watch = Watch()
    context = browser.new_context(bypass_csp=True, viewport={"width": 1280, "height": 900})
    context.expose_binding("__pwned", lambda source, *args: watch.record("__pwned", *args))
    context.add_init_script(HOOKS)
    page = context.new_page()
    page.on("console", lambda msg: "pwned" in msg.text and watch.record("console", msg.text))
    page.on("dialog", lambda dialog: watch.answer(dialog))
    context.on("page", lambda popup: watch.record("popup", popup.url))
    page.watch = watch
    yield page
    context.close()


def assert_nothing_runs(page, where: str, *, clicks: bool = True):
    page.wait_for_load_state("load")
    wrong = page.evaluate(PROBE, [clicks, sorted(ADMIN_SVG_CLASSES)])
    page.wait_for_timeout(150)  # handlers and timers that a payload may have set off
    assert wrong == [], (where, wrong)
    assert page.watch.calls == [], (where, page.watch.calls)


# --- the site: the corpus on few pages ----------------------------------------------------


@dataclass
class Site:
    posts: list = field(default_factory=list)
    pages: list = field(default_factory=list)
    sections: list = field(default_factory=list)
    tags: list = field(default_factory=list)
    tag_names: set = field(default_factory=set)


def make_post(k, chunk, profile, image, section, series, tags) -> Post:
    post = Post(
        title=stored(Post, "title", chunk[0]),
        slug=f"post-{k}",
        subtitle=stored(Post, "subtitle", chunk[1]),
        section=section,
        author=profile,
        body="\n\n".join(text.replace("\x00", "\ufffd") for text in chunk),
        excerpt=stored(Post, "excerpt", chunk[2]),
        meta_description=stored(Post, "meta_description", chunk[3]),
        canonical_url=stored(Post, "canonical_url", chunk[4]),
        cover=image,
        series=series,
        series_position=1,
        status=Post.Status.PUBLISHED,
        published_at=timezone.now() - timedelta(minutes=k + 1),
    )

    def related():
        post.tags.set(tags)
        for i, text in enumerate(chunk):
            Link.objects.create(
                post=post,
                title=stored(Link, "title", text),
                url=stored(Link, "url", chunk[(i + 1) % len(chunk)]),
                commentary=stored(Link, "commentary", chunk[(i + 2) % len(chunk)]),
                group=stored(Link, "group", chunk[(i + 3) % len(chunk)]),
                position=i,
            )

    services.save_post(post, related=related)
    return post


def make_owner(user, file_name: str, size: int) -> AuthorProfile:
    """The site's owner, named by a payload, with one profile link per input (all on
    every page); a site title and tagline that try to break out of the JSON-LD."""
    name = stored(AuthorProfile, "display_name", "</script><script>__pwned('name')</script>")
    profile = AuthorProfile.objects.create(user=user, display_name=name)
    settings_row = make_site_settings(profile, file_name, size)
    settings_row.title = "</script><img src=x onerror=alert(1)>"
    settings_row.tagline = '"><svg onload=alert(1)>'
    settings_row.save()
    for k, text in enumerate(PAYLOADS):
        label, url = stored(ProfileLink, "label", text), stored(ProfileLink, "url", text)
        ProfileLink.objects.create(profile=profile, label=label, url=url, position=k)
    return profile


def make_slice(k: int, chunk: list[str], profile, file_name: str, size: int, site: "Site"):
    """A section, series, tags, cover image, page and post holding one slice of inputs."""
    body = "\n\n".join(text.replace("\x00", "\ufffd") for text in chunk)
    section = Section(name=stored(Section, "name", chunk[5]), slug=f"xss-{k}", nav_position=k)
    section.description = chunk[6]
    services.save_section(section)
    series = Series(title=stored(Series, "title", chunk[7]), slug=f"xss-series-{k}")
    series.description = body
    services.save_series(series)
    tags = [Tag.objects.create(name=unique_tag_name(text, k, site.tag_names)) for text in chunk[:8]]
    image = Image.objects.create(file=file_name, width=64, height=48, file_size=size)
    image.alt, image.caption = stored(Image, "alt", chunk[8]), stored(Image, "caption", chunk[9])
    image.credit = stored(Image, "credit", chunk[10])
    image.save()
    page = Page(title=stored(Page, "title", chunk[11]), slug=f"xss-page-{k}", nav_position=10 + k)
    page.body = body
    services.save_page(page)
    site.posts.append(make_post(k, chunk, profile, image, section, series, tags))
    site.pages.append(page)
    site.sections.append(section)
    site.tags.extend(tags)


@pytest.fixture
def site(live_server, django_user_model):
    file_name, size = shared_image_file()
    user = django_user_model.objects.create_user(username="owner")
    profile = make_owner(user, file_name, size)
    built = Site()
    for k, chunk in enumerate(SLICES):
        make_slice(k, chunk, profile, file_name, size, built)
    return built


def test_the_watch_sees_a_payload_that_runs(watched):
    """The harness itself: unsanitised payloads are seen, however they run."""
    watched.set_content(
        "<img src=x onerror=alert(1)><p onmouseover=\"__pwned('hover')\">x</p>"
        "<script>console.log('pwned')</script><div onclick=confirm(1)>y</div>"
    )
    wrong = watched.evaluate(PROBE, [True, []])
    watched.wait_for_timeout(150)
    assert len(wrong) == 3, wrong
    seen = {call[0] if call[0] != "__pwned" else call[1] for call in watched.watch.calls}
    assert seen == {"alert", "hover", "console", "confirm"}, watched.watch.calls


def test_corpus_slices_cover_every_input():
    assert sorted(p for chunk in SLICES for p in chunk) == sorted(PAYLOADS)


def test_reader_pages_run_no_payload(watched, site, live_server):
    paths = [
        reverse("blog:home"),
        reverse("blog:series-list"),
        reverse("blog:tag-list"),
        reverse("blog:archive"),
        reverse("blog:search") + "?q=alert",
        site.tags[0].get_absolute_url(),
        *(post.get_absolute_url() for post in site.posts),
        *(page.get_absolute_url() for page in site.pages),
        *(section.get_absolute_url() for section in site.sections),
    ]
    for path in paths:
        response = watched.goto(live_server.url + path)
        assert response.status == 200, path
        assert_nothing_runs(watched, path)
        assert watched.url == live_server.url + path, "nothing navigated away"


def test_search_reflects_no_payload(watched, site, live_server):
    search = live_server.url + reverse("blog:search")
    for text in PAYLOADS[::13]:
        response = watched.goto(f"{search}?q={quote(text, safe='')}")
        assert response.status == 200, text
        assert_nothing_runs(watched, f"search for {text!r}")


def test_feed_item_html_runs_no_payload(watched, site, live_server):
    """What a feed reader shows: each item's HTML, as a page of its own."""
    feed = json.loads(watched.request.get(live_server.url + reverse("blog:feed-json")).body())
    assert len(feed["items"]) == POSTS
    for item in feed["items"]:
        watched.set_content(item["content_html"])
        assert_nothing_runs(watched, item["url"])
    for path in (reverse("blog:feed-rss"), reverse("blog:feed-atom")):
        response = watched.goto(live_server.url + path)
        assert response.status == 200
        assert_nothing_runs(watched, path, clicks=False)


def test_admin_lists_forms_and_the_editor_preview_run_no_payload(
    watched, site, live_server, django_user_model
):
    django_user_model.objects.create_superuser(username="staff", password="correct-horse-42")
    page = watched
    page.goto(live_server.url + reverse("admin:login"))
    page.fill("#id_username", "staff")
    page.fill("#id_password", "correct-horse-42")
    page.click("input[type=submit]")
    page.wait_for_url(live_server.url + reverse("admin:index"))
    for name in ("post", "section", "series", "tag", "page", "image", "authorprofile"):
        page.goto(live_server.url + reverse(f"admin:blog_{name}_changelist"))
        assert_nothing_runs(page, name, clicks=False)
    for post, chunk in zip(site.posts, SLICES, strict=True):
        page.goto(live_server.url + reverse("admin:blog_post_change", args=[post.pk]))
        assert_nothing_runs(page, f"change form of {post.pk}", clicks=False)
        # The live preview, as the author types: the whole slice, then each input alone.
        for text in ["\n\n".join(chunk), chunk[0]]:
            with page.expect_response(lambda r: "markdownify" in r.url):
                page.fill("#id_body", text.replace("\x00", "\ufffd"))
            page.wait_for_timeout(50)
            assert_nothing_runs(page, f"preview of {text[:60]!r}", clicks=False)
        page.locator(".bytepress-preview-button").first.click()
        page.locator(".bytepress-commentary-preview").first.wait_for()
        assert_nothing_runs(page, f"commentary preview of {post.pk}", clicks=False)
