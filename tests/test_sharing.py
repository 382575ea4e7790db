"""Share-preview links: a signed, expiring, revocable URL to a draft or scheduled post."""

import importlib
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest
from django.apps import apps
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission
from django.core import signing
from django.db import connection
from django.db.models.signals import post_save
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import resolve, reverse
from django.utils import timezone
from django.utils.formats import date_format
from lxml import html as lxml_html

from blog import sharing, views
from blog.models import Post

from . import test_settings as settings_tests
from .conftest import screenshot

pytestmark = pytest.mark.django_db

DAY = 24 * 60 * 60


def parse(response):
    return lxml_html.fromstring(response.content)


def share_url(post) -> str:
    return reverse("blog:share-preview", kwargs={"token": sharing.make_token(post)})


def made_seconds_ago(post, seconds: float) -> str:
    """A share URL signed ``seconds`` ago (TimestampSigner reads time.time())."""
    with mock.patch("time.time", return_value=time.time() - seconds):
        return share_url(post)


@pytest.fixture
def draft(make_post):
    return make_post(status=Post.Status.DRAFT, title="Secret draft")


@pytest.fixture
def scheduled(make_post):
    return make_post(published_at=timezone.now() + timedelta(days=3), title="Secret draft")


def change_url(post) -> str:
    return reverse("admin:blog_post_change", args=[post.pk])


def revoke_url(post) -> str:
    return reverse("admin:blog_post_revoke_share", args=[post.pk])


def test_route_reverses_and_resolves():
    assert reverse("blog:share-preview", kwargs={"token": "a.b:c:d"}) == "/preview/a.b:c:d/"
    assert resolve("/preview/a.b:c:d/").func.view_class is views.SharedPreviewView


# --- the reader's side -------------------------------------------------------------------


@pytest.mark.parametrize("visibility", ["draft", "scheduled"])
def test_anyone_with_the_link_reads_a_draft_or_scheduled_post(
    client, request, visibility, settings
):
    """Without an account: the post page, marked as a shared preview with the link's
    expiry, never indexed and never stored by a cache."""
    post = request.getfixturevalue(visibility)
    before = int(time.time())
    response = client.get(share_url(post))
    assert response.status_code == 200
    cache_control = {part.strip() for part in response["Cache-Control"].split(",")}
    assert {"private", "no-store"} <= cache_control and "public" not in cache_control
    doc = parse(response)
    assert doc.cssselect("h1")[0].text_content() == "Secret draft"
    assert doc.cssselect('meta[name="robots"]')[0].get("content") == "noindex"
    banner = doc.cssselect(".preview-banner")[0]
    assert banner.text_content().startswith("Preview shared by the author")
    assert visibility in banner.text_content() and "Only staff" not in banner.text_content()
    expires = datetime.fromisoformat(banner.cssselect("time")[-1].get("datetime"))
    week = timedelta(days=settings.BYTEPRESS_SHARE_PREVIEW_DAYS)
    assert datetime.fromtimestamp(before, UTC) + week <= expires
    assert expires <= datetime.fromtimestamp(time.time(), UTC) + week


def test_a_shared_preview_is_not_kept_by_a_site_wide_cache(client, draft, settings):
    """Even behind Django's whole-site cache a revoked link stops working at once: the
    page was never stored."""
    settings.MIDDLEWARE = [
        "django.middleware.cache.UpdateCacheMiddleware",
        *settings.MIDDLEWARE,
        "django.middleware.cache.FetchFromCacheMiddleware",
    ]
    url = share_url(draft)
    assert client.get(url).status_code == 200
    sharing.revoke(draft)
    assert client.get(url).status_code == 404


def test_the_shared_page_costs_the_queries_of_the_public_page(
    client, make_post, draft, django_assert_num_queries
):
    public = make_post()
    client.get(public.get_absolute_url())  # the site chrome, built once per process
    with CaptureQueriesContext(connection) as public_queries:
        assert client.get(public.get_absolute_url()).status_code == 200
    with django_assert_num_queries(len(public_queries)):
        assert client.get(share_url(draft)).status_code == 200


