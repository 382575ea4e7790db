"""Autosave: the form's content is kept every few seconds, never touching the live post;
a newer autosave is offered on reopening; a stale second save is refused once."""

import json

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from lxml import html as lxml_html

from blog import services
from blog.models import Post, Revision

from .test_admin import post_form

pytestmark = pytest.mark.django_db

AUTOSAVE = reverse("post-autosave")


def form_of(post, **changes):
    when = timezone.localtime(post.published_at)
    data = post_form(
        post.section,
        post.author,
        title=post.title,
        slug=post.slug,
        body=post.body,
        status=post.status,
        published_at_0=when.strftime("%Y-%m-%d"),
        published_at_1=when.strftime("%H:%M:%S"),
    )
    data.update(changes)
    return data


def autosave_config(response):
    doc = lxml_html.fromstring(response.content.decode())
    return json.loads(doc.get_element_by_id("bytepress-autosave").text)


@pytest.fixture
def live_post(make_post, staff_client):
    post = make_post(title="Live post", body="What readers see.")
    services.save_post(post, user=staff_client.user)
    return Post.objects.get(pk=post.pk)


def test_an_autosave_keeps_the_form_and_never_touches_the_live_post(live_post, staff_client):
    page_before = staff_client.get(live_post.get_absolute_url()).content
    feed_before = Client().get("/feed/")
    data = form_of(live_post, body="A half-written new paragraph.", _post_id=str(live_post.pk))
    response = staff_client.post(AUTOSAVE, data)
    assert response.status_code == 200
    autosave = Revision.objects.get(kind=Revision.Kind.AUTOSAVE)
    assert autosave.post == live_post and autosave.created_by == staff_client.user
    assert autosave.data["form"]["body"] == ["A half-written new paragraph."]
    assert "csrfmiddlewaretoken" not in autosave.data["form"]
    fresh = Post.objects.get(pk=live_post.pk)
    assert (fresh.body, fresh.updated_at) == (live_post.body, live_post.updated_at)
    assert staff_client.get(live_post.get_absolute_url()).content == page_before
    again = Client().get("/feed/", HTTP_IF_NONE_MATCH=feed_before["ETag"])
    assert again.status_code == 304, "the feeds did not change"


def test_each_author_keeps_one_autosave_per_post(live_post, staff_client):
    for body in ["one", "two", "three"]:
        staff_client.post(AUTOSAVE, form_of(live_post, body=body, _post_id=str(live_post.pk)))
    [autosave] = Revision.objects.filter(kind=Revision.Kind.AUTOSAVE)
    assert autosave.data["form"]["body"] == ["three"]
    assert live_post.revisions.exclude(kind=Revision.Kind.AUTOSAVE).count() == 1


def test_reopening_the_form_offers_a_newer_autosave_until_saved(live_post, staff_client):
    change_url = reverse("admin:blog_post_change", args=[live_post.pk])
    assert autosave_config(staff_client.get(change_url))["offered"] is None
    staff_client.post(
        AUTOSAVE, form_of(live_post, body="Unsaved words.", _post_id=str(live_post.pk))
    )
    offered = autosave_config(staff_client.get(change_url))["offered"]
    assert offered["form"]["body"] == ["Unsaved words."]
    # Saving the post spends the autosave.
    response = staff_client.post(change_url, form_of(live_post, body="Saved words."))
    assert response.status_code == 302
    assert response.cookies["bytepress_saved"].value.endswith(f":{live_post.pk}")
    assert not Revision.objects.filter(kind=Revision.Kind.AUTOSAVE).exists()
    assert autosave_config(staff_client.get(change_url))["offered"] is None


def test_a_post_not_saved_yet_is_autosaved_too(staff_client, section, author):
    staff_client.post(AUTOSAVE, post_form(section, author, body="A new idea.", _post_id=""))
    config = autosave_config(staff_client.get(reverse("admin:blog_post_add")))
    assert config["offered"]["form"]["body"] == ["A new idea."]
    assert config["postId"] == ""


def test_autosaves_are_not_listed_as_revisions(live_post, staff_client):
    staff_client.post(AUTOSAVE, form_of(live_post, body="Draft words.", _post_id=str(live_post.pk)))
    listing = staff_client.get(reverse("post-revisions", args=[live_post.pk]))
    rows = lxml_html.fromstring(listing.content).cssselect(".bytepress-revisions tbody tr")
    assert len(rows) == 1


