"""Links where the author puts them: a "[links: Heading]" line places that group of the
post's links at that point of the body, on the page, in the feeds and in the preview."""

import feedparser
import pytest
from django.urls import reverse
from lxml import html as lxml_html

from blog.markdown import placed_link_groups, render_markdown
from blog.models import Link, Post

from .test_admin import errors_by_field, post_form
from .test_revisions import links_data

pytestmark = pytest.mark.django_db

BODY = """Intro paragraph.

[links: Papers]

A passage between the lists.

[links: Libraries]

Closing words."""


@pytest.fixture
def reading_list(make_post):
    post = make_post(body=BODY, slug="reading-list")
    rows = [
        ("Papers", "Mamba", "A state space model."),
        ("Papers", "Megalodon", "Long context, another way."),
        ("Libraries", "WebLLM", "Models in the browser."),
        ("Elsewhere", "A talk", "Not placed: comes after the body."),
    ]
    for position, (group, title, commentary) in enumerate(rows, start=1):
        Link.objects.create(
            post=post,
            group=group,
            title=title,
            url=f"https://example.org/{position}",
            commentary=commentary,
            position=position,
        )
    return post


def sequence(root):
    """The body's paragraphs and link titles, in document order."""
    return [
        " ".join(el.text_content().split())
        for el in root.iter()
        if (el.tag == "p" and "link__title" not in (el.get("class") or ""))
        or (el.tag == "a" and el.getparent().get("class") == "link__title")
        or el.tag == "h2"
    ]


EXPECTED = [
    "Intro paragraph.",
    "Papers",
    "Mamba",
    "Megalodon",
    "A passage between the lists.",
    "Libraries",
    "WebLLM",
    "Closing words.",
    "Elsewhere",
    "A talk",
]


def only(items, wanted):
    return [item for item in items if item in wanted]


def test_a_links_line_becomes_a_slot_and_code_is_left_alone():
    html = render_markdown("[links: Storage]\n\n```\n[links: In code]\n```\n\n[Links:Tools ]")
    assert placed_link_groups(html) == ["Storage", "Tools"]
    assert "[links: In code]" in html


def test_the_page_shows_each_group_where_the_body_places_it(client, reading_list):
    doc = lxml_html.fromstring(client.get(reading_list.get_absolute_url()).content)
    [article] = doc.cssselect("article.post")
    assert only(sequence(article), EXPECTED) == EXPECTED


def test_the_feeds_show_the_same_layout(client, reading_list):
    for url in ["/feed/", "/feed/atom/"]:
        entry = feedparser.parse(client.get(url).content).entries[0]
        content = lxml_html.fragment_fromstring(entry.content[0].value, create_parent="div")
        assert only(sequence(content), EXPECTED) == EXPECTED, url
    item = client.get("/feed.json").json()["items"][0]
    content = lxml_html.fragment_fromstring(item["content_html"], create_parent="div")
    assert only(sequence(content), EXPECTED) == EXPECTED


def test_a_slot_whose_links_are_gone_is_left_out(client, reading_list):
    reading_list.links.filter(group="Libraries").delete()
    doc = lxml_html.fromstring(client.get(reading_list.get_absolute_url()).content.decode())
    [article] = doc.cssselect("article.post")
    expected = [part for part in EXPECTED if part not in ("Libraries", "WebLLM")]
    assert only(sequence(article), EXPECTED) == expected


def post_with_links(section, author, body, *links):
    data = post_form(section, author, body=body)
    data.update(links_data(*links))
    return data


def test_an_unknown_heading_is_a_clear_error_and_nothing_is_saved(staff_client, section, author):
    data = post_with_links(
        section,
        author,
        "Intro.\n\n[links: Paper]",
        ("Papers", "Mamba", "https://example.org/m", ""),
    )
    response = staff_client.post(reverse("admin:blog_post_add"), data)
    assert response.status_code == 200
    doc = lxml_html.fromstring(response.content.decode())
    errors = " ".join(li.text_content() for li in doc.cssselect(".errorlist li"))
    assert "places links under “Paper”, but no link has that heading" in errors
    assert "“Papers”" in errors
    assert not Post.objects.exists()
    assert "[links: Paper]" in doc.cssselect("textarea#id_body")[0].text, "nothing is lost"
    assert not errors_by_field(response).get("title")


def test_a_heading_placed_twice_is_refused(staff_client, section, author):
    data = post_with_links(
        section,
        author,
        "[links: Papers]\n\nText.\n\n[links: Papers]",
        ("Papers", "Mamba", "https://example.org/m", ""),
    )
    response = staff_client.post(reverse("admin:blog_post_add"), data)
    assert b"twice" in response.content
    assert not Post.objects.exists()


def test_known_headings_save(staff_client, section, author):
    data = post_with_links(
        section,
        author,
        "Intro.\n\n[links: Papers]\n\nMore.",
        ("Papers", "Mamba", "https://example.org/m", "Worth it."),
    )
    response = staff_client.post(reverse("admin:blog_post_add"), data)
    assert response.status_code == 302
    assert placed_link_groups(Post.objects.get().body_html) == ["Papers"]
