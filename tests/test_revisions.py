"""Revisions: every save records one; a diff reads well; a restore loses nothing."""

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from lxml import html as lxml_html

from blog import revisions, services
from blog.models import Link, Post, Revision, Series, Tag

from .conftest import image_bytes
from .test_admin import post_form
from .test_renditions import library_image

pytestmark = pytest.mark.django_db


def links_data(*links):
    """The Link rows of the admin form: (group, title, url, commentary) each."""
    data = {
        "links-TOTAL_FORMS": str(len(links)),
        "links-INITIAL_FORMS": "0",
        "links-MIN_NUM_FORMS": "0",
        "links-MAX_NUM_FORMS": "1000",
    }
    for i, (group, title, url, commentary) in enumerate(links):
        data.update(
            {
                f"links-{i}-position": str(i + 1),
                f"links-{i}-group": "",
                f"links-{i}-group_new": group,
                f"links-{i}-title": title,
                f"links-{i}-url": url,
                f"links-{i}-commentary": commentary,
            }
        )
    return data


def save_through_admin(client, post, **fields):
    """Change ``post`` through its admin form; its links are replaced by ``links``."""
    links = fields.pop("links", ())
    data = post_form(post.section, post.author, **fields)
    data.update(links_data(*links))
    # Existing links are deleted through the form, as an author would.
    existing = list(post.links.order_by("position", "pk"))
    data["links-INITIAL_FORMS"] = str(len(existing))
    data["links-TOTAL_FORMS"] = str(len(existing) + len(links))
    renumbered = {}
    for key, value in links_data(*links).items():
        if key.startswith("links-") and key.split("-")[1].isdigit():
            index = int(key.split("-")[1]) + len(existing)
            renumbered[f"links-{index}-{key.split('-', 2)[2]}"] = value
    data = {k: v for k, v in data.items() if not (k.split("-")[1:2] and k.split("-")[1].isdigit())}
    data.update(renumbered)
    for i, link in enumerate(existing):
        data.update(
            {
                f"links-{i}-id": str(link.pk),
                f"links-{i}-post": str(post.pk),
                f"links-{i}-position": str(link.position),
                f"links-{i}-group": link.group,
                f"links-{i}-title": link.title,
                f"links-{i}-url": link.url,
                f"links-{i}-commentary": link.commentary,
                f"links-{i}-DELETE": "on",
            }
        )
    response = client.post(reverse("admin:blog_post_change", args=[post.pk]), data)
    assert response.status_code == 302, response.content.decode()[:3000]
    return response


@pytest.fixture
def series(db):
    return Series.objects.create(title="Reading lists", slug="reading-lists")


@pytest.fixture
def written(staff_client, section, author, series):
    """A post written through the admin: body, tags, series place and two link groups."""
    data = post_form(
        section,
        author,
        title="The reading list #1",
        slug="reading-list-1",
        body="First version of the intro.",
        tags="Machine learning, Papers",
        series=str(series.pk),
        series_position="1",
    )
    data.update(
        links_data(
            ("Papers", "Mamba", "https://example.org/mamba", "A *state space* model."),
            ("Papers", "Infini-attention", "https://example.org/infini", "Long context."),
            ("Libraries", "WebLLM", "https://example.org/webllm", "Runs in the browser."),
        )
    )
    response = staff_client.post(reverse("admin:blog_post_add"), data)
    assert response.status_code == 302, response.content.decode()[:3000]
    return Post.objects.get(slug="reading-list-1")


def test_every_admin_save_records_a_revision_of_everything(written, staff_client, series):
    [revision] = written.revisions.all()
    assert revision.kind == Revision.Kind.SAVE
    assert revision.created_by == staff_client.user
    data = revision.data
    assert data["fields"]["body"] == "First version of the intro."
    assert [t["name"] for t in data["tags"]] == ["Machine learning", "Papers"]
    assert data["series"] == {"id": series.pk, "title": "Reading lists", "position": 1}
    assert [(link["group"], link["title"], link["position"]) for link in data["links"]] == [
        ("Papers", "Mamba", 1),
        ("Papers", "Infini-attention", 2),
        ("Libraries", "WebLLM", 3),
    ]
    save_through_admin(staff_client, written, title=written.title, slug=written.slug)
    assert written.revisions.count() == 2


