"""The content model: sections, posts, series, links, tags, the author and the site.

``Post.objects.published()`` is the only definition of what the public may see.
"""

import logging
import math
import uuid
from datetime import timedelta
from urllib.parse import urlsplit
from uuid import uuid4

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import IntegrityError, models, transaction
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.text import Truncator
from markdownx.models import MarkdownxField
from PIL import Image as PILImage
from taggit.managers import TaggableManager
from taggit.models import TagBase, TaggedItemBase

from . import markdown
from .fields import search_vector_field
from .images import storage_errors
from .routes import object_url
from .tags import slug_candidates

logger = logging.getLogger(__name__)
# Section URLs sit at the top level (/<section>/), so these paths can never be sections.
RESERVED_SLUGS = frozenset(
    {
        "admin", "api", "archive", "accounts", "feed", "feed.json", "feeds", "media",
        "static", "search", "series", "sitemap.xml", "robots.txt", "tags", "tag",
        "favicon.ico", "humans.txt", "manifest.json", "preview", "markdownx", "login",
        "logout", "page", "404", "500", ".well-known",
    }
)  # fmt: skip

WORDS_PER_MINUTE = 230
SUMMARY_CHARS = 280


def validate_section_slug(value: str) -> None:
    if value.lower() in RESERVED_SLUGS:
        raise ValidationError(
            "“%(slug)s” is reserved for a site page (%(reserved)s); choose another slug.",
            code="reserved",
            params={"slug": value, "reserved": ", ".join(sorted(RESERVED_SLUGS))},
        )
    # The admin may live elsewhere (BYTEPRESS_ADMIN_PATH): its first segment is taken too.
    if value.lower() == settings.BYTEPRESS_ADMIN_PATH.split("/")[0].lower():
        raise ValidationError(
            "“%(slug)s” is where the admin lives; choose another slug.",
            code="reserved",
            params={"slug": value},
        )


class Section(models.Model):
    name = models.CharField(max_length=100)
    slug = models.SlugField(
        max_length=100,
        unique=True,
        validators=[validate_section_slug],
        help_text="The section's address: /<slug>/.",
    )
    description = models.TextField(blank=True)
    nav_position = models.PositiveSmallIntegerField(
        default=0, help_text="Order in the site navigation, lowest first."
    )

    class Meta:
        ordering = ["nav_position", "name"]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return object_url("blog:section-detail", section=self.slug)

    def clean(self):
        # Sections and pages share /<slug>/ (Page is defined below; looked up at call time).
        page = Page.objects.filter(slug__iexact=self.slug).first() if self.slug else None
        if page is not None:
            raise ValidationError(
                {
                    "slug": f"The page “{page}” already has the address /{page.slug}/; "
                    "choose another slug."
                }
            )


class AuthorProfile(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="author_profile"
    )
    display_name = models.CharField(max_length=100)
    bio = models.TextField(blank=True, help_text="A sentence or two, shown in the byline.")
    avatar = models.ImageField(upload_to="avatars/", blank=True)

    class Meta:
        ordering = ["display_name"]

    def __str__(self):
        return self.display_name


class ProfileLink(models.Model):
    profile = models.ForeignKey(AuthorProfile, on_delete=models.CASCADE, related_name="links")
    label = models.CharField(max_length=50, help_text="LinkedIn, GitHub, Mastodon, …")
    url = models.URLField(max_length=500)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "pk"]

    def __str__(self):
        return f"{self.label}: {self.url}"


