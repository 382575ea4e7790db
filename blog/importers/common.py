"""What both importers share: a source item in neutral form, and the one path that turns
it into a post or page (made, updated or left alone) and records that it did.

The rules, for Markdown files and WordPress items alike:
- a source seen before (same kind, same source id) updates what it made, never a copy;
- an unchanged source (same hash) is left alone and reported as unchanged;
- a post or page edited here after the last import is not overwritten without ``force``,
  nor one deleted here brought back;
- an item that cannot be imported is skipped with its reason, and the others go on.
"""

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone
from django.utils.text import slugify

from blog import markdown, services
from blog.images import ImageRejected, clean_image
from blog.models import (
    RESERVED_SLUGS,
    AuthorProfile,
    Image,
    ImportRecord,
    Page,
    Post,
    Section,
    Series,
    SiteSettings,
    validate_site_path,
)

# Part of every source's hash: a later importer that reads sources better re-applies them.
IMPORTER_VERSION = "1"

IMPORTED, UPDATED, UNCHANGED, SKIPPED = "imported", "updated", "unchanged", "skipped"
OUTCOMES = (IMPORTED, UPDATED, UNCHANGED, SKIPPED)

EDITED_HERE = "edited here since the last import; --force to overwrite"
DELETED_HERE = "deleted here since the last import; --force to import it again"


def source_hash(*parts: bytes | str) -> str:
    digest = hashlib.sha256(IMPORTER_VERSION.encode())
    for part in parts:
        digest.update(part.encode() if isinstance(part, str) else part)
        digest.update(b"\0")
    return digest.hexdigest()


@dataclass
class Source:
    """One post or page as read from the source, before anything is written."""

    source_id: str
    name: str  # how the report names it: a file's path, an item's title
    hash: str
    is_page: bool = False
    title: str = ""
    slug: str = ""
    body: str = ""
    excerpt: str = ""
    meta_description: str = ""
    published_at: datetime | None = None
    draft: bool = False
    tags: list[str] = field(default_factory=list)
    # (name, slug) pairs; the first that names a section places the post there.
    categories: list[tuple[str, str]] = field(default_factory=list)
    series: str = ""
    series_position: int | None = None
    old_urls: list[str] = field(default_factory=list)
    cover: Image | None = None
    notes: list[str] = field(default_factory=list)
    # Work to do only if the item is written (storing the images its body shows, say).
    prepare: Callable[["Source"], None] | None = None


@dataclass(frozen=True)
class Result:
    outcome: str
    name: str
    detail: str = ""

    def line(self) -> str:
        return f"{self.outcome:<9} {self.name}" + (f": {self.detail}" if self.detail else "")


class Skip(Exception):
    """This item cannot be imported; the message says why."""


@dataclass
class Tally:
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(OUTCOMES, 0))
    sections: list[str] = field(default_factory=list)

    def add(self, result: Result) -> Result:
        self.counts[result.outcome] += 1
        return result

    def summary(self, *, dry_run: bool) -> str:
        counts = ", ".join(f"{self.counts[outcome]} {outcome}" for outcome in OUTCOMES)
        made = f"; new sections: {', '.join(self.sections)}" if self.sections else ""
        rolled_back = " (dry run: nothing was written)" if dry_run else ""
        return f"{counts}{made}{rolled_back}."


def choose_author(username: str | None) -> AuthorProfile:
    """The author of imported posts: ``username``'s profile, else the site's owner,
    else the only profile there is. Raises ValueError saying what to do otherwise."""
    if username:
        profile = AuthorProfile.objects.filter(user__username=username).first()
        if profile is None:
            raise ValueError(f"No author profile for the user “{username}”.")
        return profile
    owner = SiteSettings.load().owner
    if owner is not None:
        return owner
    profiles = list(AuthorProfile.objects.all()[:2])
    if len(profiles) == 1:
        return profiles[0]
    raise ValueError(
        "Choose the author of the imported posts with --author USERNAME "
        "(there is no site owner to default to)."
    )


def find_section(slug: str | None) -> Section | None:
    if not slug:
        return None
    section = Section.objects.filter(slug=slug).first()
    if section is None:
        raise ValueError(f"There is no section with the slug “{slug}”.")
    return section


def error_text(exc: ValidationError) -> str:
    if hasattr(exc, "error_dict"):
        return "; ".join(
            f"{name}: {' '.join(messages)}" if name != "__all__" else " ".join(messages)
            for name, messages in exc.message_dict.items()
        )
    return " ".join(exc.messages)


