"""Editing in the admin: the post form, its errors, actions, and the other models."""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from lxml import html as lxml_html

from blog.admin import VisibilityFilter
from blog.models import Post, Series, SiteSettings

from .conftest import image_bytes

pytestmark = pytest.mark.django_db

ADD_URL = reverse("admin:blog_post_add")
CHANGELIST = reverse("admin:blog_post_changelist")


def post_form(section, author, **overrides):
    data = {
        "title": "A new post",
        "subtitle": "",
        "slug": "a-new-post",
        "section": section.pk,
        "author": author.pk,
        "body": "Some *Markdown*.",
        "tags": "Python, machine learning",
        "status": "draft",
        "published_at_0": "",
        "published_at_1": "",
        "series": "",
        "series_position": "",
        "cover": "",
        "excerpt": "",
        "meta_description": "",
        "canonical_url": "",
        "links-TOTAL_FORMS": "0",
        "links-INITIAL_FORMS": "0",
        "links-MIN_NUM_FORMS": "0",
        "links-MAX_NUM_FORMS": "1000",
    }
    data.update(overrides)
    return data


def errors_by_field(response):
    """Field name -> error texts, read from the rendered admin form."""
    doc = lxml_html.fromstring(response.content)
    errors = {}
    for row in doc.cssselect(".form-row.errors, div.errors"):
        names = [
            cls.removeprefix("field-")
            for cls in row.get("class", "").split()
            if cls.startswith("field-")
        ]
        texts = [li.text_content() for li in row.cssselect("ul.errorlist li")]
        for name in names:
            errors.setdefault(name, []).extend(texts)
    return errors


def test_add_page_uses_the_markdownx_editor_wired_to_protected_endpoints(staff_client, section):
    response = staff_client.get(ADD_URL)
    assert response.status_code == 200
    doc = lxml_html.fromstring(response.content)
    [editor] = doc.cssselect("textarea#id_body.markdownx-editor")
    assert editor.get("data-markdownx-urls-path") == reverse("markdownx_markdownify")
    assert editor.get("data-markdownx-upload-urls-path") == reverse("markdownx_upload")
    scripts = [s.get("src") for s in doc.cssselect("script[src]")]
    assert any("markdownx/js/markdownx" in src for src in scripts)
    assert any("blog/admin/editor.js" in src for src in scripts)
    # Link rows are compact: their commentary is previewed on demand, not live.
    assert not doc.cssselect("#links-empty textarea.markdownx-editor")
    assert doc.cssselect("#links-empty textarea[name$='-commentary']")


def test_author_writes_a_post_with_tags_and_links(staff_client, section, author):
    data = post_form(
        section,
        author,
        **{
            "links-TOTAL_FORMS": "2",
            "links-0-position": "2",
            "links-0-group": "Papers",
            "links-0-title": "Second",
            "links-0-url": "https://example.org/2",
            "links-0-commentary": "Why it *matters*.",
            "links-1-position": "1",
            "links-1-group": "Papers",
            "links-1-title": "First",
            "links-1-url": "https://example.org/1",
            "links-1-commentary": "",
        },
    )
    response = staff_client.post(ADD_URL, data)
    assert response.status_code == 302, errors_by_field(response)
    post = Post.objects.get()
    assert post.body_html == "<p>Some <em>Markdown</em>.</p>"
    assert sorted((t.name for t in post.tags.all()), key=str.casefold) == [
        "machine learning",
        "Python",
    ]
    assert [link.title for link in post.links.all()] == ["First", "Second"]
    assert post.links.get(title="Second").commentary_html == "<p>Why it <em>matters</em>.</p>"


def test_duplicate_slug_is_a_form_error_on_the_slug_field(staff_client, make_post, section, author):
    make_post(slug="taken")
    response = staff_client.post(ADD_URL, post_form(section, author, slug="taken"))
    assert response.status_code == 200
    assert "already uses the slug" in " ".join(errors_by_field(response)["slug"])
    assert Post.objects.count() == 1