def test_a_published_post_redirects_to_its_address(client, draft):
    url = share_url(draft)
    draft.status = Post.Status.PUBLISHED
    draft.save()
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == draft.get_absolute_url()


def test_a_scheduled_post_redirects_once_its_time_has_come(client, scheduled):
    url = share_url(scheduled)
    Post.objects.filter(pk=scheduled.pk).update(published_at=timezone.now() - timedelta(1))
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == scheduled.get_absolute_url()


def assert_not_found(client, url, not_found_page):
    """A 404 that shows nothing of the draft and says nothing about why."""
    response = client.get(url)
    assert response.status_code == 404
    assert b"Secret" not in response.content
    assert response.content == not_found_page


@pytest.fixture
def not_found_page(client, db):
    return client.get("/preview/nothing-here/").content


def test_a_tampered_token_is_404(client, draft, make_post, not_found_page):
    token = sharing.make_token(draft)
    value, stamp, signature = token.split(":")
    flipped = "A" if signature[-1] != "A" else "B"
    other_digit = "0" if value[0] != "0" else "1"
    tampered = [
        f"{value}:{stamp}:{signature[:-1]}{flipped}",  # the signature
        f"{other_digit}{value[1:]}:{stamp}:{signature}",  # the post's id
        f"{value}:{stamp[:-1]}{'1' if stamp[-1] != '1' else '2'}:{signature}",  # the time
        f"{value}:{stamp}",  # no signature
    ]
    other = make_post(status=Post.Status.DRAFT)
    # Another post's valid token, rewritten to name this post.
    tampered.append(sharing.make_token(other).replace(other.uuid.hex, draft.uuid.hex))
    for bad in tampered:
        assert_not_found(client, f"/preview/{bad}/", not_found_page)
    assert client.get(f"/preview/{token}/").status_code == 200


def test_a_token_signed_for_another_purpose_is_404(client, draft, not_found_page):
    """The same value signed without the sharing salt (as other features might sign
    things) is no share link."""
    value = f"{draft.uuid.hex}.{draft.share_key.hex}"
    for signer in (signing.TimestampSigner(), signing.TimestampSigner(salt="other")):
        assert_not_found(client, f"/preview/{signer.sign(value)}/", not_found_page)


def test_a_well_signed_token_with_a_malformed_value_is_404(client, not_found_page):
    signer = signing.TimestampSigner(salt=sharing.SALT)
    for value in ("not-a-uuid.also-not", "abc", "a.b.c"):
        assert_not_found(client, f"/preview/{signer.sign(value)}/", not_found_page)


def test_a_link_expires_after_the_configured_days(client, draft, settings, not_found_page):
    settings.BYTEPRESS_SHARE_PREVIEW_DAYS = 7
    assert client.get(made_seconds_ago(draft, 7 * DAY - 60)).status_code == 200
    assert_not_found(client, made_seconds_ago(draft, 7 * DAY + 1), not_found_page)


def test_a_shorter_setting_expires_links_already_given(client, draft, settings, not_found_page):
    two_days_old = made_seconds_ago(draft, 2 * DAY)
    settings.BYTEPRESS_SHARE_PREVIEW_DAYS = 3
    assert client.get(two_days_old).status_code == 200
    settings.BYTEPRESS_SHARE_PREVIEW_DAYS = 1
    assert_not_found(client, two_days_old, not_found_page)


def test_a_revoked_link_is_404_and_a_new_one_works(client, draft, not_found_page):
    old = share_url(draft)
    sharing.revoke(draft)
    assert_not_found(client, old, not_found_page)
    draft.refresh_from_db()
    assert client.get(share_url(draft)).status_code == 200


def test_revoking_one_post_leaves_the_others_links_working(client, draft, make_post):
    other = make_post(status=Post.Status.DRAFT)
    url = share_url(other)
    sharing.revoke(draft)
    assert client.get(url).status_code == 200


def test_a_link_to_a_deleted_post_is_404(client, draft, not_found_page):
    url = share_url(draft)
    draft.delete()
    assert_not_found(client, url, not_found_page)