class SiteSettings(models.Model):
    """The one row of site-wide settings; ``SiteSettings.load()`` creates it on demand."""

    title = models.CharField(max_length=100, default="Bytepress")
    tagline = models.CharField(max_length=200, blank=True)
    logo = models.ImageField(upload_to="site/", blank=True)
    logo_alt = models.CharField("logo alt text", max_length=200, blank=True)
    owner = models.ForeignKey(
        AuthorProfile,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        help_text="The author named in the site header.",
    )
    social_image = models.ForeignKey(
        "Image",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="Shown by social sites for pages without a cover image (cropped to "
        "1200×630). Without one, a card with the site's title is made.",
    )
    posts_per_page = models.PositiveSmallIntegerField(default=10)
    feed_length = models.PositiveSmallIntegerField(
        default=20, help_text="How many recent posts each feed carries."
    )

    class Meta:
        verbose_name = "site settings"
        verbose_name_plural = "site settings"
        constraints = [
            models.CheckConstraint(condition=models.Q(pk=1), name="site_settings_singleton"),
            models.CheckConstraint(
                condition=models.Q(posts_per_page__gte=1, posts_per_page__lte=100),
                name="site_settings_posts_per_page_range",
            ),
            models.CheckConstraint(
                condition=models.Q(feed_length__gte=1, feed_length__lte=200),
                name="site_settings_feed_length_range",
            ),
        ]

    def __str__(self):
        return self.title

    def save(self, *args, **kwargs):
        self.pk = 1
        super().save(*args, **kwargs)

    def clean(self):
        if self.logo and not self.logo_alt.strip():
            raise ValidationError({"logo_alt": "Describe the logo for readers who can't see it."})
        if not 1 <= self.posts_per_page <= 100:
            raise ValidationError({"posts_per_page": "Choose between 1 and 100 posts per page."})
        if not 1 <= self.feed_length <= 200:
            raise ValidationError({"feed_length": "Choose between 1 and 200 feed items."})

    @classmethod
    def load(cls) -> "SiteSettings":
        obj, _ = cls.objects.get_or_create(pk=1)
        return obj


class SiteVersion(models.Model):
    """Tokens that change whenever what readers see changes; one row, read once a request.

    - ``chrome``: the site chrome (settings, sections, the owner's profile and links,
      pages in the nav). Every process rebuilds its copy when it differs.
    - ``content``: anything a reader can see (which includes the chrome). Cached pages
      are keyed on it, and it is the validator (ETag) of every page and feed, so a
      publish or an edit shows on the next request in every process.
    - ``next_due``: when the next scheduled post goes live. The first request after it
      moves ``content`` on: no cron job is needed.

    Random tokens, not counters: two concurrent bumps never produce the same value.
    """

    chrome = models.UUIDField(default=uuid.uuid4)
    content = models.UUIDField(default=uuid.uuid4)
    content_changed_at = models.DateTimeField(default=timezone.now)
    next_due = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(pk=1), name="site_version_singleton")
        ]

    def __str__(self):
        return f"chrome {self.chrome}, content {self.content}"

    @classmethod
    def current(cls) -> "SiteVersion":
        """The row as it is now (one query; created on first use)."""
        row = cls.objects.filter(pk=1).first()
        return row if row is not None else cls.objects.get_or_create(pk=1)[0]

    @classmethod
    def current_chrome(cls) -> uuid.UUID:
        return cls.current().chrome

    @classmethod
    def bump_chrome(cls) -> None:
        """The chrome changed, and so did every page."""
        cls.bump_content(chrome=True)

    @classmethod
    def bump_content(cls, *, chrome: bool = False, expected_due=None) -> bool:
        """Move the content token on (and the chrome's, if ``chrome``), and work out when
        the next scheduled post goes live. With ``expected_due``, only if ``next_due``
        is still that moment (so that of two requests noticing it, one bumps)."""
        now = timezone.now()
        changes = {
            "content": uuid.uuid4(),
            "content_changed_at": now,
            "next_due": Post.objects.scheduled(now).aggregate(due=models.Min("published_at"))[
                "due"
            ],
        }
        if chrome:
            changes["chrome"] = uuid.uuid4()
        rows = cls.objects.filter(pk=1)
        if expected_due is not None:
            rows = rows.filter(next_due=expected_due)
        if rows.update(**changes):
            return True
        if expected_due is None:  # the row does not exist yet
            cls.objects.get_or_create(pk=1, defaults=changes)
        return False


