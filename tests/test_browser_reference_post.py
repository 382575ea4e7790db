"""The reference post, rebuilt through the admin as an author would, in Chromium.

The blog Bytepress is modelled on (shared/reference/seed-page.txt) shows a reading-list
post: a title, a subtitle, its series, the date, an introduction, passages with lists
of links and commentary between them, and an image with a caption at the end. This
test writes such a post (in words of its own) from an empty site, previews it,
schedules it, publishes it, and checks that the page shows those parts in that order.
"""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from blog.models import Post

from .conftest import image_bytes, screenshot
from .test_browser_admin import drop, logged_in  # noqa: F401 (a fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

BODY = """## Why a list

Between long articles I keep finding papers and tools worth passing on, so here they are, with a line on why each one matters.

## What I read

Storage first: three pieces on how databases keep data safe and fast.

[links: Storage]

Then the network, where most of the latency in a request is hiding.

[links: Networking]

"""
LINKS = [
    ("Storage", "The log is the database", "A short argument that the write-ahead log is the real source of truth."),
    ("Storage", "Copy-on-write B-trees", "How a tree that never overwrites a page survives a crash."),
    ("Storage", "Checksums everywhere", "Why silent corruption is more common than we think."),
    ("Networking", "Head-of-line blocking", "What one lost packet does to every request behind it."),
    ("Networking", "Tail latency at scale", "Why the slowest of a hundred calls decides the page."),
]  # fmt: skip


def pick_series(page, title):
    """The series field is an autocomplete (select2): type, then choose."""
    page.click(".field-series .select2-selection")
    page.fill(".select2-search__field", title[:8])
    page.locator(".select2-results__option", has_text=title).click()


def add_link(page, index, group, title, commentary, new_heading):
    page.click("#links-group .add-row a")
    row = page.locator("#links-group tr.dynamic-links").nth(index)
    select = row.locator("select[name$='-group']")
    if new_heading:
        select.select_option(label="New heading…")
        row.locator("input[name$='-group_new']").fill(group)
    else:
        select.select_option(label=group)
    row.locator("input[name$='-title']").fill(title)
    row.locator("input[name$='-url']").fill(f"https://example.org/{index}")
    row.locator("textarea[name$='-commentary']").fill(commentary)


def click_button(page, label):
    page.locator(f"input[type=submit][value='{label}']").first.click()
    page.wait_for_load_state()