def test_series_position_clash_is_a_form_error(staff_client, make_post, section, author):
    series = Series.objects.create(title="S", slug="s")
    make_post(series=series, series_position=1)
    data = post_form(section, author, series=series.pk, series_position="1")
    response = staff_client.post(ADD_URL, data)
    assert response.status_code == 200
    assert "already taken" in " ".join(errors_by_field(response)["series_position"])


def test_cover_image_without_alt_text_is_a_form_error(staff_client, section, author):
    from .test_renditions import library_image

    cover = library_image(image_bytes("PNG", size=(600, 300)), name="c.png", alt="")
    response = staff_client.post(ADD_URL, post_form(section, author, cover=cover.pk))
    assert response.status_code == 200
    assert "no alt text" in " ".join(errors_by_field(response)["cover"])
    assert not Post.objects.exists()


def test_cover_from_the_library_is_shown_with_its_renditions(staff_client, section, author):
    from .test_renditions import library_image

    cover = library_image(image_bytes("PNG", size=(1000, 500)), name="c.png", alt="A test card")
    assert staff_client.post(ADD_URL, post_form(section, author, cover=cover.pk)).status_code == 302
    post = Post.objects.get()
    assert 'alt="A test card"' in post.cover_html and 'srcset="' in post.cover_html
    assert post.cover_social.endswith("-social-1200w.jpg")


def test_publishing_requires_alt_text_on_body_images(staff_client, section, author):
    body = "![Describe this image](/media/uploads/x.png)"
    form = post_form(section, author, body=body, _publish="Publish now")
    response = staff_client.post(ADD_URL, form)
    assert response.status_code == 200
    assert "alt text" in " ".join(errors_by_field(response)["body"])


def test_hostile_markdown_saved_through_the_admin_is_stored_sanitised(
    staff_client, section, author
):
    body = "<script>alert(1)</script><img src=x onerror=alert(1)>[x](javascript:alert(1))"
    assert staff_client.post(ADD_URL, post_form(section, author, body=body)).status_code == 302
    html = Post.objects.get().body_html
    assert "<script" not in html and "onerror" not in html and "javascript:" not in html


def _changelist_queries(client, django_assert_num_queries):
    # Count once to learn the number, then assert it exactly.
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        assert client.get(CHANGELIST).status_code == 200
    return len(ctx.captured_queries)


def test_change_list_runs_a_constant_number_of_queries(
    staff_client, make_rich_posts, django_assert_num_queries
):
    make_rich_posts(3)
    few = _changelist_queries(staff_client, django_assert_num_queries)
    make_rich_posts(30)
    with django_assert_num_queries(few):
        response = staff_client.get(CHANGELIST)
    doc = lxml_html.fromstring(response.content)
    assert len(doc.cssselect("#result_list tbody tr")) == 33


def test_change_list_columns(staff_client, make_post):
    series = Series.objects.create(title="Reading list", slug="rl")
    make_post(title="Shown", series=series, series_position=2, tags=["Zeta", "alpha"])
    doc = lxml_html.fromstring(staff_client.get(CHANGELIST).content)
    headers = [th.text_content().strip().lower() for th in doc.cssselect("#result_list thead th")]
    for column in ("title", "section", "series", "status", "published at", "tags"):
        assert column in headers
    row = doc.cssselect("#result_list tbody tr")[0].text_content()
    assert "Reading list #2" in row
    assert "alpha, Zeta" in row


def test_change_list_filters_search_and_date_hierarchy(staff_client, make_post):
    make_post(title="Needle in a haystack")
    make_post(title="Other")
    response = staff_client.get(CHANGELIST, {"q": "needle"})
    doc = lxml_html.fromstring(response.content)
    assert len(doc.cssselect("#result_list tbody tr")) == 1
    response = staff_client.get(CHANGELIST)
    assert 'id="changelist-filter"' in response.content.decode()
    changelist = response.context["cl"]
    assert changelist.date_hierarchy == "published_at"
    assert {VisibilityFilter, "section", "series"} <= set(changelist.list_filter)


def test_publish_and_unpublish_actions(staff_client, make_post):
    draft = make_post(status=Post.Status.DRAFT, published_at=None)
    staff_client.post(CHANGELIST, {"action": "publish", "_selected_action": [draft.pk]})
    draft.refresh_from_db()
    assert draft.visibility == "published"
    assert Post.objects.published().filter(pk=draft.pk).exists()
    staff_client.post(CHANGELIST, {"action": "unpublish", "_selected_action": [draft.pk]})
    draft.refresh_from_db()
    assert draft.visibility == "draft"


