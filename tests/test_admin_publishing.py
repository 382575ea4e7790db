"""The post form's publishing buttons: each decides the state before the form is checked."""

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from lxml import html as lxml_html

from blog.models import Post

from .conftest import screenshot
from .test_admin import ADD_URL, CHANGELIST, errors_by_field, post_form

pytestmark = pytest.mark.django_db

BUTTONS = {"_save", "_publish", "_schedule", "_unpublish"}
# Whole seconds: the admin's time field shows no microseconds, so a date sent back as
# the page shows it compares equal.
PAST = (timezone.now() - timedelta(days=30)).replace(microsecond=0)
FUTURE = (timezone.now() + timedelta(days=30)).replace(microsecond=0)


def change_url(post):
    return reverse("admin:blog_post_change", args=[post.pk])


def page_form(client, url):
    """The post form's values as the page shows them, and the parsed page."""
    doc = lxml_html.fromstring(client.get(url).content.decode())
    [form] = doc.cssselect("form#post_form")
    return dict(form.form_values()), doc


def press(client, post, button, **changes):
    """Submit the post's change form as shown, with ``changes``, by ``button``."""
    data, _ = page_form(client, change_url(post))
    data.update(changes)
    data[button] = "pressed"  # a submit button sends its name
    return client.post(change_url(post), data)


def date_fields(moment):
    local = timezone.localtime(moment)
    return {"published_at_0": f"{local:%Y-%m-%d}", "published_at_1": f"{local:%H:%M:%S}"}


def state_line(doc):
    return doc.cssselect(".submit-row .bytepress-state")[0].text_content().strip()


def offered(doc):
    """Labels of the publishing buttons in the first submit row, in order."""
    row = doc.cssselect(".submit-row")[0]
    return [b.get("value") for b in row.cssselect("input[type=submit]") if b.get("name") in BUTTONS]


def test_save_draft_never_publishes_even_when_the_status_field_says_so(
    staff_client, section, author
):
    data = post_form(section, author, status="published", _save="Save draft", **date_fields(PAST))
    response = staff_client.post(ADD_URL, data)
    assert response.status_code == 302, errors_by_field(response)
    assert response["Location"] == CHANGELIST
    post = Post.objects.get()
    assert (post.visibility, post.published_at) == ("draft", PAST)


def test_publish_now_publishes_a_new_post_at_once(staff_client, section, author):
    before = timezone.now()
    response = staff_client.post(ADD_URL, post_form(section, author, _publish="Publish now"))
    assert response.status_code == 302, errors_by_field(response)
    post = Post.objects.get()
    assert post.visibility == "published"
    assert before <= post.published_at <= timezone.now()
    assert Post.objects.published().filter(pk=post.pk).exists()


@pytest.mark.parametrize(("dated", "kept"), [(None, False), (PAST, True), (FUTURE, False)])
def test_publish_now_dates_the_post_as_the_publish_action_does(
    staff_client, make_post, dated, kept
):
    """A date that has passed is kept; none, or one ahead, becomes now."""
    by_button = make_post(status=Post.Status.DRAFT, published_at=dated)
    by_action = make_post(status=Post.Status.DRAFT, published_at=dated)
    before = timezone.now()
    response = press(staff_client, by_button, "_publish")
    assert response.status_code == 302, errors_by_field(response)
    staff_client.post(CHANGELIST, {"action": "publish", "_selected_action": [by_action.pk]})
    for post in (by_button, by_action):
        post.refresh_from_db()
        assert post.visibility == "published"
        if kept:
            assert post.published_at == dated
        else:
            assert before <= post.published_at <= timezone.now()


