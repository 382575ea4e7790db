"""The author's editor in a real browser: live preview, image upload, inline links."""

import base64
import re

import pytest
from django.urls import reverse

from blog.models import Link, Post

from .conftest import image_bytes, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DROP_FILE = """
([selector, name, type, b64]) => {
  const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
  const transfer = new DataTransfer();
  transfer.items.add(new File([bytes], name, {type}));
  const target = document.querySelector(selector);
  target.focus();
  target.dispatchEvent(new DragEvent("drop", {dataTransfer: transfer, bubbles: true}));
}
"""


def drop(page, selector, data, name, content_type):
    page.evaluate(DROP_FILE, [selector, name, content_type, base64.b64encode(data).decode()])


@pytest.fixture
def logged_in(page, live_server, django_user_model, section, author):
    django_user_model.objects.create_superuser(username="writer", password="correct-horse-42")
    page.goto(live_server.url + reverse("admin:login"))
    page.fill("#id_username", "writer")
    page.fill("#id_password", "correct-horse-42")
    page.click("input[type=submit]")
    page.wait_for_url(live_server.url + reverse("admin:index"))
    return page


def test_author_writes_a_post_with_live_preview_and_an_image(logged_in, live_server):
    page = logged_in
    page.goto(live_server.url + reverse("admin:blog_post_add"))
    page.locator("#id_title").press_sequentially("Written in the browser")
    assert page.input_value("#id_slug") == "written-in-the-browser", "slug is prepopulated"
    page.select_option("#id_section", label="Bytes")
    page.select_option("#id_author", label="Test Author")

    page.fill("#id_body", "# Hello\n\nSome **bold** text.\n\n")
    preview = page.locator(".field-body .markdownx-preview")
    preview.locator("h2#p-hello").wait_for()
    assert preview.locator("strong").inner_text() == "bold"

    # Drop an image: it is uploaded and inserted with placeholder alt text, selected.
    page.evaluate("document.querySelector('#id_body').setSelectionRange(9999, 9999)")
    drop(page, "#id_body", image_bytes("PNG", size=(320, 200)), "red.png", "image/png")
    page.wait_for_function(
        "() => document.querySelector('#id_body').value.includes('/media/images/')"
    )
    selected = page.evaluate(
        "(() => { const e = document.querySelector('#id_body');"
        " return e.value.slice(e.selectionStart, e.selectionEnd); })()"
    )
    assert selected == "Describe this image"
    page.keyboard.type("A red rectangle")
    body = page.input_value("#id_body")
    assert "![A red rectangle](/media/images/" in body
    preview.locator('img[alt="A red rectangle"]').wait_for()
    assert page.console_errors == []
    screenshot(page, "admin-editor-preview")

    # A refused upload explains itself and leaves the text as it was.
    drop(page, "#id_body", b"<svg onload=alert(1)></svg>", "x.svg", "image/svg+xml")
    status = page.locator(".field-body .bytepress-editor-status.is-error")
    status.wait_for()
    assert "not a readable image" in status.inner_text()
    assert page.input_value("#id_body") == body
    page.console_errors.clear()  # the library logs the refusal (400) itself

    # Links added with "Add another": a heading typed in one row can be picked in the next.
    page.click("#links-group .add-row a")
    page.fill("#id_links-0-title", "A paper")
    page.fill("#id_links-0-url", "https://example.org/paper")
    page.fill("#id_links-0-commentary", "Worth *reading*.")
    page.click("#links-0 .bytepress-preview-button")
    page.locator("#links-0 .bytepress-commentary-preview em").wait_for()
    assert not page.is_visible("#id_links-0-group_new"), "shown only for a new heading"
    page.select_option("#id_links-0-group", label="New heading…")
    page.locator("#id_links-0-group_new").press_sequentially("Papers")
    page.click("#links-group .add-row a")
    page.fill("#id_links-1-title", "Another paper")
    page.fill("#id_links-1-url", "https://example.org/another")
    page.select_option("#id_links-1-group", label="Papers")
    assert [page.input_value(f"#id_links-{i}-position") for i in (0, 1)] == ["1", "2"]
    assert page.console_errors == []
    screenshot(page, "admin-links-added-rows")

    page.click("input[name=_save]")
    page.wait_for_url(live_server.url + reverse("admin:blog_post_changelist"))
    post = Post.objects.get(title="Written in the browser")
    assert 'alt="A red rectangle"' in post.body_html
    links = list(post.links.all())
    assert [(link.title, link.group) for link in links] == [
        ("A paper", "Papers"),
        ("Another paper", "Papers"),
    ]
    assert links[0].commentary_html == "<p>Worth <em>reading</em>.</p>"
    image_url = body[body.index("/media/images/") :].split(")", 1)[0]
    response = page.request.get(live_server.url + image_url)
    assert response.status == 200
    assert response.headers["content-type"] == "image/png"