@pytest.mark.parametrize("status", [Post.Status.DRAFT, Post.Status.PUBLISHED])
def test_publish_action_publishes_a_scheduled_post_now_and_says_so(staff_client, make_post, status):
    future = timezone.now() + timedelta(days=3)
    post = make_post(status=status, published_at=future)
    response = staff_client.post(
        CHANGELIST, {"action": "publish", "_selected_action": [post.pk]}, follow=True
    )
    post.refresh_from_db()
    assert post.visibility == "published"
    assert post.published_at <= timezone.now()
    messages = [str(m) for m in response.context["messages"]]
    assert "Published 1 post; readers can see them now." in messages
    [warning] = [m for m in messages if "was scheduled for" in m]
    assert f"“{post.title}”" in warning and "published now instead" in warning


def test_publish_action_keeps_a_past_date(staff_client, make_post):
    """Re-publishing after a correction does not move a post to the top of the lists."""
    earlier = timezone.now() - timedelta(days=30)
    post = make_post(status=Post.Status.DRAFT, published_at=earlier)
    staff_client.post(CHANGELIST, {"action": "publish", "_selected_action": [post.pk]})
    post.refresh_from_db()
    assert (post.visibility, post.published_at) == ("published", earlier)


@pytest.mark.parametrize("state", ["draft", "scheduled", "published"])
def test_status_filter_has_draft_scheduled_and_published(staff_client, make_post, state):
    posts = {
        "draft": make_post(status=Post.Status.DRAFT, title="A draft"),
        "scheduled": make_post(published_at=timezone.now() + timedelta(days=2), title="Soon"),
        "published": make_post(title="Out now"),
    }
    response = staff_client.get(CHANGELIST, {"visibility": state})
    doc = lxml_html.fromstring(response.content)
    titles = [a.text_content() for a in doc.cssselect("#result_list tbody th a")]
    assert titles == [posts[state].title]


def test_publish_action_refuses_a_post_without_image_alt_text(staff_client, make_post):
    post = make_post(status=Post.Status.DRAFT, body="![](/media/x.png)")
    response = staff_client.post(
        CHANGELIST, {"action": "publish", "_selected_action": [post.pk]}, follow=True
    )
    post.refresh_from_db()
    assert post.visibility == "draft"
    assert "was not published" in response.content.decode()


def test_change_page_has_view_on_site(staff_client, make_post):
    post = make_post()
    page = staff_client.get(reverse("admin:blog_post_change", args=[post.pk])).content.decode()
    assert reverse("admin:view_on_site", args=[_ct(Post), post.pk]) in page


def _ct(model):
    from django.contrib.contenttypes.models import ContentType

    return ContentType.objects.get_for_model(model).pk


def test_series_admin_lists_its_posts_in_order(staff_client, make_post):
    series = Series.objects.create(title="S", slug="s")
    for position, title in ((3, "Third"), (1, "First"), (2, "Second")):
        make_post(title=title, series=series, series_position=position)
    response = staff_client.get(reverse("admin:blog_series_change", args=[series.pk]))
    doc = lxml_html.fromstring(response.content)
    titles = [td.text_content().strip() for td in doc.cssselect("td.field-title")]
    assert titles == ["First", "Second", "Third"]