def test_a_restore_brings_everything_back_as_a_new_revision(written, staff_client):
    first = written.revisions.get()
    save_through_admin(
        staff_client,
        written,
        title="Renamed",
        slug="reading-list-1",
        body="A rewritten intro.",
        tags="Other",
        links=[("Tools", "Ruff", "https://example.org/ruff", "Fast.")],
    )
    written.refresh_from_db()
    assert written.body == "A rewritten intro."
    response = staff_client.post(
        reverse("post-revision-restore", args=[written.pk, first.pk]), follow=True
    )
    assert response.status_code == 200
    written.refresh_from_db()
    latest = written.revisions.first()
    assert latest.kind == Revision.Kind.RESTORE
    assert written.revisions.count() == 3, "the restore is a revision; nothing is dropped"
    assert revisions.content_of(latest.data) == revisions.content_of(first.data)
    assert written.body_html.startswith("<p>First version")
    # Saving again through the form, unchanged, keeps the identical content.
    form = staff_client.get(reverse("admin:blog_post_change", args=[written.pk]))
    data = dict(lxml_html.fromstring(form.content).get_element_by_id("post_form").form_values())
    response = staff_client.post(reverse("admin:blog_post_change", args=[written.pk]), data)
    assert response.status_code == 302
    assert written.revisions.count() == 4
    assert revisions.content_of(written.revisions.first().data) == revisions.content_of(first.data)


def test_a_restore_keeps_the_publication_state(written, staff_client):
    first = written.revisions.get()
    services.publish_posts([written], user=staff_client.user)
    services.restore_revision(first, user=staff_client.user)
    written.refresh_from_db()
    assert written.visibility == "published"


def test_what_cannot_be_restored_is_named_and_the_rest_comes_back(written, staff_client, make_post):
    cover = library_image(image_bytes("PNG", size=(400, 300)), name="gone.png")
    written.cover = cover
    services.save_post(written, user=staff_client.user)
    old = written.revisions.first()
    written.cover = None
    written.body = "Changed."
    services.save_post(written, user=staff_client.user)
    cover.delete()
    Tag.objects.get(name="Papers").delete()
    response = staff_client.post(
        reverse("post-revision-restore", args=[written.pk, old.pk]), follow=True
    )
    messages = [str(m) for m in response.context["messages"]]
    [warning] = [m for m in messages if m.startswith("Could not be restored")]
    assert "the cover image" in warning and "the tag “Papers” (deleted)" in warning
    written.refresh_from_db()
    assert written.body == "First version of the intro."
    assert written.cover is None
    assert [t.name for t in written.tags.all()] == ["Machine learning"]
    assert written.links.count() == 3


def test_publishing_and_unpublishing_record_revisions(make_post, staff_client):
    post = make_post(status=Post.Status.DRAFT, published_at=None)
    staff_client.post(
        reverse("admin:blog_post_changelist"), {"action": "publish", "_selected_action": [post.pk]}
    )
    assert post.revisions.get().data["status"] == "published"
    assert post.revisions.get().first_published


def test_a_save_of_other_fields_queries_no_other_table(make_post):
    post = make_post(body="Some *text* with ![an image](/media/x.png).")
    post.status = Post.Status.DRAFT
    with CaptureQueriesContext(connection) as ctx:
        post.save(update_fields=["status", "updated_at"])
    # No rendering, no image or tag tables: the post's row, and the content version that
    # caches follow (blog.signals).
    tables = {
        re.search(r'(?:FROM|UPDATE|INTO) "?(\w+)"?', q["sql"]).group(1)
        for q in ctx.captured_queries
    }
    assert tables <= {"blog_post", "blog_siteversion"}, ctx.captured_queries
    assert any(q["sql"].startswith('UPDATE "blog_post"') for q in ctx.captured_queries)


def test_old_revisions_are_pruned_but_never_the_first_published(make_post, settings):
    settings.BYTEPRESS_MAX_REVISIONS = 3
    post = make_post(status=Post.Status.DRAFT, published_at=None)
    services.save_post(post)
    services.publish_posts([post])
    first_published = post.revisions.get(first_published=True)
    for i in range(6):
        post.body = f"Edit {i}"
        services.save_post(post)
    kept = list(post.revisions.all())
    assert len(kept) == 3  # the 2 newest and the first published
    assert first_published in kept
    assert kept[0].data["fields"]["body"] == "Edit 5"


def test_the_diff_shows_what_changed_line_by_line(written, staff_client):
    first = written.revisions.get()
    save_through_admin(
        staff_client, written, title="The reading list #1", slug="reading-list-1",
        body="First version of the intro.\n\nA second paragraph.", tags="Machine learning, Papers",
    )  # fmt: skip
    second = written.revisions.first()
    page = staff_client.get(reverse("post-revision", args=[written.pk, second.pk]))
    doc = lxml_html.fromstring(page.content)
    labels = [h.text_content() for h in doc.cssselect("#content-main h3")]
    assert "Body" in labels
    assert "A second paragraph." in [ins.text_content() for ins in doc.cssselect("ins")]
    against_now = staff_client.get(
        reverse("post-revision", args=[written.pk, first.pk]) + "?against=current"
    )
    assert b"A second paragraph." in against_now.content
    listing = staff_client.get(reverse("post-revisions", args=[written.pk]))
    assert listing.status_code == 200
    assert (
        len(lxml_html.fromstring(listing.content).cssselect(".bytepress-revisions tbody tr")) == 2
    )
    change = staff_client.get(reverse("admin:blog_post_change", args=[written.pk]))
    assert reverse("post-revisions", args=[written.pk]).encode() in change.content


