"""Loading the demo content, and synthetic posts in bulk for benchmarks."""

import itertools
import random
import uuid
from datetime import UTC, datetime, timedelta

from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from .. import search, services
from ..models import (
    AuthorProfile,
    Link,
    Page,
    Post,
    ProfileLink,
    Section,
    Series,
    SiteSettings,
    SiteVersion,
    Tag,
    TaggedPost,
)
from . import content, drawing, longform

SCHEDULED_FOR = datetime(2099, 1, 1, 9, 0, tzinfo=UTC)


@transaction.atomic
def seed_demo() -> int:
    """Create the demo site. Objects that already exist are left alone; returns how many
    objects were created (0 on a second run)."""
    created = 0
    user, new = get_user_model().objects.get_or_create(
        username=content.AUTHOR["username"], defaults={"is_active": False}
    )
    if new:
        user.set_unusable_password()
        user.save()
    author, new = AuthorProfile.objects.get_or_create(
        user=user,
        defaults={"display_name": content.AUTHOR["display_name"], "bio": content.AUTHOR["bio"]},
    )
    created += new
    if new:
        ProfileLink.objects.bulk_create(
            ProfileLink(profile=author, label=label, url=url, position=i)
            for i, (label, url) in enumerate(content.AUTHOR["links"])
        )

    site = SiteSettings.load()
    # Fill the settings only while they are untouched (as created by default): an owner
    # who changed anything keeps it, even with an empty tagline.
    untouched = SiteSettings(pk=1)
    if all(
        getattr(site, field) == getattr(untouched, field)
        for field in ("title", "tagline", "logo", "logo_alt", "owner_id")
    ):
        site.title = content.SITE["title"]
        site.tagline = content.SITE["tagline"]
        site.logo_alt = content.SITE["logo_alt"]
        site.owner = author
        site.logo.save("logo.png", ContentFile(drawing.logo()), save=False)
        site.save()
        created += 1

    sections = {}
    for data in content.SECTIONS:
        sections[data["slug"]], new = Section.objects.get_or_create(
            slug=data["slug"], defaults=data
        )
        created += new

    for data in content.PAGES:
        # Checked like an edit in the admin (after the sections, whose slugs it may not take).
        if not Page.objects.filter(slug=data["slug"]).exists():
            page = Page(**data)
            page.full_clean()
            page.save()
            created += 1

    series, new = Series.objects.get_or_create(
        slug=content.SERIES["slug"],
        defaults={"title": content.SERIES["title"], "description": content.SERIES["description"]},
    )
    created += new

    now = timezone.now()
    for data in content.POSTS:
        body = data["body"]
        if "IMAGE_URL" in body and not Post.objects.filter(slug=data["slug"]).exists():
            diagram = services.add_image(
                SimpleUploadedFile("http-304.png", drawing.sequence_diagram()),
                alt="Sequence diagram: the client sends If-None-Match, the server answers 304",
            )
            body = body.replace("IMAGE_URL", diagram.file.url)
        created += _post(
            author=author,
            section=sections[data["section"]],
            slug=data["slug"],
            title=data["title"],
            subtitle=data["subtitle"],
            body=body,
            published_at=now - timedelta(days=data["days_ago"]),
            tags=data["tags"],
            links=data.get("links", []),
            cover=data.get("cover"),
        )
    for position, data in enumerate(content.READING_LIST, start=1):
        created += _post(
            author=author,
            section=sections["nibbles"],
            slug=data["slug"],
            title=data["title"],
            subtitle=data["subtitle"],
            body=data["intro"] + "\n\n## My recommendations\n\nThe links, grouped by topic:",
            published_at=now - timedelta(days=data["days_ago"]),
            tags=["Reading list", "Databases" if position == 1 else "Systems"],
            links=data["links"],
            series=series,
            series_position=position,
        )
    for data in content.UNPUBLISHED:
        scheduled = data["status"] == "scheduled"
        created += _post(
            author=author,
            section=sections[data["section"]],
            slug=data["slug"],
            title=data["title"],
            subtitle="",
            body=data["body"],
            status=Post.Status.PUBLISHED if scheduled else Post.Status.DRAFT,
            published_at=SCHEDULED_FOR if scheduled else None,
            tags=data["tags"],
            links=data.get("links", []),
            series=series if scheduled else None,
            series_position=data.get("series_position"),
        )
    return created


