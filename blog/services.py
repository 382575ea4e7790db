"""Writes that change what readers see."""

from dataclasses import dataclass, field
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from . import search
from .models import Link, Post, Series


@dataclass
class PublishResult:
    published: list[Post] = field(default_factory=list)
    # Posts that were scheduled for a later date and are now published at once, with
    # the date they had.
    brought_forward: dict[Post, datetime] = field(default_factory=dict)
    refused: dict[Post, list[str]] = field(default_factory=dict)


@transaction.atomic
def publish_posts(posts, *, at: datetime | None = None) -> PublishResult:
    """Publish posts: now, or at ``at`` (a future date schedules them).

    Each post must pass the same validation as the admin form (alt text on every image,
    a free slug, …); one that does not is left as it was and reported in ``refused``.
    A post that already has a past publication date keeps it unless ``at`` is given, so
    re-publishing after a correction does not move it to the top of the lists; one
    dated in the future (scheduled) is published now, and reported in
    ``brought_forward``.
    """
    result = PublishResult()
    now = timezone.now()
    for post in posts:
        previous = (post.status, post.published_at)
        post.status = Post.Status.PUBLISHED
        if at is not None:
            post.published_at = at
        elif post.published_at is None:
            post.published_at = now
        elif post.published_at > now:
            result.brought_forward[post] = post.published_at
            post.published_at = now
        try:
            post.full_clean()
        except ValidationError as exc:
            post.status, post.published_at = previous
            result.brought_forward.pop(post, None)
            result.refused[post] = exc.messages
            continue
        post.save(update_fields=["status", "published_at", "updated_at"])
        result.published.append(post)
    return result


@transaction.atomic
def unpublish_posts(posts) -> int:
    """Turn posts back into drafts; their publication date is kept for a later re-publish."""
    count = 0
    for post in posts:
        post.status = Post.Status.DRAFT
        post.save(update_fields=["status", "updated_at"])
        count += 1
    return count


def rerender_all(*, batch_size: int = 500) -> dict[str, int]:
    """Re-render every stored Markdown field with the current renderer, then rebuild the
    search index from the new text (bulk updates send no signals)."""
    counts = {}
    # Links first: a post's reading time counts their rendered commentary.
    for queryset, fields in (
        (Link.objects.all(), ["commentary_html"]),
        (Series.objects.all(), ["description_html"]),
        (
            Post.objects.prefetch_related("links"),
            [
                "body_html",
                "body_text",
                "toc_html",
                "summary",
                "reading_time",
                "cover_html",
                "cover_social",
            ],
        ),
    ):
        model = queryset.model
        count = 0
        with transaction.atomic():
            batch = []
            for obj in queryset.order_by("pk").iterator(chunk_size=batch_size):
                obj.render()
                if model is Post:
                    obj.body_images.set(obj._body_images)
                batch.append(obj)
                if len(batch) >= batch_size:
                    model.objects.bulk_update(batch, fields)
                    count += len(batch)
                    batch = []
            if batch:
                model.objects.bulk_update(batch, fields)
                count += len(batch)
        counts[model._meta.verbose_name_plural] = count
    search.rebuild_index()
    return counts


@transaction.atomic
def reorder_series(*, series: Series, positions: dict[int, int]) -> None:
    """Give parts of ``series`` new part numbers ({post id: number}) in one step.

    The parts first move out of the way (numbers above any in use), so that swapping
    two numbers never trips the unique (series, position) constraint on the way.
    """
    if not positions:
        return
    if len(set(positions.values())) != len(positions) or min(positions.values()) < 1:
        raise ValueError("Part numbers must be distinct and start at 1.")
    parts = Post.objects.filter(series=series, pk__in=positions)
    if parts.count() != len(positions):
        raise ValueError("Every post to renumber must be a part of the series.")
    parking = max(
        max(positions.values()), series.posts.aggregate(m=Max("series_position"))["m"] or 0
    )
    for offset, post_id in enumerate(positions, start=1):
        Post.objects.filter(pk=post_id).update(series_position=parking + offset)
    for post_id, position in positions.items():
        Post.objects.filter(pk=post_id).update(series_position=position, updated_at=timezone.now())