def test_revision_pages_need_the_right_to_change_posts(written, django_user_model):
    client = Client()  # not the staff client that wrote the post
    revision = written.revisions.get()
    urls = [
        reverse("post-revisions", args=[written.pk]),
        reverse("post-revision", args=[written.pk, revision.pk]),
    ]
    restore = reverse("post-revision-restore", args=[written.pk, revision.pk])
    for url in [*urls, restore]:
        assert client.get(url).status_code == 302  # to the login page
    viewer = django_user_model.objects.create_user("viewer", password="pw", is_staff=True)
    client.force_login(viewer)
    assert client.get(urls[0]).status_code == 403
    viewer.user_permissions.add(Permission.objects.get(codename="change_post"))
    assert client.get(urls[0]).status_code == 200
    assert client.get(restore).status_code == 405, "restoring needs a POST"


def test_a_revision_of_another_post_is_not_found(written, make_post, staff_client):
    other = make_post()
    revision = written.revisions.get()
    url = reverse("post-revision", args=[other.pk, revision.pk])
    assert staff_client.get(url).status_code == 404


def test_links_restore_in_their_order_with_their_groups(written):
    first = written.revisions.get()
    Link.objects.filter(post=written).delete()
    services.restore_revision(first)
    assert [(link.group, link.title) for link in written.links.order_by("position")] == [
        ("Papers", "Mamba"),
        ("Papers", "Infini-attention"),
        ("Libraries", "WebLLM"),
    ]


def test_revisions_keep_the_date_a_scheduled_post_goes_live(make_post):
    later = timezone.now() + timedelta(days=2)
    post = make_post(published_at=later)
    revision = services.save_post(post)
    assert revision.data["published_at"] == later.replace(microsecond=0).isoformat()
    # It goes public without another save: this is the revision readers will see.
    assert revision.first_published


def test_a_restore_onto_an_address_now_taken_keeps_the_current_one(written, make_post):
    first = written.revisions.get()
    written.slug = "renamed"
    services.save_post(written)
    make_post(slug="reading-list-1", section=written.section)  # another post takes it
    result = services.restore_revision(first)
    written.refresh_from_db()
    assert written.slug == "renamed"
    assert any("…/reading-list-1/ (another post uses it now)" in m for m in result.not_restored)


def test_a_restore_names_images_of_the_body_that_are_gone(make_post):
    picture = library_image(image_bytes("PNG", size=(400, 300)), name="chart.png")
    post = make_post(body=f"![A chart]({picture.file.url})")
    old = services.save_post(post)
    post.body = "No picture now."
    services.save_post(post)
    picture.delete()
    result = services.restore_revision(old)
    assert any("the image “" in m and "in the body" in m for m in result.not_restored)


def test_a_restore_that_fails_the_forms_checks_changes_nothing(make_post, staff_client):
    post = make_post(body="![Describe this image](/media/x.png)", status=Post.Status.DRAFT)
    draft_revision = services.save_post(post)
    post.body = "Fixed, then published."
    post.status = Post.Status.PUBLISHED
    services.save_post(post)
    response = staff_client.post(
        reverse("post-revision-restore", args=[post.pk, draft_revision.pk]), follow=True
    )
    messages = [str(m) for m in response.context["messages"]]
    assert any(m.startswith("The revision was not restored") for m in messages)
    post.refresh_from_db()
    assert post.body == "Fixed, then published."
    assert post.revisions.count() == 2


@pytest.mark.parametrize(
    ("name", "args", "path", "view"),
    [
        ("post-revisions", [7], "/admin/blog/post/7/revisions/", "revision_list"),
        ("post-revision", [7, 3], "/admin/blog/post/7/revisions/3/", "revision_diff"),
        (
            "post-revision-restore",
            [7, 3],
            "/admin/blog/post/7/revisions/3/restore/",
            "revision_restore",
        ),
        ("post-autosave", [], "/admin/blog/post/autosave/", "autosave"),
        ("post-autosave-discard", [], "/admin/blog/post/autosave/discard/", "discard_autosave"),
    ],
)
def test_editing_routes_reverse_and_resolve(name, args, path, view):
    from django.urls import resolve

    assert reverse(name, args=args) == path
    assert resolve(path).func.__name__ == view
