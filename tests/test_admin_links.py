"""A post's links in the admin: compact rows, and group headings that a typo cannot split."""

import pytest
from django.forms import inlineformset_factory
from django.urls import reverse
from django.utils import timezone
from lxml import html as lxml_html

from blog.forms import LinkForm, LinkFormSet, similar_heading
from blog.models import Link, Post

from .test_admin import errors_by_field, post_form

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("heading", "meant"),
    [
        ("storage", "Storage"),
        ("Storage.", "Storage"),
        ("S torage", "Storage"),
        ("Storgae", "Storage"),  # two letters swapped
        ("Storag", "Storage"),
        ("Distributed sytems", "Distributed systems"),
        ("Tools", None),
        ("Part", None),
        ("Io", None),  # short headings: only case, spaces and punctuation count
        ("★", None),  # nothing to compare
    ],
)
def test_similar_heading_finds_the_heading_a_typo_meant(heading, meant):
    existing = ["Storage", "Go", "Distributed systems", "★★"]
    assert similar_heading(heading, existing) == meant


def link_data(prefix="links-0", **fields):
    data = {"position": "1", "group": "", "title": "A link", "url": "https://example.org"}
    data.update(fields)
    return {f"{prefix}-{key}": value for key, value in data.items()}


def link_form(data, groups=("Storage", "Databases")):
    return LinkForm(data, prefix="links-0", groups=groups)


def test_a_new_heading_close_to_an_existing_one_is_refused_naming_it():
    form = link_form(link_data(group_new="storage "))
    assert not form.is_valid()
    assert form.errors["group"] == [
        "Did you mean “Storage”? Pick it from the list, or confirm that “storage” starts a "
        "new group."
    ]
    # The row offers the confirmation, and keeps what was typed.
    doc = lxml_html.fromstring(str(form["group"]))
    assert doc.cssselect("input[name='links-0-group_confirm'][value='storage']")
    assert doc.cssselect("input[name='links-0-group_new']")[0].get("value") == "storage"


def test_a_typo_posted_without_javascript_is_refused_too():
    # No picker script: the select's value arrives as is ("Storgae" is not a choice).
    form = link_form(link_data(group="Storgae"))
    assert not form.is_valid()
    assert "Did you mean “Storage”?" in form.errors["group"][0]


def test_a_confirmed_new_heading_is_kept():
    form = link_form(link_data(group_new="storage", group_confirm="storage"))
    assert form.is_valid(), form.errors
    assert form.cleaned_data["group"] == "storage"


def test_a_confirmation_of_another_heading_does_not_count():
    form = link_form(link_data(group_new="storage", group_confirm="Storag"))
    assert not form.is_valid()


def test_headings_picked_or_typed_exactly_are_accepted():
    groups = ["Part 1", "Part 2"]
    assert link_form(link_data(group="Part 2"), groups).is_valid(), "picked from the list"
    assert link_form(link_data(group_new="Part 1"), groups).is_valid(), "typed exactly"
    assert link_form(link_data(group_new="Benchmarks"), groups).is_valid(), "new, unlike any"
    assert link_form(link_data(group=""), groups).is_valid(), "no heading"


def test_picking_a_heading_and_typing_another_is_refused():
    form = link_form(link_data(group="Storage", group_new="Queues"))
    assert form.errors["group"] == ["Pick a heading or type a new one, not both."]


def test_new_headings_typed_in_two_rows_are_compared_with_each_other(make_post):
    post = make_post()
    data = {
        "links-TOTAL_FORMS": "3",
        "links-INITIAL_FORMS": "0",
        **link_data("links-0", group_new="Queues", title="One"),
        **link_data("links-1", group_new="Queues", title="Two"),
        **link_data("links-2", group_new="queues", title="Three"),
    }
    formset_class = inlineformset_factory(
        Post, Link, form=LinkForm, formset=LinkFormSet, fields=LinkForm.Meta.fields
    )
    formset = formset_class(data, instance=post, prefix="links")
    assert not formset.is_valid()
    assert [form.errors.get("group") for form in formset.forms] == [
        None,
        None,
        [
            "Did you mean “Queues”? Pick it from the list, or confirm that “queues” starts "
            "a new group."
        ],
    ]


# --- through the admin's change form ----------------------------------------------------


def reading_list(make_post):
    post = make_post(title="Reading list", slug="reading-list")
    for position, group, title in [
        (1, "Storage", "LSM trees"),
        (2, "", "An aside"),
        (3, "Databases", "Postgres internals"),
        (4, "Storage", "B-trees"),
    ]:
        Link.objects.create(
            post=post,
            position=position,
            group=group,
            title=title,
            url=f"https://example.org/{position}",
            commentary=f"On *{title}*.",
        )
    return post


