"""Writes that change what readers see."""

import uuid
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import unquote

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Max, Q
from django.urls import reverse
from django.utils import timezone

from . import chrome, faults, images, renditions, revisions, search, selectors
from .images import clean_image
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
    SiteSettings,
    SiteVersion,
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


@dataclass(frozen=True)
class RenderFailure:
    """One object the renderer failed on; its stored HTML was left as it was."""

    kind: str  # "post", "link", …
    pk: int
    slug: str
    error: str

    def __str__(self):
        name = f" ({self.slug})" if self.slug else ""
        return f"{self.kind} {self.pk}{name}: {self.error}"


@dataclass
class RerenderResult:
    counts: dict[str, int] = field(default_factory=dict)  # re-rendered, per kind (plural)
    failures: list[RenderFailure] = field(default_factory=list)


def rerender_all(*, batch_size: int = 500, progress=None) -> RerenderResult:
    """Re-render every stored Markdown field with the current renderer, then rebuild the
    search index from the new text (bulk updates send no signals).

    An object the renderer fails on keeps its stored HTML and is reported in
    ``failures``; the others are re-rendered all the same.
    ``progress(items, total=, label=)`` wraps each loop (blog.progress draws a bar)."""
    progress = progress or (lambda items, **kwargs: items)
    result = RerenderResult()
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
            rows = queryset.order_by("pk").iterator(chunk_size=batch_size)
            label = f"Re-rendering {model._meta.verbose_name_plural}"
            for obj in progress(rows, total=queryset.count(), label=label):
                failure = _render_one(obj)
                if failure is not None:
                    result.failures.append(failure)
                    continue
                batch.append(obj)
                if len(batch) >= batch_size:
                    model.objects.bulk_update(batch, fields)
                    count += len(batch)
                    batch = []
            if batch:
                model.objects.bulk_update(batch, fields)
                count += len(batch)
        result.counts[model._meta.verbose_name_plural] = count
    search.rebuild_index(progress=progress)
    SiteVersion.bump_content()  # bulk updates send no signal
    return result


def _render_one(obj) -> RenderFailure | None:
    """Render one object for rerender_all, or say why it could not be."""
    try:
        # A savepoint: a failure after a write (the body's images) takes it back, and on
        # PostgreSQL a database error inside leaves the batch's transaction usable.
        with transaction.atomic():
            obj.render()
            if isinstance(obj, Post):
                obj.body_images.set(obj._body_images)
    except Exception as exc:  # any renderer bug: it must not stop the rest
        error = f"{type(exc).__name__}: {exc}".splitlines()[0]
        return RenderFailure(obj._meta.verbose_name, obj.pk, getattr(obj, "slug", ""), error)
    return None


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
    SiteVersion.bump_content()  # update() sends no signal


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
    with redirect_if_moved(post, update_fields=update_fields):
        post.save(update_fields=update_fields)
    if related is not None:
        related()
        # The reading time counts the links, which exist only now.
        Post.objects.filter(pk=post.pk).update(reading_time=post.count_reading_time())
    revision = record_revision(post, user=user, kind=kind)
    prune_revisions(post)
    return revision


def spend_autosave(*, post: Post, user, was_new: bool) -> None:
    """The author saved the form they were editing: their autosave of it is spent (of
    a new post, the one kept before it existed). Other saves (publishing from the list,
    a restore) leave autosaves alone: they do not hold the form's text."""
    latest_autosave(post=None if was_new else post, user=user, newer_than_post=False).delete()


# Autosaves keep the form as the author left it, field by field, without touching the post.
AUTOSAVE_SKIPPED_FIELDS = frozenset({"csrfmiddlewaretoken", "_post_id"})


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
    # The first revision saved as published (or scheduled: it goes public without
    # another save) is kept forever.
    first_published = (
        post.visibility != "draft" and not post.revisions.filter(first_published=True).exists()
    )
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
    keep -= post.revisions.filter(first_published=True).exists()  # it counts too
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
    exists (a deleted image, tag, series or section) or is now another post's (its slug)
    is left out and named in ``not_restored``. Raises ValidationError, changing nothing,
    when the result could not be saved from the form either.
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
    shown = data.get("images", [])
    there = set(Image.objects.filter(pk__in=[i["id"] for i in shown]).values_list("pk", flat=True))
    missing += [
        f"the image “{image['name']}” in the body (deleted: it shows as a broken image)"
        for image in shown
        if image["id"] not in there
    ]
    taken = Post.objects.filter(section_id=post.section_id, slug=post.slug).exclude(pk=post.pk)
    if taken.exists():
        missing.append(f"the address …/{post.slug}/ (another post uses it now)")
        post.slug = Post.objects.values_list("slug", flat=True).get(pk=post.pk)
    # Everything a save from the form must pass (an image without alt text in a
    # published post, say): a restore that fails it changes nothing.
    post.full_clean()

    def restore_related():
        post.tags.set(tags)
        post.links.all().delete()
        for link in data.get("links", []):
            Link.objects.create(post=post, **link)

    new = save_post(post, user=user, related=restore_related, kind=Revision.Kind.RESTORE)
    return RestoreResult(new, missing)