class Series(models.Model):
    title = models.CharField(max_length=200)
    slug = models.SlugField(max_length=200, unique=True)
    description = MarkdownxField(blank=True)
    description_html = models.TextField(blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["title"]
        verbose_name_plural = "series"

    def __str__(self):
        return self.title

    def save(self, *args, **kwargs):
        self.render()
        super().save(*args, **kwargs)

    def get_absolute_url(self):
        return object_url("blog:series-detail", slug=self.slug)

    def clean(self):
        markdown.check_renders(self.description, field="description")

    def render(self) -> None:
        self.description_html = markdown.render_markdown(self.description)


class Tag(TagBase):
    """A tag whose name is unique regardless of case, with a readable slug of its own
    ("C" /tags/c/, "C++" /tags/c-plus-plus/, "🐍" /tags/snake/; see blog.tags)."""

    class Meta:
        ordering = [Lower("name")]
        constraints = [models.UniqueConstraint(Lower("name"), name="blog_tag_name_ci_unique")]

    def save(self, *args, **kwargs):
        if not (self._state.adding and not self.slug):
            return super().save(*args, **kwargs)
        # The slug is chosen here, so taggit's own retry loop (which appends _1, _2, … in
        # the order tags happen to be created) has nothing left to do. A candidate that
        # another request takes between the check and the insert is skipped, too.
        for slug in slug_candidates(self.name):
            if Tag.objects.filter(slug=slug).exists():
                continue
            self.slug = slug
            try:
                with transaction.atomic():
                    return super().save(*args, **kwargs)
            except IntegrityError:
                if not Tag.objects.filter(slug=slug).exists():
                    raise  # not the slug (the name is taken, say): a real error
        raise IntegrityError(f"No free slug for the tag {self.name!r}.")

    def get_absolute_url(self):
        return object_url("blog:tag-detail", slug=self.slug)


class TaggedPost(TaggedItemBase):
    content_object = models.ForeignKey("Post", on_delete=models.CASCADE)
    tag = models.ForeignKey(Tag, on_delete=models.CASCADE, related_name="tagged_posts")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["content_object", "tag"], name="blog_tagged_post_unique"
            )
        ]


def detach_from_series(collector, field, sub_objs, using):
    """Deleting a series keeps its posts, as standalone posts without a part number."""
    collector.add_field_update(field, None, sub_objs)
    collector.add_field_update(sub_objs[0]._meta.get_field("series_position"), None, sub_objs)


class PostQuerySet(models.QuerySet):
    """The three states of a post. ``published()`` is the rule for what the public sees;
    ``scheduled()`` and ``drafts()`` are the rest, for the admin."""

    def published(self, now=None):
        """What the public may see: published, and not dated in the future."""
        return self.filter(status=Post.Status.PUBLISHED, published_at__lte=now or timezone.now())

    def scheduled(self, now=None):
        """Published, but dated in the future: public from that moment on."""
        return self.filter(status=Post.Status.PUBLISHED, published_at__gt=now or timezone.now())

    def drafts(self):
        return self.exclude(status=Post.Status.PUBLISHED)

    def published_or_scheduled(self):
        """Published now or later: a change to one of these is, or will be, seen."""
        return self.filter(status=Post.Status.PUBLISHED)