def change_form(post, links):
    """The post's change form, its links given as (link or None, fields) pairs."""
    data = post_form(
        post.section,
        post.author,
        title=post.title,
        slug=post.slug,
        body=post.body,
        # As the form shows it: a published post keeps its date.
        published_at_0=timezone.localtime(post.published_at).strftime("%Y-%m-%d"),
        published_at_1=timezone.localtime(post.published_at).strftime("%H:%M:%S"),
        **{
            "links-TOTAL_FORMS": str(len(links)),
            "links-INITIAL_FORMS": str(sum(link is not None for link, _ in links)),
        },
    )
    for index, (link, fields) in enumerate(links):
        prefix = f"links-{index}"
        data[f"{prefix}-post"] = post.pk
        data[f"{prefix}-id"] = link.pk if link else ""
        if link:
            fields = {
                "position": link.position,
                "group": link.group,
                "title": link.title,
                "url": link.url,
                "commentary": link.commentary,
                **fields,
            }
        data.update({f"{prefix}-{key}": value for key, value in fields.items()})
    return data


def test_link_rows_offer_the_posts_headings_and_a_small_commentary_box(staff_client, make_post):
    post = reading_list(make_post)
    response = staff_client.get(reverse("admin:blog_post_change", args=[post.pk]))
    doc = lxml_html.fromstring(response.content.decode())
    for row in ("links-0", "links-3", "links-empty"):
        options = [o.text for o in doc.cssselect(f"#{row} td.field-group select option")]
        assert options == ["No heading", "Storage", "Databases", "New heading…"], row
        commentary = doc.cssselect(f"#{row} textarea.bytepress-commentary")[0]
        assert commentary.get("rows") == "3"
        assert "markdownx" not in commentary.get("class"), "no live-preview editor per row"
    assert not doc.cssselect("#links-group .markdownx"), "no live preview in link rows"
    selected = doc.cssselect("#links-3 td.field-group option[selected]")
    assert [o.text for o in selected] == ["Storage"]
    button = doc.cssselect("#links-0 .bytepress-preview-button")[0]
    assert button.get("data-url") == reverse("markdownx_markdownify")
    # The main body keeps its live-preview editor.
    assert doc.cssselect(".field-body .markdownx textarea#id_body.markdownx-editor")


def test_links_are_saved_reordered_and_deleted_through_the_change_form(staff_client, make_post):
    post = reading_list(make_post)
    lsm, aside, postgres, btrees = post.links.all()
    data = change_form(
        post,
        [
            (lsm, {"position": "2"}),
            (aside, {"DELETE": "on"}),
            (postgres, {"position": "1", "group": "Storage"}),
            (btrees, {"group": "", "group_new": "Indexes"}),
            (None, {"position": "5", "group": "Indexes", "title": "New", "url": "example.org/n"}),
        ],
    )
    response = staff_client.post(reverse("admin:blog_post_change", args=[post.pk]), data)
    assert response.status_code == 302, errors_by_field(response)
    saved = [(link.title, link.group, link.url) for link in post.links.all()]
    assert saved == [
        ("Postgres internals", "Storage", "https://example.org/3"),
        ("LSM trees", "Storage", "https://example.org/1"),
        ("B-trees", "Indexes", "https://example.org/4"),
        ("New", "Indexes", "https://example.org/n"),
    ]
    assert post.links.get(title="LSM trees").commentary_html == "<p>On <em>LSM trees</em>.</p>"


def test_a_heading_typo_in_the_change_form_is_refused_until_confirmed(staff_client, make_post):
    post = reading_list(make_post)
    lsm, aside, postgres, btrees = post.links.all()
    url = reverse("admin:blog_post_change", args=[post.pk])
    rows = [
        (lsm, {}),
        (aside, {}),
        (postgres, {}),
        (btrees, {"group": "", "group_new": "Strorage"}),
    ]
    response = staff_client.post(url, change_form(post, rows))
    assert response.status_code == 200
    doc = lxml_html.fromstring(response.content.decode())
    assert [li.text_content() for li in doc.cssselect("#links-3 ul.errorlist li")] == [
        "Did you mean “Storage”? Pick it from the list, or confirm that “Strorage” starts a "
        "new group."
    ]
    assert post.links.get(pk=btrees.pk).group == "Storage", "nothing was saved"

    rows[3][1]["group_confirm"] = "Strorage"
    response = staff_client.post(url, change_form(post, rows))
    assert response.status_code == 302, errors_by_field(response)
    assert post.links.get(pk=btrees.pk).group == "Strorage"


def test_a_new_post_can_start_its_groups(staff_client, section, author):
    data = post_form(
        section,
        author,
        **{"links-TOTAL_FORMS": "2"},
        **link_data("links-0", group="", group_new="Papers", title="First"),
        **link_data("links-1", group="Papers", title="Second"),
    )
    response = staff_client.post(reverse("admin:blog_post_add"), data)
    assert response.status_code == 302, errors_by_field(response)
    assert [link.group for link in Post.objects.get().links.all()] == ["Papers", "Papers"]
