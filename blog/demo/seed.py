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
    Tag,
    TaggedPost,
)
from . import content, drawing

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


@transaction.atomic
def seed_synthetic(count: int, *, batch_size: int = 1000, series_every: int = 5) -> int:
    """Add ``count`` published posts with tags, links and series, in bulk.

    Bodies come from a few templates so each distinct body is rendered once; the posts
    are then written with bulk_create, which is what makes 10,000 take seconds.
    """
    if count <= 0:
        return 0
    rng = random.Random(count)
    seed_demo()  # sections and author
    author = AuthorProfile.objects.order_by("pk").first()
    sections = list(Section.objects.order_by("nav_position"))
    tags = []
    for name in SYNTHETIC_TAGS:
        tag = Tag.objects.filter(name__iexact=name).first() or Tag.objects.create(name=name)
        tags.append(tag)
    token = uuid.uuid4().hex[:6]
    now = timezone.now()
    templates = {}
    for index, body_template in enumerate(_BODIES):
        for topic in _TOPICS:
            probe = Post(body=body_template.format(topic=topic))
            probe.render()
            templates[(index, topic)] = probe

    series_needed = count // series_every
    series_objs = Series.objects.bulk_create(
        [
            _rendered_series(f"Synthetic series {token}-{i}", f"synthetic-{token}-{i}")
            for i in range(series_needed)
        ],
        batch_size=batch_size,
    )
    created = 0
    for start in range(0, count, batch_size):
        posts = []
        for i in range(start, min(start + batch_size, count)):
            topic = _TOPICS[i % len(_TOPICS)]
            probe = templates[(i % len(_BODIES), topic)]
            series_index = i // series_every
            in_series = series_index < series_needed
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
                    series=series_objs[series_index] if in_series else None,
                    series_position=(i % series_every) + 1 if in_series else None,
                )
            )
        posts = Post.objects.bulk_create(posts)
        TaggedPost.objects.bulk_create(
            TaggedPost(content_object=post, tag=tag)
            for post in posts
            for tag in rng.sample(tags, 3)
        )
        Link.objects.bulk_create(itertools.chain.from_iterable(_links_for(post) for post in posts))
        created += len(posts)
    # bulk_create stamps updated_at with now; these posts were never edited.
    Post.objects.filter(slug__startswith=f"sample-{token}-").update(updated_at=F("published_at"))
    search.rebuild_index()  # bulk_create sends no signals
    return created


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
