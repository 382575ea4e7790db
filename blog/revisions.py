"""Revisions: what a post looked like when it was saved, and what changed between two.

``snapshot`` turns a saved post (with its links, tags and series place) into plain
JSON; ``diff`` compares two snapshots field by field for people to read. Writing and
restoring revisions are services (blog.services), like every other write.
"""

import difflib
from dataclasses import dataclass

from . import dates

SNAPSHOT_VERSION = 1
# The post's own fields a revision keeps, in the order a diff shows them. Status and
# publication date are kept for the record, but a restore leaves them as they are.
TEXT_FIELDS = [
    ("title", "Title"),
    ("subtitle", "Subtitle"),
    ("slug", "Slug"),
    ("body", "Body"),
    ("excerpt", "Excerpt"),
    ("meta_description", "Meta description"),
    ("canonical_url", "Canonical URL"),
]


def snapshot(post) -> dict:
    """A self-contained record of ``post`` as stored now (3 queries: tags, links and
    the body's library images)."""
    return {
        "version": SNAPSHOT_VERSION,
        "fields": {name: getattr(post, name) for name, _ in TEXT_FIELDS},
        "status": post.status,
        "published_at": dates.iso(post.published_at) or None,
        "section": _ref(post.section, post.section.name),
        "author": _ref(post.author, post.author.display_name),
        "cover": _ref(post.cover, str(post.cover)) if post.cover_id else None,
        "series": (
            {"id": post.series_id, "title": post.series.title, "position": post.series_position}
            if post.series_id
            else None
        ),
        "tags": [_ref(tag, tag.name) for tag in post.tags.order_by("name")],
        # The library images the body shows, to say which are gone on a restore.
        "images": [_ref(image, str(image)) for image in post.body_images.order_by("pk")],
        "links": [
            {
                "group": link.group,
                "title": link.title,
                "url": link.url,
                "commentary": link.commentary,
                "position": link.position,
            }
            for link in post.links.order_by("position", "pk")
        ],
    }


def _ref(obj, name: str) -> dict:
    return {"id": obj.pk, "name": name}


def content_of(data: dict) -> dict:
    """What the author wrote, comparable across revisions: everything but the record of
    publication (a restore does not change it)."""
    return {key: value for key, value in data.items() if key not in {"status", "published_at"}}


# --- comparing ---------------------------------------------------------------------------


def readable(data: dict) -> list[tuple[str, str]]:
    """(label, text) for every part of a snapshot, as a person would compare them."""
    series = data.get("series")
    parts = [(label, data["fields"].get(name, "")) for name, label in TEXT_FIELDS]
    parts += [
        ("Section", data["section"]["name"]),
        ("Author", data["author"]["name"]),
        ("Status", data.get("status", "")),
        ("Publication date", data.get("published_at") or ""),
        ("Cover image", data["cover"]["name"] if data.get("cover") else ""),
        ("Series", f"{series['title']}, part {series['position']}" if series else ""),
        ("Tags", ", ".join(tag["name"] for tag in data.get("tags", []))),
        ("Links", _links_text(data.get("links", []))),
    ]
    return parts


def _links_text(links: list[dict]) -> str:
    lines = []
    for link in links:
        heading = f"[{link['group']}] " if link["group"] else ""
        lines.append(f"{link['position']}. {heading}{link['title']} <{link['url']}>")
        lines += [f"   {line}" for line in link["commentary"].splitlines()]
    return "\n".join(lines)


@dataclass(frozen=True)
class Line:
    op: str  # "same", "added", "removed"
    text: str


@dataclass(frozen=True)
class FieldDiff:
    label: str
    lines: list[Line]


def diff(old: dict, new: dict, *, context: int = 2) -> list[FieldDiff]:
    """The parts that differ between two snapshots, as line diffs with some context."""
    changes = []
    for (label, before), (_, after) in zip(readable(old), readable(new), strict=True):
        if before == after:
            continue
        changes.append(FieldDiff(label, _line_diff(before, after, context)))
    return changes


def _line_diff(before: str, after: str, context: int) -> list[Line]:
    a, b = before.splitlines() or [""], after.splitlines() or [""]
    lines = []
    for group in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_grouped_opcodes(context):
        if lines:
            lines.append(Line("gap", "…"))
        for op, a1, a2, b1, b2 in group:
            if op == "equal":
                lines += [Line("same", text) for text in a[a1:a2]]
                continue
            lines += [Line("removed", text) for text in a[a1:a2]]
            lines += [Line("added", text) for text in b[b1:b2]]
    return lines
