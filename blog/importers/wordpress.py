"""Reading a WordPress export (WXR: RSS 2.0 with WordPress's own elements).

The file is untrusted XML: it is parsed with defusedxml (no entity expansion, no
external references). Elements are matched by namespace family, not by exact URI,
since the export format's version (1.0, 1.1, 1.2) is part of it.

Statuses: ``publish`` is published; ``future`` is published at its future date, i.e.
scheduled; ``draft``, ``pending`` and ``private`` are drafts here (a private post must
not become public); ``trash``, ``auto-draft`` and ``inherit`` (revisions) are skipped.
"""

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote, urlsplit

from defusedxml import DefusedXmlException
from defusedxml import ElementTree as SafeET
from django.utils import timezone

from .common import Source, source_hash
from .wp_html import plain_text, to_markdown

NAMESPACES = {
    "http://purl.org/rss/1.0/modules/content/": "content",
    "http://purl.org/dc/elements/1.1/": "dc",
}
PUBLIC_STATUSES = {"publish": False, "future": False}  # status → is a draft here
DRAFT_STATUSES = {"draft": "", "pending": "pending review", "private": "private"}
NO_DATE = "0000-00-00 00:00:00"
UPLOADS = "/wp-content/uploads/"
# WordPress's resized copies: photo-300x200.jpg is a size of photo.jpg.
_SIZE_SUFFIX = re.compile(r"-\d+x\d+(?=\.\w+$)")


class BrokenExport(ValueError):
    def __init__(self, message: str, line: int):
        super().__init__(message)
        self.line = line


@dataclass
class Item:
    fields: dict[str, str] = field(default_factory=dict)
    categories: list[tuple[str, str, str]] = field(default_factory=list)  # domain, slug, name
    meta: dict[str, str] = field(default_factory=dict)

    @property
    def type(self) -> str:
        return self.fields.get("wp:post_type", "")

    @property
    def source_id(self) -> str:
        guid = self.fields.get("guid", "").strip()
        return guid if guid and len(guid) <= 500 else f"wp-post:{self.fields.get('wp:post_id')}"

    @property
    def name(self) -> str:
        title = self.fields.get("title", "").strip() or "(no title)"
        return f"{self.type} {self.fields.get('wp:post_id', '?')} “{title}”"


def _key(tag: str) -> str:
    """ "{namespace}local" as "prefix:local" (WordPress's own elements are "wp:…")."""
    if not tag.startswith("{"):
        return tag
    namespace, local = tag[1:].split("}", 1)
    if namespace.startswith("http://wordpress.org/export/"):
        prefix = "excerpt" if namespace.rstrip("/").endswith("excerpt") else "wp"
    else:
        prefix = NAMESPACES.get(namespace, namespace)
    return f"{prefix}:{local}"


def read_export(path: Path) -> list[Item]:
    """The items of an export; raises BrokenExport with the line of the fault."""
    try:
        root = SafeET.parse(str(path)).getroot()
    except SafeET.ParseError as exc:
        line, column = exc.position
        message = str(exc).split(":", 1)[0]
        raise BrokenExport(f"not well-formed XML ({message}, column {column})", line) from None
    except DefusedXmlException as exc:
        raise BrokenExport(f"refused: {exc}", 1) from None
    channel = root.find("channel")
    if root.tag != "rss" or channel is None:
        raise BrokenExport("not a WordPress export (no <rss><channel>)", 1)
    return [_read_item(element) for element in channel.findall("item")]


def _read_item(element) -> Item:
    item = Item()
    for child in element:
        key = _key(child.tag)
        if key == "category":
            item.categories.append(
                (child.get("domain", ""), child.get("nicename", ""), (child.text or "").strip())
            )
        elif key == "wp:postmeta":
            values = {_key(part.tag): part.text or "" for part in child}
            item.meta[values.get("wp:meta_key", "")] = values.get("wp:meta_value", "")
        elif key != "wp:comment":
            item.fields[key] = child.text or ""
    return item


def uploads_path(item: Item) -> str:
    """An attachment's file, relative to wp-content/uploads ("2020/01/photo.jpg")."""
    attached = item.meta.get("_wp_attached_file", "").strip()
    if attached:
        return attached.lstrip("/")
    url_path = unquote(urlsplit(item.fields.get("wp:attachment_url", "")).path)
    return url_path.split(UPLOADS, 1)[1] if UPLOADS in url_path else ""


def image_key(url: str) -> str:
    """The uploads path an image URL shows, any WordPress size of it ("" if none)."""
    path = unquote(urlsplit(url).path)
    if UPLOADS not in path:
        return ""
    return _SIZE_SUFFIX.sub("", path.split(UPLOADS, 1)[1])


def to_source(item: Item, *, images: dict, covers: dict) -> Source:
    """The Source of a post or page item; ``images`` maps uploads paths to library images,
    ``covers`` attachment ids to them. Raises ValueError for an item to skip."""
    status = item.fields.get("wp:status", "")
    if status not in PUBLIC_STATUSES and status not in DRAFT_STATUSES:
        raise ValueError(f"its status is “{status}”")
    draft = status in DRAFT_STATUSES
    notes = (
        [f"{DRAFT_STATUSES[status]} in WordPress: a draft here"]
        if status in ("pending", "private")
        else []
    )

    def new_url(src: str) -> str:
        image = images.get(image_key(src))
        return image.file.url if image is not None else src

    body = to_markdown(item.fields.get("content:encoded", ""), image_url=new_url)
    categories = [(name, slug) for domain, slug, name in item.categories if domain == "category"]
    tags = [name for domain, _, name in item.categories if domain == "post_tag"]
    link = item.fields.get("link", "").strip()
    return Source(
        source_id=item.source_id,
        name=item.name,
        # The converted body, not the raw HTML: a run with --media (images now in the
        # library) or a better converter updates the post.
        hash=source_hash(
            json.dumps([item.fields, item.categories, item.meta], sort_keys=True), body
        ),
        is_page=item.type == "page",
        title=plain_text(item.fields.get("title", "")),
        slug=unquote(item.fields.get("wp:post_name", "")),
        body=body,
        excerpt=plain_text(item.fields.get("excerpt:encoded", "")),
        published_at=_date(item),
        draft=draft,
        tags=tags,
        categories=categories,
        # A draft's address was never public (and is "/?p=12" anyway).
        old_urls=[link] if link and not draft else [],
        cover=covers.get(item.meta.get("_thumbnail_id", "")),
        notes=notes,
    )


def _date(item: Item) -> datetime | None:
    """post_date_gmt; a draft has none ("0000-…"), and then its local post_date counts."""
    gmt = item.fields.get("wp:post_date_gmt", "").strip()
    local = item.fields.get("wp:post_date", "").strip()
    try:
        if gmt and gmt != NO_DATE:
            return datetime.strptime(gmt, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
        if local and local != NO_DATE:
            return timezone.make_aware(datetime.strptime(local, "%Y-%m-%d %H:%M:%S"))
    except ValueError:
        raise ValueError(f"its date “{gmt or local}” is not a date") from None
    return None
