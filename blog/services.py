"""Writes that change what readers see."""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import unquote

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone

from . import revisions, search
from .models import (
    AuthorProfile,
    Image,
    Link,
    Page,
    Post,
    Redirect,
    Revision,
    Section,
    Series,
    Tag,
)


@dataclass
class PublishResult:
    published: list[Post] = field(default_factory=list)
    # Posts that were scheduled for a later date and are now published at once, with
    # the date they had.
    brought_forward: dict[Post, datetime] = field(default_factory=dict)
    refused: dict[Post, list[str]] = field(default_factory=dict)


@transaction.atomic
def publish_posts(posts, *, at: datetime | None = None, user=None) -> PublishResult:
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
        save_post(post, user=user, update_fields=["status", "published_at", "updated_at"])
        result.published.append(post)
    return result


@transaction.atomic
def unpublish_posts(posts, *, user=None) -> int:
    """Turn posts back into drafts; their publication date is kept for a later re-publish."""
    count = 0
    for post in posts:
        post.status = Post.Status.DRAFT
        save_post(post, user=user, update_fields=["status", "updated_at"])
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
        (Page.objects.all(), ["body_html"]),
        (Post.objects.prefetch_related("links"), sorted(Post.RENDERED_FIELDS)),
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


# --- the one write path of a post -----------------------------------------------------


@transaction.atomic
def save_post(
    post: Post,
    *,
    user=None,
    related: Callable[[], None] | None = None,
    update_fields: list[str] | None = None,
    kind: str = Revision.Kind.SAVE,
) -> Revision:
    """Save a post, then what hangs off it, then record the revision; returns it.

    Every write of a post goes through here: the admin, publish/unpublish, restores and
    commands. ``related`` saves the tags and links (the admin's ``save_related``, say):
    they need the post's id, and the revision and the reading time need them. Rendering
    happens in ``Post.save``; the search index and caches follow through signals.
    """
    post.save(update_fields=update_fields)
    if related is not None:
        related()
        # The reading time counts the links, which exist only now.
        Post.objects.filter(pk=post.pk).update(reading_time=post.count_reading_time())
    revision = record_revision(post, user=user, kind=kind)
    prune_revisions(post)
    if user is not None and kind != Revision.Kind.AUTOSAVE:
        # Saved: the author's autosaves of this post (or of it before it existed) are
        # spent.
        Revision.objects.filter(
            Q(post=post) | Q(post__isnull=True), kind=Revision.Kind.AUTOSAVE, created_by=user
        ).delete()
    return revision


# Autosaves keep the form as the author left it, field by field, without touching the post.
AUTOSAVE_SKIPPED_FIELDS = frozenset({"csrfmiddlewaretoken", "_post_id", "_opened_revision"})


def autosave(*, post: Post | None, user, form: dict[str, list[str]]) -> Revision:
    """Keep the editing form's content as ``user``'s autosave of ``post`` (None: a post
    not saved yet), replacing their previous one. The live post is not touched: its
    page, feeds and ``updated_at`` change only when it is saved."""
    values = {name: form[name] for name in form if name not in AUTOSAVE_SKIPPED_FIELDS}
    with transaction.atomic():
        latest_autosave(post=post, user=user, newer_than_post=False).delete()
        return Revision.objects.create(
            post=post, kind=Revision.Kind.AUTOSAVE, data={"form": values}, created_by=user
        )


def latest_autosave(*, post: Post | None, user, newer_than_post: bool = True):
    """``user``'s autosaves of ``post`` (a queryset of at most one), if newer than the
    post's last save when ``newer_than_post``."""
    autosaves = Revision.objects.filter(kind=Revision.Kind.AUTOSAVE, created_by=user)
    if post is None:
        return autosaves.filter(post__isnull=True)
    autosaves = autosaves.filter(post=post)
    return autosaves.filter(created_at__gt=post.updated_at) if newer_than_post else autosaves


def record_revision(post: Post, *, user=None, kind: str = Revision.Kind.SAVE) -> Revision:
    live = post.status == Post.Status.PUBLISHED and post.published_at <= timezone.now()
    first_published = live and not post.revisions.filter(first_published=True).exists()
    return Revision.objects.create(
        post=post,
        kind=kind,
        data=revisions.snapshot(post),
        created_by=user if getattr(user, "is_authenticated", False) else None,
        first_published=first_published,
    )