def test_publish_now_runs_the_models_checks_and_keeps_the_authors_text(staff_client, make_post):
    post = make_post(status=Post.Status.DRAFT, body="![Describe this image](/media/x.png)")
    typed = post.body + "\n\nA paragraph written since."
    response = press(staff_client, post, "_publish", body=typed)
    assert response.status_code == 200
    assert "alt text" in " ".join(errors_by_field(response)["body"])
    doc = lxml_html.fromstring(response.content)
    assert doc.cssselect("textarea#id_body")[0].text.strip() == typed
    assert state_line(doc) == "Status: Draft", "the stored state, not the refused one"
    assert offered(doc)[0] == "Save draft"
    post.refresh_from_db()
    assert (post.visibility, post.body) == ("draft", "![Describe this image](/media/x.png)")


def test_schedule_for_publishes_at_the_date_given(staff_client, make_post):
    post = make_post(status=Post.Status.DRAFT, published_at=None)
    response = press(staff_client, post, "_schedule", **date_fields(FUTURE))
    assert response.status_code == 302, errors_by_field(response)
    post.refresh_from_db()
    assert (post.visibility, post.published_at) == ("scheduled", FUTURE)
    assert not Post.objects.published().filter(pk=post.pk).exists()


@pytest.mark.parametrize(
    ("dates", "error"),
    [
        ({"published_at_0": "", "published_at_1": ""}, "To schedule the post, give the date"),
        (date_fields(PAST), "This moment has passed"),
    ],
    ids=["no date", "past date"],
)
def test_schedule_for_needs_a_date_in_the_future(staff_client, make_post, dates, error):
    post = make_post(status=Post.Status.DRAFT, published_at=None)
    response = press(staff_client, post, "_schedule", **dates)
    assert response.status_code == 200
    assert error in " ".join(errors_by_field(response)["published_at"])
    post.refresh_from_db()
    assert (post.visibility, post.published_at) == ("draft", None)


@pytest.mark.parametrize("dated", [PAST, FUTURE], ids=["published", "scheduled"])
def test_unpublish_returns_to_draft_keeping_the_date(staff_client, make_post, dated):
    post = make_post(published_at=dated)
    response = press(staff_client, post, "_unpublish")
    assert response.status_code == 302, errors_by_field(response)
    post.refresh_from_db()
    assert (post.visibility, post.published_at) == ("draft", dated)


@pytest.mark.parametrize(
    ("status", "dated", "state", "buttons"),
    [
        ("draft", PAST, "draft", ["Save draft", "Publish now", "Schedule for…"]),
        ("published", FUTURE, "scheduled", ["Schedule for…", "Publish now", "Unpublish"]),
        ("published", PAST, "published", ["Publish now", "Schedule for…", "Unpublish"]),
    ],
)
def test_each_state_offers_its_buttons_first_the_one_that_keeps_it(
    staff_client, make_post, status, dated, state, buttons
):
    """Unpublish only for a post that is published or scheduled; the first button (the
    one Enter presses, shown as the default) leaves the post in its state."""
    post = make_post(status=status, published_at=dated)
    data, doc = page_form(staff_client, change_url(post))
    assert offered(doc) == buttons
    [first] = doc.cssselect(".submit-row input.default")[:1]
    assert first.get("value") == buttons[0]
    assert doc.cssselect(".submit-row input[name=_continue]"), "still there"
    first_name = first.get("name")
    assert staff_client.post(change_url(post), {**data, first_name: "x"}).status_code == 302
    post.refresh_from_db()
    assert (post.visibility, post.published_at) == (state, dated)


@pytest.mark.parametrize(
    ("status", "dated", "state"),
    [
        ("draft", None, "draft"),
        ("published", FUTURE, "scheduled"),
        ("published", PAST, "published"),
    ],
)
def test_save_and_continue_keeps_the_state_without_a_status_menu(
    staff_client, make_post, status, dated, state
):
    post = make_post(status=status, published_at=dated)
    data, doc = page_form(staff_client, change_url(post))
    assert not doc.cssselect("select[name=status]"), "the buttons set the status"
    assert doc.cssselect("input[type=hidden][name=status]")[0].get("value") == status
    response = staff_client.post(change_url(post), {**data, "_continue": "x"})
    assert response["Location"] == change_url(post)
    post.refresh_from_db()
    assert (post.visibility, post.published_at) == (state, dated)