class Post(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        PUBLISHED = "published", "Published"

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    title = models.CharField(max_length=200)
    slug = models.SlugField(max_length=200, help_text="Unique within the section.")
    subtitle = models.CharField(max_length=300, blank=True)
    section = models.ForeignKey(Section, on_delete=models.PROTECT, related_name="posts")
    author = models.ForeignKey(AuthorProfile, on_delete=models.PROTECT, related_name="posts")
    body = MarkdownxField(help_text="Markdown. Drop or paste an image to upload it.")
    body_html = models.TextField(blank=True, editable=False)
    body_text = models.TextField(blank=True, editable=False)
    toc_html = models.TextField(blank=True, editable=False)
    excerpt = models.TextField(
        blank=True, help_text="Shown in lists and feeds. Leave blank to use the opening text."
    )
    summary = models.TextField(blank=True, editable=False)
    cover = models.ForeignKey(
        "Image",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="cover_of",
        help_text="An image from the library; its alt text and caption are used.",
    )
    # Filled on save from the cover's renditions, so pages need no query for them.
    cover_html = models.TextField(blank=True, editable=False)
    cover_social = models.CharField(max_length=255, blank=True, editable=False)
    tags = TaggableManager(through=TaggedPost, blank=True)
    series = models.ForeignKey(
        Series, on_delete=detach_from_series, null=True, blank=True, related_name="posts"
    )
    series_position = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text="Part number within the series (1, 2, 3, …).",
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    published_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="A future date schedules the post; it goes live then, with no cron job.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    reading_time = models.PositiveSmallIntegerField(default=1, editable=False)
    meta_description = models.CharField(max_length=300, blank=True)
    canonical_url = models.URLField(
        max_length=500, blank=True, help_text="Only if the post first appeared elsewhere."
    )
    # Signed into every share-preview link (blog.sharing); replacing it revokes them all.
    # (uuid4 by name: in this class body `uuid` is the field above, not the module.)
    share_key = models.UUIDField(default=uuid4, editable=False)
    # Filled by blog.search on PostgreSQL (GIN-indexed there); unused on SQLite, which
    # keeps its FTS5 table instead.
    search_vector = search_vector_field(null=True, editable=False)
    body_images = models.ManyToManyField(
        "Image", through="PostImage", blank=True, editable=False, related_name="posts"
    )

    objects = PostQuerySet.as_manager()

    class Meta:
        ordering = ["-published_at", "-pk"]
        get_latest_by = "published_at"
        # Each reader listing walks one of these in its own order, the -pk tie-break
        # included: a page at any depth reads index entries, never a sort of the posts.
        # What lists filter and join on is in the index too, so the rows a deep page
        # skips are never read (SQLite reads a row, text included, for a join key; at
        # 1,500 words a post, a row is mostly its text).
        indexes = [
            # The site's posts, newest first (home, archives, site feeds, tag pages).
            models.Index(
                fields=["status", "-published_at", "-id", "section", "series"],
                name="post_status_published_idx",
            ),
            # A section's posts, and the previous and next post within it.
            models.Index(
                fields=["section", "status", "-published_at", "-id", "series"],
                name="post_section_published_idx",
            ),
            # A series' parts in reading order; with the date, also how many are public
            # and when the latest went live, from the index alone.
            models.Index(
                fields=["series", "status", "series_position", "published_at"],
                name="post_series_parts_idx",
            ),
        ]
        constraints = [
            models.UniqueConstraint(fields=["section", "slug"], name="post_slug_unique_in_section"),
            models.UniqueConstraint(
                fields=["series", "series_position"], name="post_series_position_unique"
            ),
            models.CheckConstraint(
                # One-way on purpose: deleting a series nulls the two columns in two
                # statements (see detach_from_series), the series first.
                condition=models.Q(series__isnull=True)
                | models.Q(series_position__isnull=False, series_position__gte=1),
                name="post_series_has_position",
            ),
            models.CheckConstraint(
                condition=~models.Q(status="published") | models.Q(published_at__isnull=False),
                name="post_published_has_date",
            ),
        ]

    def __str__(self):
        return self.title

    # Fields whose change calls for rendering again; a save of others (publishing, say)
    # writes its columns and touches no other table.
    RENDERED_FROM = frozenset({"body", "cover", "excerpt"})
    RENDERED_FIELDS = frozenset(
        {"body_html", "body_text", "toc_html", "summary", "reading_time", "cover_html",
         "cover_social"}
    )  # fmt: skip

    def save(self, *args, **kwargs):
        if self.status == self.Status.PUBLISHED and self.published_at is None:
            self.published_at = timezone.now()
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and not self.RENDERED_FROM & set(update_fields):
            return super().save(*args, **kwargs)
        self.render()
        if update_fields is not None:
            kwargs["update_fields"] = {*update_fields, *self.RENDERED_FIELDS}
        super().save(*args, **kwargs)
        # Which library images the body shows: deleting one of them is then refused.
        self.body_images.set(self._body_images)
        # Alt text typed in the Markdown fills the library's where it has none, so
        # the next post that shows the image starts from it. (update(): the image's
        # own save would re-save every post that shows it.)
        for image_id, alt in self._missing_alt.items():
            Image.objects.filter(pk=image_id, alt="", decorative=False).update(alt=alt[:300])

    def get_absolute_url(self):
        return object_url("blog:post-detail", section=self.section.slug, slug=self.slug)

    @property
    def tag_list(self) -> list["Tag"]:
        """The post's tags in name order: from ``selectors.tags()`` when a list fetched
        them for all its posts at once, else read now."""
        links = getattr(self, "tag_links", None)
        if links is None:
            return list(self.tags.order_by(Lower("name")))
        return [link.tag for link in links]

    def clean(self):
        errors = {}
        # Checked here, not only by the database constraints, so that the form error sits
        # on the field the author has to change.
        if (
            self.section_id
            and self.slug
            and Post.objects.filter(section_id=self.section_id, slug=self.slug)
            .exclude(pk=self.pk)
            .exists()
        ):
            errors["slug"] = (
                f"Another post in “{self.section}” already uses the slug “{self.slug}”."
            )
        if (
            self.series_id
            and self.series_position is not None
            and not getattr(self, "series_position_checked_elsewhere", False)
            and Post.objects.filter(series_id=self.series_id, series_position=self.series_position)
            .exclude(pk=self.pk)
            .exists()
        ):
            errors["series_position"] = (
                f"Part {self.series_position} of “{self.series}” is already taken; "
                "choose another part number."
            )
        try:
            body_html = markdown.render(self.body).html
        except markdown.MarkdownError as exc:
            errors["body"] = str(exc)
        else:
            if self.status == self.Status.PUBLISHED and markdown.images_missing_alt(body_html):
                errors["body"] = (
                    "Every image needs alt text before the post is published: replace "
                    f"“{markdown.ALT_PLACEHOLDER}” (or empty brackets in ![](…)) with a "
                    "short description of the image."
                )
        if self.cover_id and not (self.cover.alt.strip() or self.cover.decorative):
            errors["cover"] = "This image has no alt text yet: add it in the image library first."
        if self.series_id and self.series_position is None:
            errors["series_position"] = "Give the post's part number in the series."
        if self.series_position is not None and not self.series_id:
            errors["series"] = "Choose the series this part number belongs to."
        if errors:
            raise ValidationError(errors)

    def render(self) -> None:
        """Fill the derived fields (HTML, plain text, summary, reading time) from ``body``."""
        from .figures import cover_markup, enrich  # figures queries Image, defined below

        rendered = markdown.render(self.body)
        enriched = enrich(rendered.html)
        self.body_html, self._body_images = enriched.html, enriched.images
        self._missing_alt = enriched.missing_alt
        self.cover_html, self.cover_social = cover_markup(self.cover)
        self.toc_html = rendered.toc_html
        self.body_text = markdown.html_to_text(rendered.html)
        self.reading_time = self.count_reading_time()
        source = self.excerpt.strip() or markdown.paragraphs_text(rendered.html) or self.body_text
        self.summary = Truncator(source).chars(SUMMARY_CHARS)

    def count_reading_time(self) -> int:
        """Minutes to read the body and the links (titles and commentary), at least one.

        Needs ``body_text`` and the stored links: a post not saved yet has none, and the
        admin saves them after the post, so blog.signals counts again when they change.
        """
        texts = [self.body_text]
        if self.pk:
            for link in self.links.all():
                texts += [link.title, markdown.html_to_text(link.commentary_html)]
        words = sum(len(text.split()) for text in texts)
        return max(1, math.ceil(words / WORDS_PER_MINUTE))

    @property
    def edited_at(self):
        """When the post was last edited after publication, if it was (else None).

        An hour's grace leaves out the saves that happen around publishing itself.
        """
        if self.published_at and self.updated_at - self.published_at > timedelta(hours=1):
            return self.updated_at
        return None

    @property
    def shows_toc(self) -> bool:
        """Whether the post page shows the table of contents: with 3 or more headings.

        Shorter posts are read at a glance. ``toc_html`` is the sanitiser's output, which
        writes every entry as a bare ``<li>``.
        """
        return self.toc_html.count("<li>") >= 3

    @property
    def visibility(self) -> str:
        """ "draft", "scheduled" or "published", for the admin and staff previews.

        Lists and lookups never use this: they go through ``Post.objects.published()``.
        """
        if self.status != self.Status.PUBLISHED:
            return "draft"
        if self.published_at and self.published_at > timezone.now():
            return "scheduled"
        return "published"


class Link(models.Model):
    """A recommended link inside a post: title, URL and a paragraph of commentary."""

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="links")
    group = models.CharField(
        max_length=200, blank=True, help_text="Links with the same heading are shown together."
    )
    title = models.CharField(max_length=300)
    url = models.URLField("URL", max_length=2000)
    commentary = MarkdownxField(blank=True)
    commentary_html = models.TextField(blank=True, editable=False)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "pk"]
        indexes = [models.Index(fields=["post", "position"], name="link_post_position_idx")]

    def __str__(self):
        return self.title

    def save(self, *args, **kwargs):
        self.render()
        super().save(*args, **kwargs)

    def clean(self):
        markdown.check_renders(self.commentary, field="commentary")

    def render(self) -> None:
        self.commentary_html = markdown.render_markdown(self.commentary)

    @property
    def domain(self) -> str:
        try:
            host = urlsplit(self.url).hostname or ""
        except ValueError:  # "https://[x": no host Python can read, so none to show
            return ""
        return host.removeprefix("www.")