# --- redirects from old addresses ------------------------------------------------------


# --- pages that move ------------------------------------------------------------------

# What the public can reach of each kind, and the fields its address is made of.
_PUBLIC = {
    Post: (lambda: Post.objects.published().select_related("section"), {"slug", "section"}),
    Series: (lambda: selectors.public_series(), {"slug"}),
    Tag: (lambda: selectors.public_tags(), {"slug"}),
    Page: (lambda: Page.objects.all(), {"slug"}),
}


@contextmanager
def redirect_if_moved(obj, *, update_fields=None):
    """Around the save of a post, series or tag: if the public could reach it before
    and its address changes, redirect the old address to the new one.

    A draft's or scheduled post's address, or that of a series or tag no published
    post carries, was never public and gets no redirect.
    """
    public, address_fields = _PUBLIC[type(obj)]
    old_url = None
    if obj.pk is not None and (update_fields is None or address_fields & set(update_fields)):
        stored = public().filter(pk=obj.pk).first()
        old_url = stored.get_absolute_url() if stored is not None else None
    yield
    # Only to an address that is public now: a post unpublished in the same save keeps
    # its new slug to itself.
    if old_url is not None and public().filter(pk=obj.pk).exists():
        record_move(old_path=old_url, new_path=obj.get_absolute_url())


@transaction.atomic
def save_series(series: Series) -> None:
    with redirect_if_moved(series):
        series.save()


@transaction.atomic
def save_tag(tag: Tag) -> None:
    with redirect_if_moved(tag):
        tag.save()


@transaction.atomic
def save_page(page: Page) -> None:
    with redirect_if_moved(page):
        page.save()


@transaction.atomic
def save_section(section: Section) -> None:
    """Save a section; a new slug moves its page and every published post in it, and
    each old address is redirected (one by one: renaming a section is rare)."""
    old_slug = None
    if section.pk is not None:
        old_slug = Section.objects.values_list("slug", flat=True).get(pk=section.pk)
    section.save()
    if old_slug is None or old_slug == section.slug:
        return
    record_move(
        old_path=reverse("blog:section-detail", kwargs={"section": old_slug}),
        new_path=section.get_absolute_url(),
    )
    for post in (
        selectors.section_posts(section).select_related("section").only("slug", "section__slug")
    ):
        old_path = reverse("blog:post-detail", kwargs={"section": old_slug, "slug": post.slug})
        record_move(old_path=old_path, new_path=post.get_absolute_url())


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


# --- the image library -----------------------------------------------------------------


def save_image(image: Image) -> None:
    """Save a library image: a new file gets its renditions (and a replaced file's old
    ones and original go); an edit refreshes the posts that show the image and, if it is
    the site's social image, the site chrome. A new file that ends up with no row (the
    renditions fail, the transaction rolls back) is deleted with what was made of it."""
    with faults.atomic_with_files():
        created = image.pk is None
        previous = None
        if not created:
            previous = Image.objects.filter(pk=image.pk).values_list("file", flat=True).first()
        replaced = previous if previous and previous != image.file.name else None
        image.save()
        if created or replaced:
            faults.delete_unless_committed(image.file)
        if replaced:
            image.renditions.all().delete()
            default_storage.delete(replaced)
        if created or replaced:
            renditions.ensure_renditions(image)
        if created:
            return
        if SiteSettings.objects.filter(social_image=image).exists():
            chrome.invalidate()
        refresh_posts_showing(image)


def refresh_posts_showing(image: Image) -> int:
    """Render again the posts that show ``image`` (its alt text, caption and renditions
    are in their stored HTML). Not an edit by the author: no revision, and their
    ``updated_at`` stays."""
    posts = Post.objects.filter(Q(cover=image) | Q(body_images=image)).distinct()
    count = 0
    for post in posts.select_related("cover"):
        post.render()
        Post.objects.filter(pk=post.pk).update(
            **{name: getattr(post, name) for name in Post.RENDERED_FIELDS}
        )
        count += 1
    if count:
        SiteVersion.bump_content()  # update() sends no signal
    return count


def add_image(upload, **fields) -> Image:
    """Clean an uploaded file and add it to the image library, with its renditions.

    Raises ImageRejected with a message for the author when the file is refused, and
    its kind StorageUnavailable when the media storage (a bucket) cannot take it.
    """
    cleaned = clean_image(upload)
    fields.setdefault("title", images.original_name(upload))
    image = Image(**fields)
    # The size is stored now, from the cleaned bytes: pages never need the file.
    image.width, image.height = images.decoded_size(cleaned.content)
    image.file_size = len(cleaned.content)
    name = f"{uuid.uuid4().hex}.{cleaned.extension}"
    # A failure after the file was stored (a rendition that cannot be made, a bucket
    # that stops answering half-way) leaves neither the file nor a row behind.
    with images.storage_errors_for_author(), faults.atomic_with_files():
        image.file.save(name, ContentFile(cleaned.content), save=False)
        save_image(image)
    image.refresh_from_db()
    return image