def _post(
    *,
    author,
    section,
    slug,
    title,
    subtitle,
    body,
    published_at,
    tags,
    links,
    status=Post.Status.PUBLISHED,
    series=None,
    series_position=None,
    cover=None,
) -> int:
    if Post.objects.filter(section=section, slug=slug).exists():
        return 0
    post = Post(
        author=author,
        section=section,
        slug=slug,
        title=title,
        subtitle=subtitle,
        body=body,
        status=status,
        published_at=published_at,
        series=series,
        series_position=series_position,
    )
    if cover:
        post.cover = services.add_image(
            SimpleUploadedFile(f"{slug}.png", drawing.bar_chart()),
            alt=cover["alt"],
            caption=cover["caption"],
        )
    post.full_clean()

    def save_tags_and_links():
        post.tags.set(tags)
        for position, (group, link_title, url, commentary) in enumerate(links, start=1):
            Link.objects.create(
                post=post,
                group=group,
                title=link_title,
                url=url,
                commentary=commentary,
                position=position,
            )

    services.save_post(post, related=save_tags_and_links)
    if published_at:
        # Demo posts were "written" when they were published, not edited since.
        Post.objects.filter(pk=post.pk).update(updated_at=published_at)
    return 1


# --- synthetic posts -------------------------------------------------------------------

_TOPICS = [
    "caching", "indexes", "queues", "parsers", "compilers", "schedulers", "allocators",
    "migrations", "feeds", "sockets", "threads", "profilers", "hashing", "backups",
]  # fmt: skip
_BODIES = [
    "Notes on {topic}: what I measured, what surprised me.\n\n## Setup\n\n"
    "```python\nfor item in range(10):\n    print(item * 2)\n```\n\nMore on {topic} soon.",
    "A short post about {topic}.\n\n| step | time |\n|---|---:|\n| warm | 12 ms |\n"
    "| cold | 48 ms |\n\nThat is the whole story.[^1]\n\n[^1]: Measured on a laptop.",
    "## Why {topic} matter\n\n- first point\n- second point\n- third point\n\n"
    "> Measure before you optimise.",
]
SYNTHETIC_TAGS = [f"{topic}" for topic in _TOPICS] + ["synthetic", "benchmark"]


# The bench's long-form posts: bodies come from a pool this size (each rendered once),
# and a series has this many parts.
LONG_POOL_SIZE = 300
LONG_SERIES_PARTS = 4