class Revision(models.Model):
    """A snapshot of a post as it was saved: its fields, links, tags and series place.

    Every save records one (see ``blog.services.save_post``); a restore is a save too,
    so nothing is ever lost. Autosaves are revisions that never touch the live post.
    ``data`` is self-contained (names beside ids), so a revision stays readable after
    the section, series, image or tags it mentions are gone.
    """

    class Kind(models.TextChoices):
        SAVE = "save", "Saved"
        AUTOSAVE = "autosave", "Autosaved"
        RESTORE = "restore", "Restored"

    # None only for the autosave of a post not saved yet (one per author).
    post = models.ForeignKey(
        Post, on_delete=models.CASCADE, null=True, blank=True, related_name="revisions"
    )
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.SAVE)
    data = models.JSONField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now)
    # The revision recorded when the post first went public: pruning always keeps it.
    first_published = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created_at", "-pk"]
        get_latest_by = ["created_at", "pk"]
        indexes = [
            models.Index(fields=["post", "-created_at", "-id"], name="revision_post_created_idx")
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(post__isnull=False) | models.Q(kind="autosave"),
                name="revision_has_post_unless_autosave",
            )
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.created_at:%Y-%m-%d %H:%M:%S}"


class LibraryImageField(models.ImageField):
    """An ImageField that never reads its file when a row is loaded.

    Django reads an image's size from its file whenever an instance is loaded with empty
    width/height columns: one storage read per image per page (an S3 GET), and a 500 if
    the file is gone. Sizes are stored when an image is saved (``Image.save``) and were
    backfilled by migration 0003, so loading never needs the file; a row whose file was
    unreadable then simply has no size, and its <img> goes without width and height.
    An assignment of a new file (``force``) still measures it; a failure is logged.
    """

    def update_dimension_fields(self, instance, force=False, *args, **kwargs):
        if not force:
            return
        try:
            super().update_dimension_fields(instance, force, *args, **kwargs)
        except (*storage_errors(), ValueError) as exc:
            logger.warning("Cannot read the size of image file %r: %s", instance.file.name, exc)