def prune_revisions(post: Post, *, keep: int | None = None) -> int:
    """Drop the oldest revisions beyond ``keep`` (BYTEPRESS_MAX_REVISIONS), never the
    one recorded when the post first went public. Returns how many were dropped."""
    keep = settings.BYTEPRESS_MAX_REVISIONS if keep is None else keep
    surplus = list(
        post.revisions.filter(first_published=False)
        .exclude(kind=Revision.Kind.AUTOSAVE)  # one per author at most, replaced
        .order_by("-created_at", "-pk")
        .values_list("pk", flat=True)[keep:]
    )
    if not surplus:
        return 0
    return Revision.objects.filter(pk__in=surplus).delete()[0]


@dataclass
class RestoreResult:
    revision: Revision  # the new revision the restore recorded
    not_restored: list[str] = field(default_factory=list)


@transaction.atomic
def restore_revision(revision: Revision, *, user=None) -> RestoreResult:
    """Put a post's content back as it was in ``revision``, as a new revision.

    The text, section, cover, series place, tags and links come back; the publication
    state does not (restoring wording never publishes or unpublishes). What no longer
    exists (a deleted image, tag, series or section) is left out and named in
    ``not_restored``.
    """
    post = Post.objects.select_for_update().get(pk=revision.post_id)
    data = revision.data
    missing: list[str] = []
    for name, _ in revisions.TEXT_FIELDS:
        setattr(post, name, data["fields"].get(name, ""))

    section = Section.objects.filter(pk=data["section"]["id"]).first()
    if section is None:
        missing.append(f"the section “{data['section']['name']}” (deleted)")
    else:
        post.section = section
    author = AuthorProfile.objects.filter(pk=data["author"]["id"]).first()
    if author is not None:
        post.author = author
    cover = data.get("cover")
    post.cover = Image.objects.filter(pk=cover["id"]).first() if cover else None
    if cover and post.cover is None:
        missing.append(f"the cover image “{cover['name']}” (deleted)")
    series = data.get("series")
    post.series, post.series_position = None, None
    if series:
        taken = Post.objects.filter(
            series_id=series["id"], series_position=series["position"]
        ).exclude(pk=post.pk)
        if not Series.objects.filter(pk=series["id"]).exists():
            missing.append(f"the series “{series['title']}” (deleted)")
        elif taken.exists():
            missing.append(f"part {series['position']} of “{series['title']}” (taken)")
        else:
            post.series_id, post.series_position = series["id"], series["position"]
    tag_ids = [tag["id"] for tag in data.get("tags", [])]
    tags = list(Tag.objects.filter(pk__in=tag_ids))
    kept = {tag.pk for tag in tags}
    missing += [f"the tag “{t['name']}” (deleted)" for t in data["tags"] if t["id"] not in kept]

    def restore_related():
        post.tags.set(tags)
        post.links.all().delete()
        for link in data.get("links", []):
            Link.objects.create(post=post, **link)

    new = save_post(post, user=user, related=restore_related, kind=Revision.Kind.RESTORE)
    return RestoreResult(new, missing)


# --- redirects from old addresses ------------------------------------------------------


def site_path(value: str) -> str:
    """A path as ``request.path`` spells it, for storing in a Redirect.

    Decoded, since requests are (“/tags/caf%C3%A9/” is “/tags/café/”), and with the
    leading “/” that an author may leave out (“bytes/old/”). A full address keeps its
    scheme, so validate_site_path refuses it.
    """
    value = unquote(value.strip())
    if value and not value.startswith("/") and "://" not in value:
        value = "/" + value
    return value


@transaction.atomic
def record_move(*, old_path: str, new_path: str) -> None:
    """A public page moved from ``old_path`` to ``new_path``: redirect the old address.

    Chains collapse, so a reader is always sent once: redirects that led to the old
    address now lead to the new one. One that led away from the new address is
    deleted, since a page lives there again (moving back), and it would make a loop.
    """
    old_path, new_path = site_path(old_path), site_path(new_path)
    if old_path == new_path:
        return
    Redirect.objects.filter(old_path=new_path).delete()
    Redirect.objects.filter(new_path=old_path).update(new_path=new_path)
    Redirect.objects.update_or_create(old_path=old_path, defaults={"new_path": new_path})


@transaction.atomic
def save_redirect(redirect: Redirect) -> None:
    """Save a redirect made by hand (the admin, an importer), after ``full_clean()``.

    ``clean()`` has pointed it past any redirect at its target; the redirects that led
    to its old address are pointed past it here, so no chain is left either way.
    """
    redirect.save()
    Redirect.objects.filter(new_path=redirect.old_path).exclude(pk=redirect.pk).update(
        new_path=redirect.new_path
    )
