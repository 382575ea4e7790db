"""Writes: publishing, unpublishing and renumbering a series."""

import pytest

from blog.models import Post, Series
from blog.services import publish_posts, reorder_series, unpublish_posts

pytestmark = pytest.mark.django_db


def test_reorder_series_rotates_three_parts(make_post):
    series = Series.objects.create(title="S", slug="s")
    parts = [make_post(series=series, series_position=n) for n in (1, 2, 3)]
    reorder_series(series=series, positions={parts[0].pk: 3, parts[1].pk: 1, parts[2].pk: 2})
    assert list(series.posts.order_by("series_position").values_list("pk", flat=True)) == [
        parts[1].pk,
        parts[2].pk,
        parts[0].pk,
    ]


@pytest.mark.parametrize("positions", [{"a": 1, "b": 1}, {"a": 0, "b": 1}])
def test_reorder_series_refuses_clashes_and_zero(make_post, positions):
    series = Series.objects.create(title="S", slug="s")
    posts = {"a": make_post(series=series, series_position=1)}
    posts["b"] = make_post(series=series, series_position=2)
    with pytest.raises(ValueError):
        reorder_series(series=series, positions={posts[k].pk: v for k, v in positions.items()})
    assert sorted(series.posts.values_list("series_position", flat=True)) == [1, 2]


def test_reorder_series_refuses_posts_of_another_series(make_post):
    series = Series.objects.create(title="S", slug="s")
    stranger = make_post()
    with pytest.raises(ValueError):
        reorder_series(series=series, positions={stranger.pk: 1})


def test_publish_then_unpublish_keeps_the_original_date(make_post):
    post = make_post(status=Post.Status.DRAFT, published_at=None)
    result = publish_posts([post])
    assert result.published == [post]
    first_date = Post.objects.get(pk=post.pk).published_at
    unpublish_posts([post])
    publish_posts([Post.objects.get(pk=post.pk)])
    assert Post.objects.get(pk=post.pk).published_at == first_date