class Image(models.Model):
    """An image in the library: the cleaned original plus what readers need to know.

    Renditions (smaller copies in modern formats) are made once by blog.renditions and
    stored beside it; pages pick among them with srcset.
    """

    file = LibraryImageField(upload_to="images/%Y/%m/", width_field="width", height_field="height")
    # Stored on save; None only for a row whose file could not be read.
    width = models.PositiveIntegerField(editable=False, null=True)
    height = models.PositiveIntegerField(editable=False, null=True)
    file_size = models.PositiveBigIntegerField("bytes", editable=False, null=True)
    title = models.CharField(
        max_length=255,
        blank=True,
        help_text="The name the file had when it was uploaded, to find it again.",
    )
    alt = models.CharField(
        "alt text",
        max_length=300,
        blank=True,
        help_text="What the image shows, for readers who can't see it.",
    )
    decorative = models.BooleanField(
        default=False, help_text="Purely decorative: screen readers skip it, no alt text needed."
    )
    caption = models.CharField(max_length=300, blank=True)
    credit = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return self.title or self.alt or self.file.name.rsplit("/", 1)[-1]

    def save(self, *args, **kwargs):
        # Renditions and the posts that show the image follow in services.save_image.
        super().save(*args, **kwargs)
        if self.file and None in (self.width, self.height, self.file_size):
            self._store_size()

    def _store_size(self) -> None:
        """Read the dimensions and byte size from the stored file, once, so that pages
        and feeds never have to (Django's own dimension update comes back empty for
        content saved through ``FieldFile.save()``)."""
        try:
            with (
                self.file.storage.open(self.file.name, "rb") as handle,
                PILImage.open(handle) as decoded,
            ):
                self.width, self.height = decoded.size
            self.file_size = self.file.storage.size(self.file.name)
        except (*storage_errors(), ValueError) as exc:
            logger.warning("Cannot read the size of image file %r: %s", self.file.name, exc)
            return
        Image.objects.filter(pk=self.pk).update(
            width=self.width, height=self.height, file_size=self.file_size
        )

    def _stored_file_name(self):
        return Image.objects.filter(pk=self.pk).values_list("file", flat=True).first()

    def clean(self):
        # Posts refer to an image by its file's URL: a new file would orphan them.
        if self.pk and self._stored_file_name() not in (None, self.file.name):
            in_use = Post.objects.filter(models.Q(cover=self) | models.Q(body_images=self))
            if in_use.exists():
                raise ValidationError(
                    {
                        "file": "Posts show this image, so its file cannot be replaced; "
                        "upload the new picture as a new image instead."
                    }
                )
        if not self.decorative and not self.alt.strip():
            raise ValidationError(
                {"alt": "Describe the image, or mark it as decorative if it adds nothing."}
            )