def test_an_ended_session_gets_an_answer_the_editor_can_explain(live_post, django_user_model):
    anonymous = Client()
    response = anonymous.post(AUTOSAVE, {"body": "x", "_post_id": str(live_post.pk)})
    assert response.status_code == 401
    assert "log in again" in response.json()["error"]
    reader = django_user_model.objects.create_user("reader", password="pw")
    anonymous.force_login(reader)
    assert anonymous.post(AUTOSAVE, {"_post_id": ""}).status_code == 403
    staff = django_user_model.objects.create_user("helper", password="pw", is_staff=True)
    anonymous.force_login(staff)
    assert anonymous.post(AUTOSAVE, {"_post_id": ""}).status_code == 403
    assert not Revision.objects.filter(kind=Revision.Kind.AUTOSAVE).exists()


def test_autosave_needs_post_and_a_csrf_token(live_post, django_user_model):
    client = Client(enforce_csrf_checks=True)
    client.force_login(django_user_model.objects.create_superuser("strict", password="pw"))
    assert client.get(AUTOSAVE).status_code == 405
    assert client.post(AUTOSAVE, {"_post_id": str(live_post.pk)}).status_code == 403


def test_a_deleted_post_cannot_be_autosaved(staff_client):
    response = staff_client.post(AUTOSAVE, {"_post_id": "424242", "body": "x"})
    assert response.status_code == 404


def test_only_a_save_of_the_form_spends_its_autosave(live_post, staff_client, make_post):
    """Publishing another post, or this one from the list, keeps the autosaves: they
    hold text the form has not saved."""
    staff_client.post(AUTOSAVE, form_of(live_post, body="Unsaved.", _post_id=str(live_post.pk)))
    staff_client.post(AUTOSAVE, post_form(live_post.section, live_post.author, _post_id=""))
    other = make_post(status=Post.Status.DRAFT, published_at=None)
    changelist = reverse("admin:blog_post_changelist")
    for post in (other, live_post):
        staff_client.post(changelist, {"action": "publish", "_selected_action": [post.pk]})
    assert Revision.objects.filter(kind=Revision.Kind.AUTOSAVE).count() == 2
    change_url = reverse("admin:blog_post_change", args=[live_post.pk])
    assert staff_client.post(change_url, form_of(live_post, body="Saved.")).status_code == 302
    [left] = Revision.objects.filter(kind=Revision.Kind.AUTOSAVE)
    assert left.post is None, "the new post's autosave is another form's"


def test_a_second_editor_is_warned_before_overwriting(live_post, staff_client, django_user_model):
    change_url = reverse("admin:blog_post_change", args=[live_post.pk])
    opened = autosave_config(staff_client.get(change_url))  # editor 1 opens the form
    opened_revision = (
        lxml_html.fromstring(staff_client.get(change_url).content.decode())
        .cssselect("input[name='_opened_revision']")[0]
        .get("value")
    )
    other = Client()
    other.force_login(django_user_model.objects.create_superuser("second", password="pw"))
    other_form = form_of(live_post, body="The second editor's words.")
    other_form["_opened_revision"] = opened_revision
    assert other.post(change_url, other_form).status_code == 302  # editor 2 saves first
    mine = form_of(live_post, body="My words.", _opened_revision=opened_revision)
    response = staff_client.post(change_url, mine)
    assert response.status_code == 200, "refused, not saved"
    page = response.content.decode()
    assert "changed by second at" in page
    doc = lxml_html.fromstring(page)
    assert doc.cssselect("textarea#id_body")[0].text.strip() == "My words.", "nothing is lost"
    assert Post.objects.get(pk=live_post.pk).body == "The second editor's words."
    # The form now carries the newer revision: saving again overwrites, knowingly.
    mine["_opened_revision"] = doc.cssselect("input[name='_opened_revision']")[0].get("value")
    assert staff_client.post(change_url, mine).status_code == 302
    assert Post.objects.get(pk=live_post.pk).body == "My words."
    assert opened["postId"] == live_post.pk


def test_discarding_drops_only_this_authors_autosave_of_this_post(
    live_post, staff_client, django_user_model
):
    staff_client.post(AUTOSAVE, form_of(live_post, body="Mine.", _post_id=str(live_post.pk)))
    other = Client()
    other.force_login(django_user_model.objects.create_superuser("other", password="pw"))
    other.post(AUTOSAVE, form_of(live_post, body="Theirs.", _post_id=str(live_post.pk)))
    response = staff_client.post(reverse("post-autosave-discard"), {"_post_id": live_post.pk})
    assert response.json() == {"discarded": True}
    [left] = Revision.objects.filter(kind=Revision.Kind.AUTOSAVE)
    assert left.data["form"]["body"] == ["Theirs."]