def url_path(url: str) -> str:
    """The path of an old address, whether given as a full URL or a path."""
    parts = urlsplit(url.strip())
    if parts.query:
        return url  # "/?p=12": kept whole, so that validation refuses it by name
    return parts.path if parts.scheme or parts.netloc else url.strip()


class Importer:
    """Imports sources of one kind; ``run`` never raises for a bad item, it skips it."""

    def __init__(self, *, kind, author, default_section=None, force=False, dry_run=False):
        self.kind = kind
        self.author = author
        self.default_section = default_section
        self.force = force
        self.dry_run = dry_run
        self.tally = Tally()

    def run(self, source: Source) -> Result:
        try:
            # A savepoint per item: one that fails leaves nothing half-written.
            with transaction.atomic():
                result = self._import(source)
        except Skip as exc:
            result = Result(SKIPPED, source.name, str(exc))
        return self.tally.add(result)

    def skip(self, name: str, reason: str) -> Result:
        """Report an item that could not even be read."""
        return self.tally.add(Result(SKIPPED, name, reason))

    def _import(self, source: Source) -> Result:
        if not source.title.strip():
            raise Skip("it has no title")
        record = (
            ImportRecord.objects.filter(kind=self.kind, source_id=source.source_id)
            .select_related("post__section", "page")
            .first()
        )
        target = (record.page if source.is_page else record.post) if record else None
        if record is not None and target is None and not self.force:
            raise Skip(DELETED_HERE)
        if target is not None:
            edited = target.updated_at > record.imported_at
            if record.source_hash == source.hash and not (self.force and edited):
                return Result(UNCHANGED, source.name)
            if edited and not self.force:
                raise Skip(EDITED_HERE)
        if source.prepare is not None:
            source.prepare(source)
        saved = (
            self._save_page(source, target) if source.is_page else self._save_post(source, target)
        )
        for url in source.old_urls:
            self._redirect(url, saved.get_absolute_url(), source.notes)
        links = {"page": saved} if source.is_page else {"post": saved}
        ImportRecord.objects.update_or_create(
            kind=self.kind,
            source_id=source.source_id,
            defaults={"source_hash": source.hash, "imported_at": timezone.now(), **links},
        )
        detail = " ".join(
            [f"→ {saved.get_absolute_url()}", *(f"({note})" for note in source.notes)]
        )
        return Result(IMPORTED if target is None else UPDATED, source.name, detail)

    # --- posts ------------------------------------------------------------------------

    def _save_post(self, source: Source, post: Post | None) -> Post:
        post = post or Post(author=self.author)
        section, other_categories = self._section_for(source)
        post.section = section
        post.title = source.title.strip()[:200]
        post.slug = _slug(source.slug or source.title, fallback=f"post-{source.hash[:8]}")
        post.body = source.body
        post.excerpt = source.excerpt
        post.meta_description = source.meta_description[:300]
        post.published_at = source.published_at or post.published_at
        post.status = Post.Status.DRAFT if source.draft else Post.Status.PUBLISHED
        if post.status == Post.Status.PUBLISHED and _images_missing_alt(post.body):
            # The site's rule for published posts; the author can add it and publish.
            post.status = Post.Status.DRAFT
            source.notes.append("imported as a draft: an image has no alt text")
        post.cover = self._cover(source)
        self._place_in_series(post, source)
        try:
            post.full_clean(exclude=["author"])
        except ValidationError as exc:
            raise Skip(error_text(exc)) from None
        tags = _unique([*source.tags, *other_categories])
        services.save_post(post, related=lambda: post.tags.set(tags))
        return post

    def _cover(self, source: Source) -> Image | None:
        image = source.cover
        if image is not None and not (image.alt.strip() or image.decorative):
            source.notes.append("cover left out: its image has no alt text")
            return None
        return image

    def _section_for(self, source: Source) -> tuple[Section, list[str]]:
        """The section named by the first category that names one (else the default,
        else a new section from the first category), and the other categories' names."""
        names = [name for name, _ in source.categories]
        for index, (name, slug) in enumerate(source.categories):
            section = Section.objects.filter(
                Q(slug__iexact=slug or slugify(name)) | Q(name__iexact=name)
            ).first()
            if section is not None:
                return section, names[:index] + names[index + 1 :]
        if self.default_section is not None:
            return self.default_section, names
        if not source.categories:
            raise Skip("no category to place it in a section; give --section SLUG")
        name, slug = source.categories[0]
        return self._new_section(name, slug), names[1:]

    def _new_section(self, name: str, slug: str) -> Section:
        slug = _slug(slug or name, fallback="imported", length=100)
        # A site page's address, or a page's, cannot be a section's.
        if slug in RESERVED_SLUGS or Page.objects.filter(slug__iexact=slug).exists():
            slug = f"{slug}-posts"
        position = (Section.objects.aggregate(top=Max("nav_position"))["top"] or 0) + 1
        section = Section(name=name.strip()[:100] or slug, slug=slug, nav_position=position)
        services.save_section(section)
        self.tally.sections.append(section.name)
        return section

    def _place_in_series(self, post: Post, source: Source) -> None:
        if not source.series.strip():
            post.series, post.series_position = None, None
            return
        title = source.series.strip()[:200]
        slug = _slug(title, fallback=f"series-{source.hash[:8]}")
        series = Series.objects.filter(Q(title__iexact=title) | Q(slug=slug)).first()
        if series is None:
            series = Series(title=title, slug=slug)
            services.save_series(series)
        position = source.series_position
        if position is None and post.series_id == series.pk:
            position = post.series_position  # a part keeps its number
        if position is None:
            top = series.posts.exclude(pk=post.pk).aggregate(top=Max("series_position"))["top"]
            position = (top or 0) + 1
        post.series, post.series_position = series, position

    # --- pages ------------------------------------------------------------------------

    def _save_page(self, source: Source, page: Page | None) -> Page:
        page = page or Page()
        page.title = source.title.strip()[:200]
        page.slug = _slug(
            source.slug or source.title, fallback=f"page-{source.hash[:8]}", length=100
        )
        page.body = source.body
        if source.draft:
            raise Skip("a draft page: pages are always public here")
        try:
            page.full_clean()
        except ValidationError as exc:
            raise Skip(error_text(exc)) from None
        services.save_page(page)
        return page

    # --- old addresses ----------------------------------------------------------------

    def _redirect(self, url: str, new_path: str, notes: list[str]) -> None:
        old_path = services.site_path(url_path(url))
        if old_path in ("", "/") or old_path == new_path:
            return
        try:
            validate_site_path(old_path)
        except ValidationError as exc:
            notes.append(f"old address {url} not redirected: {' '.join(exc.messages)}")
            return
        services.record_move(old_path=old_path, new_path=new_path)

    # --- images -----------------------------------------------------------------------

    def run_image(self, path: Path, *, source_id: str, name: str, **fields):
        """Import one image file as an item of its own: (Result, image or None)."""
        known = ImportRecord.objects.filter(
            kind=self.kind, source_id=source_id, image__isnull=False
        ).exists()
        image, note = self.library_image(path, source_id=source_id, **fields)
        if note:
            return self.tally.add(Result(SKIPPED, name, note)), None
        detail = f"→ {image.file.url}" if image is not None and not known else ""
        return self.tally.add(Result(UNCHANGED if known else IMPORTED, name, detail)), image

    def library_image(self, path: Path, *, source_id: str, alt="", caption="", title=""):
        """The library image made from the file at ``path``: added once, found again on
        later runs. Returns (image or None, note or ""); in a dry run the file is only
        checked, and nothing is stored."""
        record = ImportRecord.objects.filter(kind=self.kind, source_id=source_id).first()
        if record is not None and record.image is not None:
            return record.image, ""
        try:
            data = path.read_bytes()
        except OSError as exc:
            return None, f"cannot read {path.name}: {exc.strerror}"
        try:
            with path.open("rb") as handle:
                upload = File(handle, name=path.name)
                if self.dry_run:
                    clean_image(upload)
                    return None, ""
                image = services.add_image(
                    upload, alt=alt[:300], caption=caption[:300], title=(title or path.name)[:255]
                )
        except ImageRejected as exc:
            return None, f"{path.name} not imported: {exc}"
        ImportRecord.objects.update_or_create(
            kind=self.kind,
            source_id=source_id,
            defaults={
                "source_hash": source_hash(data),
                "imported_at": timezone.now(),
                "image": image,
            },
        )
        return image, ""


def _slug(text: str, *, fallback: str, length: int = 200) -> str:
    return slugify(text)[:length].strip("-") or fallback


def _unique(names: list[str]) -> list[str]:
    """Tag names once each, whatever their case (taggit could make both of "Go" and "go"
    when they arrive together)."""
    seen, kept = set(), []
    for name in (" ".join(str(name).split())[:100] for name in names):
        if name and name.casefold() not in seen:
            seen.add(name.casefold())
            kept.append(name)
    return kept


def _images_missing_alt(body: str) -> bool:
    try:
        return markdown.images_missing_alt(markdown.render(body).html)
    except markdown.MarkdownError:
        return False  # full_clean reports it