class Rendition(models.Model):
    """A resized (or cropped, for social cards) copy of a library image in one format."""

    class Kind(models.TextChoices):
        WIDTH = "width", "Resized to a width"
        SOCIAL = "social", "Social card (1200×630)"

    image = models.ForeignKey(Image, on_delete=models.CASCADE, related_name="renditions")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.WIDTH)
    format = models.CharField(max_length=10)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    file = models.FileField(upload_to="renditions/", max_length=255)
    size = models.PositiveIntegerField(help_text="Bytes.")

    class Meta:
        ordering = ["image", "kind", "format", "width"]
        constraints = [
            models.UniqueConstraint(
                fields=["image", "kind", "format", "width"], name="rendition_unique"
            )
        ]

    def __str__(self):
        return f"{self.image} · {self.format} {self.width}×{self.height}"


class PostImage(models.Model):
    """A library image shown in a post's body; the image cannot be deleted meanwhile."""

    post = models.ForeignKey(Post, on_delete=models.CASCADE)
    image = models.ForeignKey(Image, on_delete=models.PROTECT)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["post", "image"], name="post_image_unique")]

    def __str__(self):
        return f"{self.image} in {self.post}"


class Page(models.Model):
    """A standalone page (About, Now, Uses) at /<slug>/.

    Pages share the top-level URLs with sections: a slug is reserved, a section's or a
    page's, never two of these (``clean`` here and in ``Section``). Pages are always
    public; they are in the sitemap and never in feeds.
    """

    title = models.CharField(max_length=200)
    slug = models.SlugField(
        max_length=100,
        unique=True,
        validators=[validate_section_slug],
        help_text="The page's address: /<slug>/.",
    )
    body = MarkdownxField(help_text="Markdown. Drop or paste an image to upload it.")
    body_html = models.TextField(blank=True, editable=False)
    nav_position = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text="Place in the site navigation, after the sections, lowest first. "
        "Leave blank to keep the page out of the navigation.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        # Pages in the navigation first, in its order (databases differ on where NULLs sort).
        ordering = [models.F("nav_position").asc(nulls_last=True), "title"]

    def __str__(self):
        return self.title

    def save(self, *args, **kwargs):
        self.render()
        super().save(*args, **kwargs)

    def get_absolute_url(self):
        # One top-level route serves sections and pages (see views.SectionView).
        return object_url("blog:section-detail", section=self.slug)

    def clean(self):
        errors = {}
        section = Section.objects.filter(slug__iexact=self.slug).first() if self.slug else None
        if section is not None:
            errors["slug"] = (
                f"The section “{section}” already has the address /{section.slug}/; "
                "choose another slug."
            )
        try:
            body_html = markdown.render_markdown(self.body)
        except markdown.MarkdownError as exc:
            errors["body"] = str(exc)
        else:
            # A page is public as soon as it is saved, so the rule for publishing posts
            # holds from the start.
            if markdown.images_missing_alt(body_html):
                errors["body"] = (
                    "Every image needs alt text: replace "
                    f"“{markdown.ALT_PLACEHOLDER}” (or empty brackets in ![](…)) with a "
                    "short description of the image."
                )
        if errors:
            raise ValidationError(errors)

    def render(self) -> None:
        self.body_html = markdown.render_markdown(self.body)

    @property
    def description(self) -> str:
        """The meta description: the body's opening prose (from the stored HTML)."""
        text = markdown.paragraphs_text(self.body_html) or markdown.html_to_text(self.body_html)
        return Truncator(text).chars(SUMMARY_CHARS)