def test_the_form_says_which_state_the_post_is_in(staff_client, make_post, settings):
    settings.TIME_ZONE = "Europe/Paris"
    draft = make_post(status=Post.Status.DRAFT)
    scheduled = make_post(published_at=datetime(2099, 12, 3, 8, 0, tzinfo=UTC))
    published = make_post(published_at=datetime(2020, 11, 30, 23, 30, tzinfo=UTC))
    states = {}
    for name, url in [
        ("new", ADD_URL),
        ("draft", change_url(draft)),
        ("scheduled", change_url(scheduled)),
        ("published", change_url(published)),
    ]:
        _, doc = page_form(staff_client, url)
        lines = [p.text_content().strip() for p in doc.cssselect(".bytepress-state")]
        assert len(lines) == 2, "beside the buttons at the top and at the bottom"
        states[name] = lines[0]
    assert states == {
        "new": "Status: Draft",
        "draft": "Status: Draft",
        # In the site's time zone: 08:00 UTC is 09:00 in Paris, and 23:30 UTC on the
        # 30th is already 1 December there.
        "scheduled": "Status: Scheduled for Thu 3 Dec 2099, 09:00",
        "published": "Status: Published Tue 1 Dec 2020",
    }


def test_change_list_status_column_shows_the_date_of_a_scheduled_post(
    staff_client, make_post, settings
):
    settings.TIME_ZONE = "UTC"
    make_post(title="A draft", status=Post.Status.DRAFT)
    make_post(title="Soon", published_at=datetime(2099, 12, 3, 9, 0, tzinfo=UTC))
    make_post(title="Out", published_at=PAST)
    doc = lxml_html.fromstring(staff_client.get(CHANGELIST).content)
    column = {
        row.cssselect("th a")[0].text_content(): row.cssselect("td.field-status_label")[0]
        .text_content()
        .strip()
        for row in doc.cssselect("#result_list tbody tr")
    }
    assert column == {
        "A draft": "Draft",
        "Soon": "Scheduled for Thu 3 Dec 2099, 09:00",
        "Out": "Published",
    }


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_author_schedules_a_draft_in_the_browser(page, live_server, django_user_model, make_post):
    django_user_model.objects.create_superuser(username="writer", password="correct-horse-42")
    post = make_post(title="Ready soon", status=Post.Status.DRAFT, published_at=None)
    page.goto(live_server.url + reverse("admin:login"))
    page.fill("#id_username", "writer")
    page.fill("#id_password", "correct-horse-42")
    page.click("input[type=submit]")
    page.wait_for_url(live_server.url + reverse("admin:index"))

    page.goto(live_server.url + change_url(post))
    top = page.locator(".submit-row").first
    assert top.locator(".bytepress-state").inner_text() == "Status: Draft"
    assert top.locator("input.default").get_attribute("value") == "Save draft"
    assert page.console_errors == []
    screenshot(page, "admin-publishing-draft")

    # "Schedule for…" without a date explains itself and saves nothing.
    top.locator("input[name=_schedule]").click()
    error = page.locator(".field-published_at .errorlist")
    error.wait_for()
    assert "To schedule the post, give the date" in error.inner_text()
    screenshot(page, "admin-publishing-schedule-refused")

    local = timezone.localtime(FUTURE)
    page.fill("#id_published_at_0", f"{local:%Y-%m-%d}")
    page.fill("#id_published_at_1", f"{local:%H:%M:%S}")
    page.locator(".submit-row").first.locator("input[name=_schedule]").click()
    page.wait_for_url(live_server.url + CHANGELIST)
    cell = page.locator("#result_list td.field-status_label").first
    assert cell.inner_text().startswith("Scheduled for ")
    post.refresh_from_db()
    assert (post.visibility, post.published_at) == ("scheduled", FUTURE)
