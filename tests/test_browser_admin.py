"""The author's editor in a real browser: live preview, image upload, inline links."""

import base64

import pytest
from django.urls import reverse

from blog.models import Post

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
    preview.locator("h2#hello").wait_for()
    assert preview.locator("strong").inner_text() == "bold"

    # Drop an image: it is uploaded and inserted with placeholder alt text, selected.
    page.evaluate("document.querySelector('#id_body').setSelectionRange(9999, 9999)")
    drop(page, "#id_body", image_bytes("PNG", size=(320, 200)), "red.png", "image/png")
    page.wait_for_function("document.querySelector('#id_body').value.includes('/media/images/')")
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

    # A Link added with "Add another" gets the live preview as well.
    page.click("#links-group .add-row a")
    page.fill("#id_links-0-title", "A paper")
    page.fill("#id_links-0-url", "https://example.org/paper")
    page.fill("#id_links-0-commentary", "Worth *reading*.")
    page.locator("#links-0 .markdownx-preview em").wait_for()

    page.click("input[name=_save]")
    page.wait_for_url(live_server.url + reverse("admin:blog_post_changelist"))
    post = Post.objects.get(title="Written in the browser")
    assert 'alt="A red rectangle"' in post.body_html
    assert post.links.get().commentary_html == "<p>Worth <em>reading</em>.</p>"
    image_url = body[body.index("/media/images/") :].split(")", 1)[0]
    response = page.request.get(live_server.url + image_url)
    assert response.status == 200
    assert response.headers["content-type"] == "image/png"