def validate_site_path(value: str) -> None:
    """A path on this site, as ``request.path`` spells it.

    "//host/…" and "/\\host/…" are other sites to a browser, so a redirect to them would
    be an open redirect; a query or fragment never matches a request's path.
    """
    if not value.startswith("/") or value[1:2] in ("/", "\\"):
        raise ValidationError(
            "Give a path on this site, starting with a single “/”, such as /bytes/my-post/.",
            code="not_a_site_path",
        )
    if "?" in value or "#" in value:
        raise ValidationError(
            "Leave out the “?…” query and the “#…” fragment: redirects match the path alone.",
            code="query_or_fragment",
        )
    if "\\" in value or any(char.isspace() or not char.isprintable() for char in value):
        raise ValidationError(
            "A path has no spaces, backslashes or control characters.", code="invalid_character"
        )


class Redirect(models.Model):
    """An old address of this site and where its page lives now.

    blog.middleware answers 301 from ``old_path`` to ``new_path`` only where the site
    found nothing, so a live page always wins. Paths are stored decoded (“/tags/café/”),
    as ``request.path`` has them. No redirect's ``new_path`` is another's ``old_path``:
    ``clean()`` and blog.services keep chains collapsed, so a reader is sent once.
    """

    old_path = models.CharField(
        max_length=500,
        unique=True,
        validators=[validate_site_path],
        help_text="The address that no longer has a page, such as /bytes/old-slug/.",
    )
    new_path = models.CharField(
        max_length=500,
        validators=[validate_site_path],
        help_text="Where readers are sent, such as /bytes/new-slug/.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        # Chains are collapsed by looking up the redirects that lead to an address.
        indexes = [models.Index(fields=["new_path"], name="redirect_new_path_idx")]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(old_path=models.F("new_path")),
                name="redirect_leads_elsewhere",
                violation_error_message="A redirect must lead to another address.",
            )
        ]

    def __str__(self):
        return f"{self.old_path} → {self.new_path}"

    def clean(self):
        if not (self.old_path and self.new_path):
            return  # the field errors say what is missing
        if self.old_path == self.new_path:
            raise ValidationError({"new_path": "A redirect must lead to another address."})
        # A target that is itself redirected is replaced by where that one leads, so
        # readers are sent once; arriving back at old_path would be a loop.
        seen = {self.new_path}
        while True:
            onward = (
                Redirect.objects.filter(old_path=self.new_path)
                .exclude(pk=self.pk)
                .values_list("new_path", flat=True)
                .first()
            )
            if onward is None:
                break
            if onward == self.old_path or onward in seen:
                raise ValidationError(
                    {
                        "new_path": f"“{self.new_path}” already redirects to “{onward}”: "
                        "this redirect would make a loop."
                    }
                )
            seen.add(onward)
            self.new_path = onward


class ImportRecord(models.Model):
    """What an import made of one source item, so that running it again updates the post
    (or page, or image) instead of adding a second one.

    ``source_id`` is stable across runs: a Markdown file's path relative to the folder
    imported, a WordPress item's guid. ``source_hash`` tells an unchanged source from a
    changed one; ``imported_at`` tells a post edited here since from one that was not.
    """

    class Kind(models.TextChoices):
        MARKDOWN = "markdown", "Markdown files"
        WORDPRESS = "wordpress", "WordPress export"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    source_id = models.CharField(max_length=500)
    source_hash = models.CharField(max_length=64)
    post = models.ForeignKey(
        Post, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    page = models.ForeignKey(
        Page, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    image = models.ForeignKey(
        Image, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    imported_at = models.DateTimeField()

    class Meta:
        ordering = ["kind", "source_id"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "source_id"], name="import_record_unique")
        ]

    def __str__(self):
        return f"{self.get_kind_display()}: {self.source_id}"

    @property
    def target(self):
        """The post, page or image this source became (None once deleted here)."""
        return self.post or self.page or self.image
