"""Composite reads for the reader pages. Every one starts from ``Post.objects.published()``."""

from dataclasses import dataclass

from django.db.models import (
    Count,
    Exists,
    Max,
    OuterRef,
    Prefetch,
    Q,
    Subquery,
    prefetch_related_objects,
)
from django.db.models.functions import Lower

from .markdown import split_at_link_slots
from .models import Post, Series, Tag, TaggedPost

# What a list of posts never shows: the text in its three forms, the table of contents
# and the search vector. At 1,500 words a post they are nearly all of a row.
TEXT_FIELDS = ("body", "body_html", "body_text", "toc_html", "search_vector")


# --- one scope per listing ---------------------------------------------------------------
# Whose posts a page shows, in its order, defined once: the page, its feeds and the
# sitemap all call these. Each order is one of Post.Meta.indexes, the -pk tie-break
# included, so any page of a listing is read from an index, never sorted.


def latest_posts():
    """The site's published posts, newest first: the home page, the site feeds and the
    archives (whose date views narrow it to a year or a month)."""
    return Post.objects.published().order_by("-published_at", "-pk")


def section_posts(section):
    return latest_posts().filter(section=section)


def tag_posts(tag):
    return latest_posts().filter(tags=tag)


def series_posts(series):
    """A series' published parts, in reading order."""
    # A part's position is at least 1 (a check constraint says so). Saying it here lets
    # SQLite, which plans without statistics, see that the series-parts index answers
    # in reading order; without it, it walks every published post by date, then sorts.
    return (
        Post.objects.published()
        .filter(series=series, series_position__gte=1)
        .order_by("series_position")
    )


def tags():
    """The prefetch of posts' tags, read as ``post.tag_list``, in name order.

    Through the tagging rows, not taggit's ``prefetch_related("tags")``: that builds a
    filtered queryset for every post (about 0.4 ms each), which was the largest cost of a
    page of twenty cards. This stores the rows as a plain list on each post.
    """
    return Prefetch(
        "taggedpost_set",
        queryset=TaggedPost.objects.select_related("tag").order_by(Lower("tag__name")),
        to_attr="tag_links",
    )


def as_cards(posts):
    """``posts`` as lists show them: with section, series and tags (fetched in bulk),
    without their text."""
    return posts.select_related("section", "series").prefetch_related(tags()).defer(*TEXT_FIELDS)


def cards_by_key(keys):
    """The posts with these primary keys as cards, for a page of a listing whose scope
    has already chosen them (blog.pagination)."""
    return as_cards(Post.objects.filter(pk__in=keys).order_by())


def list_posts():
    """The site's published posts as cards, newest first."""
    return as_cards(latest_posts())


def latest_by_section(sections, per_section: int = 5) -> list[tuple]:
    """(section, newest posts) for each section: one indexed query per section, then one
    for all their tags. A window function over every post did the same in one query but
    read the whole archive (~170 ms at 10,000 posts against ~2 ms for these)."""
    groups = [
        (
            section,
            list(as_cards(section_posts(section)).prefetch_related(None)[:per_section]),
        )
        for section in sections
    ]
    prefetch_related_objects([post for _, posts in groups for post in posts], tags())
    return [(section, posts) for section, posts in groups if posts]


def _published_in(field: str):
    return Q(**{f"{field}__in": Post.objects.published()})


def series_with_parts():
    """Series that have at least one published part, newest activity first, with
    ``part_count`` and ``latest_part_at`` counting published parts only.

    Each series' figures are read from its own range of the series-parts index, without
    a post row. (A join of every series with its posts read each post's row to group it;
    before that index, these subqueries scanned the posts table once per series.)
    """
    parts = series_posts(OuterRef("pk")).order_by().values("series")
    return (
        Series.objects.annotate(
            part_count=Subquery(parts.annotate(count=Count("pk")).values("count")),
            latest_part_at=Subquery(parts.annotate(latest=Max("published_at")).values("latest")),
        )
        .filter(part_count__gt=0)
        .order_by("-latest_part_at", "title")
    )


def current_series(limit: int = 3):
    """The series whose parts were published most recently (for the home page).

    Only the series of the newest published posts are considered: those posts are read
    first, down the date index, and the walk stops after a few dozen parts. Then only
    those series are counted, each from its own range of the series-parts index.
    """
    recent = latest_posts().filter(series__isnull=False).values_list("series_id", flat=True)
    return series_with_parts().filter(pk__in=list(recent[: limit * 20]))[:limit]


def tags_with_counts():
    """Tags of published posts, with how many published posts carry each."""
    return (
        Tag.objects.annotate(
            post_count=Count("tagged_posts", filter=_published_in("tagged_posts__content_object"))
        )
        .filter(post_count__gt=0)
        # Lower(): SQLite compares bytes, which put "django" after "Zope" (names are
        # unique regardless of case, so this order is total).
        .order_by(Lower("name"))
    )


def public_tags():
    """Tags that a published post carries. A tag only drafts carry is not public yet, nor
    is its name. For looking one up: unlike tags_with_counts, nothing is counted."""
    return Tag.objects.filter(Exists(tag_posts(OuterRef("pk"))))