def test_the_reference_post_is_rebuilt_through_the_admin(logged_in, live_server, browser):  # noqa: F811
    page = logged_in
    admin = live_server.url
    # The section and the series, as an author would add them.
    page.goto(admin + reverse("admin:blog_section_add"))
    page.locator("#id_name").press_sequentially("Reading lists")
    assert page.input_value("#id_slug") == "reading-lists"
    page.click("input[name=_save]")
    page.goto(admin + reverse("admin:blog_series_add"))
    page.locator("#id_title").press_sequentially("The systems reading list")
    page.click("input[name=_save]")
    page.wait_for_url("**/admin/blog/series/")

    # The post: title, subtitle, section, series, tags, body with placed link groups.
    page.goto(admin + reverse("admin:blog_post_add"))
    page.locator("#id_title").press_sequentially("The systems reading list #1")
    page.fill("#id_subtitle", "Logs, trees, checksums and the network in between")
    page.select_option("#id_section", label="Reading lists")
    page.select_option("#id_author", label="Test Author")
    pick_series(page, "The systems reading list")
    page.fill("#id_series_position", "1")
    page.fill("#id_tags", "Reading list, Systems")
    page.fill("#id_body", BODY)
    # An image dropped in at the end, then described and captioned.
    page.evaluate("document.querySelector('#id_body').setSelectionRange(99999, 99999)")
    drop(page, "#id_body", image_bytes("PNG", size=(1200, 600)), "disks.png", "image/png")
    page.wait_for_function(
        "() => document.querySelector('#id_body').value.includes('/media/images/')"
    )
    body = page.input_value("#id_body")
    page.fill(
        "#id_body",
        body.replace(
            "![Describe this image](", "![Three disks in a row, one of them smoking]("
        ).rstrip()[:-1]
        + ' "The storage lab, as I picture it.")\n',
    )
    for index, (group, title, commentary) in enumerate(LINKS):
        add_link(page, index, group, title, commentary, new_heading=index in (0, 3))

    # The live preview places the groups where the body says.
    preview = page.locator(".field-body .markdownx-preview")
    page.locator("#id_body").press("End")
    preview.locator(".link-slot[data-link-group='Networking'] li").nth(1).wait_for()
    assert preview.locator(".link-slot[data-link-group='Storage'] li").count() == 3
    preview.locator("figure figcaption").wait_for()
    screenshot(page, "reference-post-editor")

    click_button(page, "Save draft")
    errors = page.locator(".errorlist li, .errornote").all_inner_texts()
    assert not errors, errors
    post = Post.objects.get(slug="the-systems-reading-list-1")
    assert post.visibility == "draft"

    # The staff preview of the draft.
    page.goto(admin + post.get_absolute_url())
    assert "Preview" in page.locator(".preview-banner").inner_text()

    # Scheduled for tomorrow, then published at once.
    page.goto(admin + reverse("admin:blog_post_change", args=[post.pk]))
    tomorrow = timezone.localtime() + timedelta(days=1)
    page.fill("#id_published_at_0", tomorrow.strftime("%Y-%m-%d"))
    page.fill("#id_published_at_1", "09:00:00")
    click_button(page, "Schedule for…")
    post.refresh_from_db()
    assert post.visibility == "scheduled"
    page.goto(admin + reverse("admin:blog_post_change", args=[post.pk]))
    assert "Scheduled for" in page.locator(".bytepress-state").first.inner_text()
    click_button(page, "Publish now")
    post.refresh_from_db()
    assert post.visibility == "published"

    # Part 2, so that the series has two parts.
    page.goto(admin + reverse("admin:blog_post_add"))
    page.locator("#id_title").press_sequentially("The systems reading list #2")
    page.select_option("#id_section", label="Reading lists")
    page.select_option("#id_author", label="Test Author")
    pick_series(page, "The systems reading list")
    page.fill("#id_series_position", "2")
    page.fill("#id_body", "More to read, soon.")
    click_button(page, "Publish now")

    # A reader's view: the reference page's parts, in the reference page's order.
    reader = browser.new_page()
    reader.goto(live_server.url + post.get_absolute_url())
    order = reader.evaluate(ORDER_OF_PARTS)
    screenshot(reader, "reference-post-published")
    reader.close()
    assert order == [
        "title: The systems reading list #1",
        "subtitle: Logs, trees, checksums and the network in between",
        "series: The systems reading list · part 1 of 2",
        "date",
        "heading: Why a list",
        "text",
        "heading: What I read",
        "text",
        "links: Storage (3)",
        "text",
        "links: Networking (2)",
        "image: The storage lab, as I picture it.",
    ]


# Walks the article in document order and names each part the reference page has.
ORDER_OF_PARTS = """
() => {
  const parts = [];
  const article = document.querySelector("article.post");
  const walk = (node) => {
    for (const el of node.children) {
      if (el.matches("h1")) parts.push("title: " + el.textContent.trim());
      else if (el.matches(".post__subtitle")) parts.push("subtitle: " + el.textContent.trim());
      else if (el.matches(".post__series")) parts.push("series: " + el.textContent.trim().replace(/\\s+/g, " "));
      else if (el.matches("p.meta")) parts.push("date");
      else if (el.matches(".post__links--placed")) {
        parts.push("links: " + el.querySelector("h2").textContent.trim() + " (" + el.querySelectorAll("li").length + ")");
      } else if (el.matches(".prose h2")) parts.push("heading: " + el.firstChild.textContent.trim());
      else if (el.matches(".prose figure")) parts.push("image: " + el.querySelector("figcaption").textContent.trim());
      else if (el.matches(".prose > p")) parts.push("text");
      else if (!el.matches("aside, nav, footer, .post__tags")) walk(el);
    }
  };
  walk(article);
  return parts.filter((part, i) => !(part === "text" && parts[i - 1] === "text"));
}
"""