def test_author_profile_and_site_settings_are_editable(staff_client, author):
    url = reverse("admin:blog_authorprofile_change", args=[author.pk])
    data = {
        "user": author.user.pk,
        "display_name": "New Name",
        "bio": "Short bio.",
        "links-TOTAL_FORMS": "1",
        "links-INITIAL_FORMS": "0",
        "links-MIN_NUM_FORMS": "0",
        "links-MAX_NUM_FORMS": "1000",
        "links-0-label": "GitHub",
        "links-0-url": "https://github.com/example",
        "links-0-position": "0",
    }
    assert staff_client.post(url, data).status_code == 302
    author.refresh_from_db()
    assert author.display_name == "New Name"
    assert author.links.get().label == "GitHub"

    settings_obj = SiteSettings.load()
    url = reverse("admin:blog_sitesettings_change", args=[settings_obj.pk])
    logo = SimpleUploadedFile("logo.png", image_bytes("PNG"), content_type="image/png")
    data = {
        "title": "My blog",
        "tagline": "Notes",
        "logo": logo,
        "logo_alt": "",
        "owner": author.pk,
        "posts_per_page": "12",
        "feed_length": "20",
    }
    response = staff_client.post(url, data)
    assert response.status_code == 200, "a logo without alt text is refused"
    assert errors_by_field(response)["logo_alt"]
    data["logo"] = SimpleUploadedFile("logo.png", image_bytes("PNG"), content_type="image/png")
    data["logo_alt"] = "The blog's logo"
    assert staff_client.post(url, data).status_code == 302
    assert SiteSettings.load().posts_per_page == 12
    assert staff_client.get(reverse("admin:blog_sitesettings_add")).status_code == 403


def test_new_posts_default_to_the_site_owner_as_author(staff_client, author):
    site = SiteSettings.load()
    site.owner = author
    site.save()
    response = staff_client.get(ADD_URL)
    assert response.context["adminform"].form.initial["author"] == author.pk


def test_unrenderable_body_is_a_form_error_and_nothing_is_lost(staff_client, section, author):
    deep = "".join("    " * level + "- item\n" for level in range(400))
    response = staff_client.post(ADD_URL, post_form(section, author, body=deep))
    assert response.status_code == 200
    assert "nested too deeply" in " ".join(errors_by_field(response)["body"])
    doc = lxml_html.fromstring(response.content)
    assert doc.cssselect("textarea#id_body")[0].text.strip() == deep.strip()


def _series_form(series, parts):
    data = {
        "title": series.title,
        "slug": series.slug,
        "description": "",
        "posts-TOTAL_FORMS": str(len(parts)),
        "posts-INITIAL_FORMS": str(len(parts)),
        "posts-MIN_NUM_FORMS": "0",
        "posts-MAX_NUM_FORMS": "1000",
    }
    for index, (post, position) in enumerate(parts):
        data[f"posts-{index}-id"] = post.pk
        data[f"posts-{index}-series"] = series.pk
        data[f"posts-{index}-series_position"] = str(position)
    return data


def test_series_admin_can_swap_part_numbers(staff_client, make_post):
    series = Series.objects.create(title="S", slug="s")
    first = make_post(series=series, series_position=1)
    second = make_post(series=series, series_position=2)
    url = reverse("admin:blog_series_change", args=[series.pk])
    response = staff_client.post(url, _series_form(series, [(first, 2), (second, 1)]))
    assert response.status_code == 302, errors_by_field(response)
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.series_position, second.series_position) == (2, 1)


def test_series_admin_refuses_duplicate_part_numbers(staff_client, make_post):
    series = Series.objects.create(title="S", slug="s")
    first = make_post(series=series, series_position=1)
    second = make_post(series=series, series_position=2)
    url = reverse("admin:blog_series_change", args=[series.pk])
    response = staff_client.post(url, _series_form(series, [(first, 3), (second, 3)]))
    assert response.status_code == 200
    assert "given twice" in response.content.decode()
    first.refresh_from_db()
    assert first.series_position == 1, "nothing was saved"


@pytest.mark.parametrize("next_value", ["", "https://elsewhere.example/"])
def test_a_login_without_a_usable_next_lands_staff_in_the_admin(
    client, django_user_model, next_value
):
    django_user_model.objects.create_user("writer", password="pw-for-tests", is_staff=True)
    response = client.post(
        reverse("admin:login") + f"?next={next_value}",
        {"username": "writer", "password": "pw-for-tests", "next": next_value},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == reverse("admin:index")
    assert response.status_code == 200


def test_after_login_sends_readers_home(client, django_user_model):
    reader = django_user_model.objects.create_user("reader", password="pw-for-tests")
    client.force_login(reader)
    response = client.get(reverse("after-login"))
    assert response.status_code == 302
    assert response["Location"] == reverse("blog:home")