@transaction.atomic
def seed_synthetic(
    count: int,
    *,
    long: bool = False,
    batch_size: int = 1000,
    series_every: int = 5,
    progress=None,
) -> int:
    """Add ``count`` published posts with tags, links and series, in bulk.

    Each distinct body is rendered once, and the posts are then written with bulk_create,
    which is what makes 10,000 take seconds. Every post has 2 links.

    - Short (the default): bodies a few lines long from a few templates, 3 tags, and
      every post a part of a series of ``series_every`` parts.
    - Long (``long=True``, what the bench seeds): bodies of about 1,500 words from a pool
      of up to ``LONG_POOL_SIZE`` (blog.demo.longform), 1-3 tags with the body's topic
      first, and one post in ``series_every`` a part of a series of
      ``LONG_SERIES_PARTS``.

    ``progress(items, total=, label=)`` wraps the loop over the batches.
    """
    if count <= 0:
        return 0
    rng = random.Random(count)
    seed_demo()  # sections and author
    author = AuthorProfile.objects.order_by("pk").first()
    sections = list(Section.objects.order_by("nav_position"))
    tags = {}
    for name in SYNTHETIC_TAGS:
        tags[name] = Tag.objects.filter(name__iexact=name).first() or Tag.objects.create(name=name)
    token = uuid.uuid4().hex[:6]
    now = timezone.now()
    if long:
        bodies = [
            (topic, _rendered_post(text))
            for topic, text in longform.pool(min(count, LONG_POOL_SIZE), _TOPICS)
        ]
        series_parts = -(-count // series_every)  # posts 0, 5, 10, …: rounded up
        series_needed = -(-series_parts // LONG_SERIES_PARTS)
    else:
        # Post i gets template i % 3 about topic i % 14 (42 is a multiple of both).
        bodies = []
        for i in range(len(_BODIES) * len(_TOPICS)):
            topic = _TOPICS[i % len(_TOPICS)]
            bodies.append((topic, _rendered_post(_BODIES[i % len(_BODIES)].format(topic=topic))))
        series_needed = count // series_every

    def series_place(i):
        """(series index, part number) of post ``i``, or None outside any series."""
        if long:
            if i % series_every:
                return None
            part = i // series_every
            return part // LONG_SERIES_PARTS, part % LONG_SERIES_PARTS + 1
        if i // series_every >= series_needed:
            return None
        return i // series_every, i % series_every + 1

    def tags_for(topic):
        if not long:
            return rng.sample(list(tags.values()), 3)
        others = [tag for name, tag in tags.items() if name != topic]
        return [tags[topic], *rng.sample(others, rng.randint(0, 2))]

    series_objs = Series.objects.bulk_create(
        [
            _rendered_series(f"Synthetic series {token}-{i}", f"synthetic-{token}-{i}")
            for i in range(series_needed)
        ],
        batch_size=batch_size,
    )
    created = 0
    batches = range(0, count, batch_size)
    if progress is not None:
        batches = progress(batches, label=f"Adding posts ({batch_size} a batch)")
    for start in batches:
        posts, topics = [], []
        for i in range(start, min(start + batch_size, count)):
            topic, probe = bodies[i % len(bodies)]
            place = series_place(i)
            topics.append(topic)
            posts.append(
                Post(
                    title=f"Sample post {i + 1} about {topic}",
                    slug=f"sample-{token}-{i + 1}",
                    subtitle=f"Synthetic content #{i + 1}",
                    section=sections[i % len(sections)],
                    author=author,
                    body=probe.body,
                    body_html=probe.body_html,
                    body_text=probe.body_text,
                    toc_html=probe.toc_html,
                    summary=probe.summary,
                    reading_time=probe.reading_time,
                    status=Post.Status.PUBLISHED,
                    published_at=now - timedelta(minutes=10 * (count - i)),
                    series=series_objs[place[0]] if place else None,
                    series_position=place[1] if place else None,
                )
            )
        posts = Post.objects.bulk_create(posts)
        TaggedPost.objects.bulk_create(
            TaggedPost(content_object=post, tag=tag)
            for post, topic in zip(posts, topics, strict=True)
            for tag in tags_for(topic)
        )
        Link.objects.bulk_create(itertools.chain.from_iterable(_links_for(post) for post in posts))
        created += len(posts)
    # bulk_create stamps updated_at with now; these posts were never edited.
    Post.objects.filter(slug__startswith=f"sample-{token}-").update(updated_at=F("published_at"))
    search.rebuild_index()  # bulk_create sends no signals
    # Nor does it move the content version: without this, cached pages would miss the
    # new posts until the next edit.
    SiteVersion.bump_content()
    return created


def _rendered_post(body: str) -> Post:
    """An unsaved post whose derived fields (HTML, text, summary, …) are filled."""
    probe = Post(body=body)
    probe.render()
    return probe


def _rendered_series(title: str, slug: str) -> Series:
    series = Series(title=title, slug=slug, description=f"A generated series, *{title}*.")
    series.render()
    return series


def _links_for(post):
    for position in (1, 2):
        link = Link(
            post=post,
            group="Further reading",
            title=f"Reference {position} for {post.title}",
            url=f"https://docs.python.org/3/library/index.html#ref-{post.pk}-{position}",
            commentary="Worth a read: *one* paragraph of commentary.",
            position=position,
        )
        link.render()  # the renderer caches identical text, so this is cheap
        yield link