def test_revoking_saves_nothing_else(draft):
    """A new key only: the post is not re-rendered, re-dated or re-indexed."""
    before = Post.objects.get(pk=draft.pk)
    with mock.patch.object(post_save, "send") as saved:
        sharing.revoke(draft)
    assert not saved.called
    after = Post.objects.get(pk=draft.pk)
    assert after.share_key == draft.share_key != before.share_key
    assert after.updated_at == before.updated_at


def test_every_post_gets_its_own_share_key(make_post):
    assert make_post().share_key != make_post().share_key


def test_the_migration_gives_existing_posts_distinct_keys(make_post):
    posts = [make_post(), make_post(), make_post()]
    shared = posts[0].share_key
    Post.objects.update(share_key=shared)  # what AddField leaves behind
    migration = importlib.import_module("blog.migrations.0006_share_preview")
    migration.give_each_post_its_own_key(apps, schema_editor=None)
    keys = set(Post.objects.values_list("share_key", flat=True))
    assert len(keys) == len(posts) and shared not in keys


@pytest.mark.parametrize(("value", "days"), [(None, 7), ("30", 30)])
def test_the_lifetime_comes_from_the_environment(value, days):
    env = {"DJANGO_DEBUG": "1", "DJANGO_SETTINGS_MODULE": "config.settings"}
    if value is not None:
        env["BYTEPRESS_SHARE_PREVIEW_DAYS"] = value
    show = "import django; from django.conf import settings as s; django.setup(); "
    show += "print(s.BYTEPRESS_SHARE_PREVIEW_DAYS)"
    environ = {k: v for k, v in os.environ.items() if not k.startswith("BYTEPRESS_")}
    result = subprocess.run(
        [sys.executable, "-c", show],
        cwd=settings_tests.ROOT,
        env={**environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(days)


@pytest.mark.parametrize("value", ["0", "-3", "week"])
def test_a_lifetime_under_a_day_refuses_to_start(value):
    result = settings_tests.load(DJANGO_DEBUG="1", BYTEPRESS_SHARE_PREVIEW_DAYS=value)
    assert "BYTEPRESS_SHARE_PREVIEW_DAYS" in settings_tests.last_line(result)


# --- the author's side, in the admin -----------------------------------------------------


def test_the_change_form_shows_an_absolute_link_that_works(staff_client, draft, settings):
    settings.SITE_URL = "https://blog.example.org"
    doc = parse(staff_client.get(change_url(draft)))
    field = doc.cssselect(".field-share_link")[0]
    link = field.cssselect('input[type="url"][readonly]')[0].get("value")
    assert link.startswith("https://blog.example.org/preview/")
    expires = timezone.localtime(timezone.now() + timedelta(days=7))
    assert f"until {date_format(expires, 'DATE_FORMAT')}" in field.text_content()
    reader = Client()
    response = reader.get(link.removeprefix("https://blog.example.org"))
    assert response.status_code == 200


def test_the_link_uses_the_request_host_without_site_url(staff_client, draft):
    doc = parse(staff_client.get(change_url(draft)))
    link = doc.cssselect('.field-share_link input[type="url"]')[0].get("value")
    assert link.startswith("http://testserver/preview/")


def test_the_revoke_button_submits_its_own_form_outside_the_post_form(staff_client, draft):
    """Its own form: inside the post's form, Enter in a field would press it."""
    doc = parse(staff_client.get(change_url(draft)))
    button = doc.cssselect('.field-share_link button[type="submit"]')[0]
    assert button.text_content() == "Revoke share links"
    form = doc.get_element_by_id(button.get("form"))
    assert form.tag == "form" and form.get("method") == "post"
    assert form.get("action") == revoke_url(draft)
    assert form.cssselect('input[name="csrfmiddlewaretoken"]')
    assert not doc.cssselect(f"#post_form #{button.get('form')}")


def test_a_published_post_offers_its_address_and_the_revoke_button(staff_client, make_post):
    doc = parse(staff_client.get(change_url(make_post())))
    field = doc.cssselect(".field-share_link")[0]
    assert "share its own address" in field.text_content()
    assert not field.cssselect("input") and field.cssselect("button[form]")


def test_the_add_form_says_to_save_first(staff_client, section, author):
    doc = parse(staff_client.get(reverse("admin:blog_post_add")))
    assert "Save the post" in doc.cssselect(".field-share_link")[0].text_content()


def test_revoking_in_the_admin_returns_to_the_form_with_a_message(client, staff_client, draft):
    old = share_url(draft)
    response = staff_client.post(revoke_url(draft), follow=True)
    assert response.redirect_chain == [(change_url(draft), 302)]
    assert [str(m) for m in response.context["messages"]] == [
        "Share links to “Secret draft” revoked: those given before no longer work."
    ]
    assert client.get(old).status_code == 404
    new = parse(response).cssselect('.field-share_link input[type="url"]')[0].get("value")
    assert client.get(new.removeprefix("http://testserver")).status_code == 200
    entry = LogEntry.objects.get(object_id=str(draft.pk))
    assert entry.get_change_message() == "Revoked the share links."


def test_revoking_needs_a_post(client, staff_client, draft):
    url = share_url(draft)
    assert staff_client.get(revoke_url(draft)).status_code == 405
    assert client.get(url).status_code == 200


def test_revoking_needs_the_csrf_token(client, draft, django_user_model):
    url = share_url(draft)
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(django_user_model.objects.create_superuser("csrf", password="pw"))
    assert browser.post(revoke_url(draft)).status_code == 403
    assert client.get(url).status_code == 200


def test_people_who_may_not_change_posts_cannot_revoke(client, draft, django_user_model):
    url = share_url(draft)
    reader = django_user_model.objects.create_user("reader", password="pw")
    client.force_login(reader)
    response = client.post(revoke_url(draft))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]

    viewer = django_user_model.objects.create_user("viewer", password="pw", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_post"))
    client.force_login(viewer)
    assert client.post(revoke_url(draft)).status_code == 403

    client.logout()
    assert client.post(revoke_url(draft)).status_code == 302
    assert client.get(url).status_code == 200


def test_revoking_a_missing_post_is_404(staff_client):
    assert (
        staff_client.post(reverse("admin:blog_post_revoke_share", args=[999999])).status_code == 404
    )


# --- in a browser ------------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_button_revokes_and_enter_in_a_field_still_saves(
    page, live_server, django_user_model, make_post
):
    post = make_post(status=Post.Status.DRAFT, title="Secret draft")
    django_user_model.objects.create_superuser(username="writer", password="correct-horse-42")
    page.goto(live_server.url + reverse("admin:login"))
    page.fill("#id_username", "writer")
    page.fill("#id_password", "correct-horse-42")
    page.click("input[type=submit]")
    page.wait_for_url(live_server.url + reverse("admin:index"))

    key = post.share_key
    page.goto(live_server.url + change_url(post))
    page.locator("#id_title").fill("Secret draft, retitled")
    page.locator("#id_title").press("Enter")
    page.wait_for_url(live_server.url + reverse("admin:blog_post_changelist"))
    post.refresh_from_db()
    assert post.title == "Secret draft, retitled" and post.share_key == key

    page.goto(live_server.url + change_url(post))
    old = page.locator(".field-share_link input").input_value()
    page.get_by_role("button", name="Revoke share links").click()
    page.wait_for_url(live_server.url + change_url(post))
    assert "revoked" in page.locator(".messagelist").inner_text()
    screenshot(page, "share-preview-revoked")
    new = page.locator(".field-share_link input").input_value()
    assert new != old
    assert page.request.get(old, max_redirects=0).status == 404
    assert page.request.get(new, max_redirects=0).status == 200


def test_staff_who_may_only_view_posts_get_no_share_link(client, make_post, django_user_model):
    from django.contrib.auth.models import Permission

    post = make_post(status=Post.Status.DRAFT)
    viewer = django_user_model.objects.create_user("viewer", password="pw", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_post"))
    client.force_login(viewer)
    page = client.get(reverse("admin:blog_post_change", args=[post.pk])).content.decode()
    assert "/preview/" not in page
    assert "Only those who may change the post can share it." in page
