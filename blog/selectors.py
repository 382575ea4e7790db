"""Composite reads for the reader pages. Every one starts from ``Post.objects.published()``."""

from dataclasses import dataclass

from django.db.models import Count, Max, Q, Subquery, prefetch_related_objects
from django.db.models.functions import Lower

from .markdown import split_at_link_slots
from .models import Post, Series, Tag


def list_posts():
    """Published posts with what a list shows (section, series, tags) fetched in bulk."""
    return Post.objects.published().select_related("section", "series").prefetch_related("tags")


def latest_by_section(sections, per_section: int = 5) -> list[tuple]:
    """(section, newest posts) for each section: one indexed query per section, then one
    for all their tags. A window function over every post did the same in one query but
    read the whole archive (~170 ms at 10,000 posts against ~2 ms for these)."""
    groups = [
        (section, list(list_posts().filter(section=section).prefetch_related(None)[:per_section]))
        for section in sections
    ]
    prefetch_related_objects([post for _, posts in groups for post in posts], "tags")
    return [(section, posts) for section, posts in groups if posts]


def _published_in(field: str):
    return Q(**{f"{field}__in": Post.objects.published()})


def series_with_parts():
    """Series that have at least one published part, newest activity first.

    Filtering before annotating makes the counts and dates cover published parts only,
    in one grouped query (a correlated subquery per series was 1,000x slower on SQLite).
    """
    return (
        Series.objects.filter(posts__in=Post.objects.published())
        .annotate(part_count=Count("posts"), latest_part_at=Max("posts__published_at"))
        .order_by("-latest_part_at", "title")
    )


def current_series(limit: int = 3):
    """The series whose parts were published most recently (for the home page).

    Only series among the newest published posts are considered, so the query reads a
    few dozen rows through the publication-date index, not the whole archive.
    """
    recent = (
        Post.objects.published()
        .filter(series__isnull=False)
        .order_by("-published_at")
        .values("series_id")[: limit * 20]
    )
    return series_with_parts().filter(pk__in=recent)[:limit]


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


def series_parts(series) -> list[Post]:
    return list(
        Post.objects.published()
        .filter(series=series)
        .select_related("section")
        .order_by("series_position")
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
    siblings = Post.objects.published().filter(section_id=post.section_id)
    moment = post.published_at
    older = (
        siblings.filter(Q(published_at__lt=moment) | Q(published_at=moment, pk__lt=post.pk))
        .order_by("-published_at", "-pk")
        .values("pk")[:1]
    )
    newer = (
        siblings.filter(Q(published_at__gt=moment) | Q(published_at=moment, pk__gt=post.pk))
        .order_by("published_at", "pk")
        .values("pk")[:1]
    )
    # One query: each subquery walks the section's index from this post's date.
    found = Post.objects.filter(Q(pk=Subquery(older)) | Q(pk=Subquery(newer)))
    here = (moment, post.pk)
    older_post = newer_post = None
    for neighbour in found.select_related("section"):
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


def last_published_change():
    """When published content last changed (for sitemaps and feeds)."""
    return Post.objects.published().aggregate(latest=Max("updated_at"))["latest"]


def public_series():
    """Series with at least one published part. The others, their titles included, are not
    public yet: their pages and feeds answer 404, as a tag that only drafts carry does."""
    return Series.objects.filter(pk__in=Post.objects.published().values("series_id"))


def related_posts(post: Post, limit: int = 3) -> list[Post]:
    """Up to ``limit`` published posts that share tags with ``post``: most shared tags
    first, then newest. Never the post itself, nor a part of its series (the series box
    lists those).

    One query, whatever the number of posts and tags: the post's tags are read from its
    prefetch (the post page has one), and a post without tags needs no query at all.
    """
    tag_ids = [tag.pk for tag in post.tags.all()]
    if not tag_ids:
        return []
    candidates = Post.objects.published().filter(tags__in=tag_ids).exclude(pk=post.pk)
    if post.series_id is not None:
        candidates = candidates.exclude(series_id=post.series_id)
    # Counted over the join the filter made, so only the shared tags are counted.
    return list(
        candidates.annotate(shared_tags=Count("tags"))
        .select_related("section")
        .order_by("-shared_tags", "-published_at", "-pk")[:limit]
    )