PASTE_FILE = """
([selector, name, type, b64]) => {
  const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
  const transfer = new DataTransfer();
  transfer.items.add(new File([bytes], name, {type}));
  const target = document.querySelector(selector);
  target.focus();
  target.dispatchEvent(new ClipboardEvent("paste", {clipboardData: transfer, bubbles: true}));
}
"""
SELECTED_TEXT = (
    "(() => { const e = document.querySelector('#id_body');"
    " return e.value.slice(e.selectionStart, e.selectionEnd); })()"
)
PUT_CURSOR = "at => document.querySelector('#id_body').setSelectionRange(at, at)"
IMAGE = r"!\[Describe this image\]\(/media/images/[^)\s]+\)"


def test_an_uploaded_image_gets_a_paragraph_of_its_own(logged_in, live_server):
    page = logged_in
    page.goto(live_server.url + reverse("admin:blog_post_add"))
    page.click("#id_body")
    page.keyboard.type("Caches everywhere.")
    page.keyboard.press("Enter")
    page.keyboard.press("Enter")
    page.keyboard.type("Second paragraph.")
    page.evaluate(PUT_CURSOR, len("Caches everywhere."))

    # Dropped at the end of a paragraph: blank lines on both sides, none doubled.
    drop(page, "#id_body", image_bytes("PNG", size=(320, 200)), "chart.png", "image/png")
    page.wait_for_function(
        "() => document.querySelector('#id_body').value.includes('/media/images/')"
    )
    assert re.fullmatch(
        rf"Caches everywhere\.\n\n{IMAGE}\n\nSecond paragraph\.", page.input_value("#id_body")
    )
    assert page.evaluate(SELECTED_TEXT) == "Describe this image"
    page.keyboard.type("A chart")
    preview = page.locator(".field-body .markdownx-preview")
    preview.locator('figure > img[alt="A chart"]').wait_for()
    assert preview.locator("p").all_inner_texts() == ["Caches everywhere.", "Second paragraph."]

    # Pasted at the very start: no blank line before it.
    page.evaluate(PUT_CURSOR, 0)
    page.evaluate(
        PASTE_FILE,
        ["#id_body", "pasted.png", "image/png", base64.b64encode(image_bytes("PNG")).decode()],
    )
    page.wait_for_function(
        "() => document.querySelector('#id_body').value.split('/media/images/').length === 3"
    )
    body = page.input_value("#id_body")
    assert re.fullmatch(
        rf"{IMAGE}\n\nCaches everywhere\.\n\n!\[A chart\]\([^)]+\)\n\nSecond paragraph\.", body
    )
    assert page.evaluate("document.querySelector('#id_body').selectionStart") == 2
    assert page.evaluate(SELECTED_TEXT) == "Describe this image"
    preview.locator("figure").nth(1).wait_for()
    assert page.console_errors == []
    screenshot(page, "admin-editor-image-block")


def test_a_reading_list_of_seven_links_is_compact(logged_in, live_server, make_post):
    post = make_post(title="Reading list", body="A week of links.\n\n" * 3)
    headings = ["Storage", "Storage", "Databases", "", "Storage", "Databases", ""]
    for position, heading in enumerate(headings, 1):
        Link.objects.create(
            post=post,
            position=position,
            group=heading,
            title=f"Link number {position}",
            url=f"https://example.org/{position}",
            commentary=f"Why **number {position}** matters, in a sentence or two of *commentary*.",
        )
    page = logged_in
    url = live_server.url + reverse("admin:blog_post_change", args=[post.pk])
    page.goto(url)
    height = page.evaluate("document.documentElement.scrollHeight")
    assert height < 3000, f"the change page is {height}px tall"
    links_height = page.locator("#links-group").bounding_box()["height"]
    assert links_height < 7 * 130, f"the links take {links_height}px"
    assert page.locator("#links-group .markdownx-preview").count() == 0

    page.click("#links-1 .bytepress-preview-button")
    rendered = page.locator("#links-1 .bytepress-commentary-preview")
    rendered.locator("strong").wait_for()
    assert rendered.inner_text() == "Why number 2 matters, in a sentence or two of commentary."
    assert page.console_errors == []
    screenshot(page, "admin-links-reading-list")

    # A heading retyped with a typo is refused, naming the heading meant.
    page.select_option("#id_links-6-group", label="New heading…")
    page.fill("#id_links-6-group_new", "storage")
    page.click("input[name=_continue]")
    error = page.locator("#links-6 td.field-group .errorlist")
    error.wait_for()
    assert "Did you mean “Storage”?" in error.inner_text()
    assert page.is_visible("#id_links-6-group_new"), "what was typed is shown again"
    screenshot(page, "admin-links-heading-refused")
    assert Link.objects.get(post=post, position=7).group == ""

    page.select_option("#id_links-6-group", label="Storage")
    page.click("input[name=_continue]")
    page.locator(".messagelist .success").wait_for()
    assert Link.objects.get(post=post, position=7).group == "Storage"
    assert page.console_errors == []