def series_parts(series) -> list[Post]:
    """The published parts, with only what the series box shows of them."""
    return list(
        series_posts(series)
        .select_related("section")
        .only("title", "slug", "series_position", "section__slug")
    )


@dataclass(frozen=True)
class SeriesNavigation:
    series: Series
    parts: list[Post]
    current: Post

    @property
    def number(self) -> int | None:
        """The post's part number among the published parts (None in a draft preview)."""
        for index, part in enumerate(self.parts, start=1):
            if part.pk == self.current.pk:
                return index
        return None

    @property
    def previous(self) -> Post | None:
        number = self.number
        return self.parts[number - 2] if number and number > 1 else None

    @property
    def next(self) -> Post | None:
        number = self.number
        return self.parts[number] if number and number < len(self.parts) else None


def series_navigation(post: Post) -> SeriesNavigation | None:
    if post.series_id is None:
        return None
    return SeriesNavigation(post.series, series_parts(post.series), post)


def section_neighbours(post: Post) -> tuple[Post | None, Post | None]:
    """The published posts just before (older) and after (newer) this one in its section."""
    if post.published_at is None:
        return None, None
    siblings = section_posts(post.section_id)
    moment = post.published_at
    # The plain bound on the date (implied by the condition after it) is what starts each
    # walk down the section's index at this post, one way or the other.
    older = (
        siblings.filter(published_at__lte=moment)
        .filter(Q(published_at__lt=moment) | Q(pk__lt=post.pk))
        .values("pk")[:1]
    )
    newer = (
        siblings.filter(published_at__gte=moment)
        .filter(Q(published_at__gt=moment) | Q(pk__gt=post.pk))
        .reverse()
        .values("pk")[:1]
    )
    # One query for both; which is which is decided below, so the two rows need no order.
    found = (
        Post.objects.filter(Q(pk=Subquery(older)) | Q(pk=Subquery(newer)))
        .order_by()
        .select_related("section")
        .only("title", "slug", "published_at", "section__slug")
    )
    here = (moment, post.pk)
    older_post = newer_post = None
    for neighbour in found:
        if (neighbour.published_at, neighbour.pk) < here:
            older_post = neighbour
        else:
            newer_post = neighbour
    return older_post, newer_post


def group_links(links) -> list[tuple[str, list]]:
    """A post's links under their headings, in order; links without a heading first."""
    groups: dict[str, list] = {}
    for link in sorted(links, key=lambda link: bool(link.group)):
        groups.setdefault(link.group, []).append(link)
    return list(groups.items())


@dataclass(frozen=True)
class BodyPart:
    html: str  # stored, sanitised body HTML
    link_groups: list  # the (heading, links) placed right after it: none or one


@dataclass(frozen=True)
class PostLayout:
    """A post's body with its link groups where the author placed them (a
    ``[links: Heading]`` line), and the groups placed nowhere, which follow the body."""

    parts: list[BodyPart]
    trailing: list


def post_layout(post: Post) -> PostLayout:
    """Uses the post's prefetched links; no query of its own."""
    groups = dict(group_links(post.links.all()))
    placed = set()
    parts = []
    for html, heading in split_at_link_slots(post.body_html):
        here = []
        # A heading without links (or placed twice) leaves its slot empty.
        if heading in groups and heading not in placed:
            here = [(heading, groups[heading])]
            placed.add(heading)
        parts.append(BodyPart(html, here))
    return PostLayout(parts, [(h, links) for h, links in groups.items() if h not in placed])


def public_series():
    """Series with at least one published part. The others, their titles included, are not
    public yet: their pages and feeds answer 404, as a tag that only drafts carry does."""
    return Series.objects.filter(Exists(series_posts(OuterRef("pk"))))


# How many of the newest posts of each tag are candidates to be related posts.
RELATED_CANDIDATES_PER_TAG = 20


def related_posts(post: Post, limit: int = 3) -> list[Post]:
    """Up to ``limit`` published posts that share tags with ``post``: most shared tags
    first, then newest. Never the post itself, nor a part of its series (the series box
    lists those).

    The candidates are the newest posts of each of its tags (a few dozen, each tag's
    read down the date index), so ranking them never reads the whole archive.

    One query, whatever the number of posts and tags: the post's tags are read from its
    prefetch (the post page has one), and a post without tags needs no query at all.
    """
    tag_ids = [tag.pk for tag in post.tag_list]
    if not tag_ids:
        return []
    newest_of_its_tags = Q()
    for tag_id in tag_ids:
        newest = tag_posts(tag_id).values("pk")[:RELATED_CANDIDATES_PER_TAG]
        newest_of_its_tags |= Q(pk__in=newest)
    candidates = Post.objects.filter(newest_of_its_tags).exclude(pk=post.pk)
    if post.series_id is not None:
        candidates = candidates.exclude(series_id=post.series_id)
    return list(
        candidates.annotate(shared_tags=Count("tags", filter=Q(tags__in=tag_ids)))
        .select_related("section")
        .only("title", "slug", "published_at", "section__slug", "section__name")
        .order_by("-shared_tags", "-published_at", "-pk")[:limit]
    )
