"""Related posts at the end of a post: published posts that share its tags."""

from datetime import timedelta

import pytest
from django.utils import timezone
from lxml import html as lxml_html

from blog import selectors
from blog.models import Post, Series

from .test_views import count_queries

pytestmark = pytest.mark.django_db


def days_ago(days):
    return timezone.now() - timedelta(days=days)


def with_tags(post):
    """The post as the post page has it: its tags prefetched."""
    return Post.objects.prefetch_related(selectors.tags()).get(pk=post.pk)


def titles(posts):
    return [post.title for post in posts]


def test_ranked_by_shared_tags_then_newest(make_post):
    post = make_post(tags=["python", "django", "testing"])
    make_post(title="One tag, newest", tags=["python"], published_at=days_ago(1))
    make_post(title="Two tags, older", tags=["python", "django"], published_at=days_ago(9))
    make_post(
        title="Two tags, newer", tags=["django", "testing", "other"], published_at=days_ago(5)
    )
    make_post(
        title="Three tags, oldest", tags=["testing", "django", "python"], published_at=days_ago(99)
    )
    assert titles(selectors.related_posts(with_tags(post), limit=4)) == [
        "Three tags, oldest",
        "Two tags, newer",
        "Two tags, older",
        "One tag, newest",
    ]


def test_never_the_post_itself_its_series_or_posts_without_a_shared_tag(make_post):
    series = Series.objects.create(title="A series", slug="a-series")
    post = make_post(title="This one", tags=["python"], series=series, series_position=1)
    make_post(title="Next part", tags=["python"], series=series, series_position=2)
    make_post(title="Unrelated", tags=["cooking"])
    make_post(title="Untagged")
    make_post(title="Related", tags=["Python"])  # tags are compared without regard to case
    assert titles(selectors.related_posts(with_tags(post))) == ["Related"]


def test_a_post_outside_any_series_keeps_related_posts_that_are_in_one(make_post):
    series = Series.objects.create(title="A series", slug="a-series")
    post = make_post(tags=["python"])
    make_post(title="A part", tags=["python"], series=series, series_position=1)
    assert titles(selectors.related_posts(with_tags(post))) == ["A part"]


def test_drafts_and_scheduled_posts_are_never_related(make_post):
    post = make_post(tags=["python"])
    make_post(title="Draft", tags=["python"], status=Post.Status.DRAFT)
    make_post(title="Draft with a past date", tags=["python"], status=Post.Status.DRAFT)
    make_post(title="Scheduled", tags=["python"], published_at=timezone.now() + timedelta(hours=1))
    make_post(title="Published", tags=["python"])
    assert titles(selectors.related_posts(with_tags(post))) == ["Published"]


def test_at_most_three_unless_told(make_post):
    post = make_post(tags=["python"])
    for day in range(5):
        make_post(title=f"{day} days ago", tags=["python"], published_at=days_ago(day))
    assert titles(selectors.related_posts(with_tags(post))) == [
        "0 days ago",
        "1 days ago",
        "2 days ago",
    ]
    assert titles(selectors.related_posts(with_tags(post), limit=1)) == ["0 days ago"]


def test_one_query_and_none_for_a_post_without_tags(make_post, django_assert_num_queries):
    post = make_post(tags=["python", "django"])
    for i in range(6):
        make_post(tags=["python", "django", f"tag {i}"])
    loaded = with_tags(post)
    with django_assert_num_queries(1):
        related = selectors.related_posts(loaded)
        [r.get_absolute_url() for r in related]  # the section comes with them
    untagged = with_tags(make_post())
    with django_assert_num_queries(0):
        assert selectors.related_posts(untagged) == []


def related_boxes(response):
    doc = lxml_html.fromstring(response.content.decode())
    return doc.cssselect("article.post aside.related-posts")


def test_the_post_page_ends_with_its_related_posts(client, make_post):
    post = make_post(tags=["python"])
    newer = make_post(title="Newer", tags=["python"], published_at=days_ago(0))
    make_post(title="Older", tags=["python"], published_at=days_ago(3))
    [box] = related_boxes(client.get(post.get_absolute_url()))
    # Named by its heading, so that it is a landmark a screen reader can list.
    [heading] = box.cssselect("h2")
    assert heading.text_content() == "Related posts"
    assert box.get("aria-labelledby") == heading.get("id")
    links = box.cssselect("li a")
    assert [a.text_content() for a in links] == ["Newer", "Older"]
    assert links[0].get("href") == newer.get_absolute_url()
    following = box.getnext()
    assert following is not None and following.tag == "footer", "right before the footer"
    alone = make_post(tags=["cooking"])
    boxes = related_boxes(client.get(alone.get_absolute_url()))
    assert boxes == [], "no empty box"


def test_the_post_page_costs_the_same_queries_for_any_number_of_related_posts(
    client, make_rich_posts, make_post
):
    """Related posts cost the post page one query, for 1 related post as for 30 (the
    8-query cap on reader pages is test_views' to keep)."""
    post = make_rich_posts(3)[0]  # tags alpha and beta, in a series (its parts excluded)
    make_post(tags=["alpha"])
    client.get("/")  # warm the site chrome
    few = count_queries(client, post.get_absolute_url())
    [box] = related_boxes(client.get(post.get_absolute_url()))
    assert len(box.cssselect("li")) == 1
    for i in range(30):
        make_post(tags=["alpha", "beta", f"tag {i}", f"other {i}"])
    post.tags.add(*[f"tag {i}" for i in range(20)])
    many = count_queries(client, post.get_absolute_url())
    [box] = related_boxes(client.get(post.get_absolute_url()))
    assert len(box.cssselect("li")) == 3
    assert many == few
