"""Editing in a real browser: link groups placed in the body show in the live preview."""

import pytest
from django.urls import reverse

from blog.models import Link

from .conftest import screenshot
from .test_browser_admin import logged_in  # noqa: F401 (a fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_preview_places_link_groups_where_the_body_says(logged_in, live_server, make_post):  # noqa: F811
    page = logged_in
    post = make_post(body="Intro.")
    Link.objects.create(
        post=post, group="Papers", title="Mamba", url="https://example.org/m", position=1
    )
    page.goto(live_server.url + reverse("admin:blog_post_change", args=[post.pk]))
    page.fill("#id_body", "Intro.\n\n[links: Papers]\n\nBetween.\n\n[links: Tools]\n\nEnd.")
    preview = page.locator(".field-body .markdownx-preview")
    placed = preview.locator(".link-slot[data-link-group='Papers']")
    placed.locator("a", has_text="Mamba").wait_for()
    assert placed.locator("h2").inner_text() == "Papers"
    missing = preview.locator(".link-slot[data-link-group='Tools'] .bytepress-slot-missing")
    assert "No link has the heading “Tools”" in missing.inner_text()
    # Adding a link under that heading fills the slot without touching the body.
    page.click("#links-group .add-row a")
    row = page.locator("#links-group tr.dynamic-links").last
    row.locator("select[name$='-group']").select_option(label="New heading…")
    row.locator("input[name$='-group_new']").fill("Tools")
    row.locator("input[name$='-title']").fill("Ruff")
    row.locator("input[name$='-url']").fill("https://example.org/ruff")
    preview.locator(".link-slot[data-link-group='Tools'] a", has_text="Ruff").wait_for()
    order = preview.locator("p, .link-slot h2").all_inner_texts()
    assert order.index("Papers") < order.index("Between.") < order.index("Tools")
    screenshot(page, "admin-preview-placed-links")
    assert page.console_errors == []


def test_autosave_keeps_the_text_and_offers_it_back(logged_in, live_server, make_post):  # noqa: F811
    page = logged_in
    post = make_post(body="Saved text.")
    change_url = live_server.url + reverse("admin:blog_post_change", args=[post.pk])
    page.goto(change_url)
    page.locator("#id_body").press("Control+End")
    page.locator("#id_body").press_sequentially(" And words typed after it.")
    status = page.locator(".bytepress-autosave")
    status.filter(has_text="Autosaved at").wait_for(timeout=10_000)
    post.refresh_from_db()
    assert post.body == "Saved text.", "an autosave never touches the live post"

    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.type), dialog.accept()))
    page.reload()
    assert dialogs == ["beforeunload"], "leaving with unsaved changes asks first"
    offer = page.locator(".bytepress-autosave.is-offer")
    offer.wait_for()
    assert "(autosaved)" in offer.inner_text()
    offer.get_by_role("button", name="Restore them").click()
    assert page.input_value("#id_body") == "Saved text. And words typed after it."
    screenshot(page, "admin-autosave-restored")


def test_without_the_server_the_text_stays_in_the_browser(logged_in, live_server, make_post):  # noqa: F811
    page = logged_in
    post = make_post(body="Saved text.")
    page.route("**/admin/blog/post/autosave/", lambda route: route.abort())
    page.goto(live_server.url + reverse("admin:blog_post_change", args=[post.pk]))
    page.locator("#id_body").press("Control+End")
    page.locator("#id_body").press_sequentially(" Offline words.")
    status = page.locator(".bytepress-autosave.is-error")
    status.wait_for(timeout=10_000)
    assert "cannot be reached" in status.inner_text()
    assert "kept in this browser" in status.inner_text()
    page.on("dialog", lambda dialog: dialog.accept())
    page.reload()
    offer = page.locator(".bytepress-autosave.is-offer")
    offer.wait_for()
    assert "kept in this browser" in offer.inner_text()
    offer.get_by_role("button", name="Restore them").click()
    assert page.input_value("#id_body") == "Saved text. Offline words."
    # Saving spends the browser's copy: the next visit offers nothing.
    page.unroute("**/admin/blog/post/autosave/")
    page.get_by_role("button", name="Save and continue editing").first.click()
    page.wait_for_load_state()
    page.goto(live_server.url + reverse("admin:blog_post_change", args=[post.pk]))
    page.wait_for_timeout(500)
    assert page.locator(".bytepress-autosave.is-offer").count() == 0
    kept = page.evaluate("Object.keys(localStorage)")
    assert not [k for k in kept if k.endswith(f":{post.pk}")], "the saved copy was dropped"
    post.refresh_from_db()
    assert post.body == "Saved text. Offline words."


def test_the_revision_diff_reads_as_a_diff(logged_in, live_server, make_post):  # noqa: F811
    from blog import services

    page = logged_in
    post = make_post(title="A post with a history", body="First paragraph.\n\nSecond one.")
    services.save_post(post)
    post.body = "First paragraph, reworded.\n\nSecond one.\n\nA third, added later."
    post.title = "A post with a longer history"
    services.save_post(post)
    latest = post.revisions.first()
    page.goto(live_server.url + reverse("post-revisions", args=[post.pk]))
    assert page.locator(".bytepress-revisions tbody tr").count() == 2
    screenshot(page, "admin-revisions")
    page.goto(live_server.url + reverse("post-revision", args=[post.pk, latest.pk]))
    assert page.locator("h3").all_inner_texts() == ["Title", "Body"]
    assert "A third, added later." in page.locator("ins").all_inner_texts()
    assert "First paragraph." in page.locator("del").all_inner_texts()
    screenshot(page, "admin-revision-diff")
