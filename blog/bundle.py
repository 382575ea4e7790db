"""Backup and restore: the whole site as a bundle of plain files, and back.

A bundle (format version 1) is a folder::

    manifest.json               format and Bytepress versions, and what it holds
    site.json                   the site settings
    profiles.json               authors: account name and flags, profile, profile links
    sections.json  series.json  tags.json  links.json  redirects.json  images.json
    posts/<section>/<slug>.md   one post: YAML front matter, then its Markdown body
    pages/<slug>.md             one page, the same way
    media/<stored name>         original files: library images, avatars, the logo

Objects refer to each other by slug, account name, post path or stored file name, never
by database id, and nothing records when the bundle was written: the same content
exported twice, from SQLite or PostgreSQL, gives the same bytes. What can be derived
(rendered HTML, renditions, the search index, image sizes) is left out and rebuilt on
import; so are revisions (history, not content), share-preview keys (secrets) and
passwords.
"""

import hashlib
import json
import math
import shutil
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path, PurePosixPath

import yaml
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import DatabaseError, connection, transaction
from PIL import Image as PILImage

from . import search, services
from .models import (
    AuthorProfile,
    Image,
    Link,
    Page,
    Post,
    ProfileLink,
    Redirect,
    Section,
    Series,
    SiteSettings,
    SiteVersion,
    Tag,
)

FORMAT = "bytepress-bundle"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
MEDIA = "media"

# progress(items, total=None, label=...) -> items, drawing a bar on the way (blog.progress).
Progress = Callable[..., Iterable]


def no_progress(items, *, total=None, label=""):
    return items


def bytepress_version() -> str:
    try:
        return metadata.version("bytepress")
    except metadata.PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown"


# What each count is of, singular and plural, for the commands' summary lines.
_NOUNS = {
    "posts": "post",
    "pages": "page",
    "sections": "section",
    "series": "series",
    "tags": "tag",
    "links": "link",
    "images": "image",
    "redirects": "redirect",
    "profiles": "profile",
    "media files": "media file",
}


def describe(counts: dict[str, int]) -> str:
    """ "11 posts, 1 page, …" """
    words = [f"{n} {name if n != 1 else _NOUNS.get(name, name)}" for name, n in counts.items()]
    return ", ".join(words)


# --- file formats ------------------------------------------------------------------------


class _FrontMatterDumper(yaml.SafeDumper):
    """Text with line breaks in double quotes on one line: a line of the front matter is
    then never "---", which ends it."""


def _represent_text(dumper, value):
    style = '"' if "\n" in value or "\r" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_FrontMatterDumper.add_representer(str, _represent_text)


def _json_text(data) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def _front_matter_text(front: dict, body: str) -> str:
    head = yaml.dump(
        front,
        Dumper=_FrontMatterDumper,
        allow_unicode=True,
        default_flow_style=False,
        sort_keys=True,
        width=math.inf,
    )
    # The body always gets a final newline; import takes exactly one off again.
    return f"---\n{head}---\n{_lf(body)}\n"


def _lf(text: str) -> str:
    """LF line endings (browsers send textareas with CRLF; Markdown reads both alike)."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _moment(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat()


# --- export ------------------------------------------------------------------------------


class ExportError(Exception):
    pass


def export_site(directory, *, progress: Progress = no_progress) -> dict[str, int]:
    """Write the site to ``directory`` (new, or empty) as a bundle; returns the counts.

    The bundle is written beside it first and moved into place when complete, so a
    failed export never leaves a half bundle under the name asked for.
    """
    target = Path(directory)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise ExportError(f"{target} is not an empty directory: export into a new one.")
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        outermost = not connection.in_atomic_block
        with transaction.atomic():
            if connection.vendor == "postgresql" and outermost:
                # One snapshot for every query, so the files agree with each other.
                with connection.cursor() as cursor:
                    cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            counts = _write_bundle(scratch, progress)
        if target.exists():
            target.rmdir()
        scratch.rename(target)
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    return counts


def _write_bundle(root: Path, progress: Progress) -> dict[str, int]:
    def write(name: str, text: str) -> None:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode("utf-8"))

    media: set[str] = set()
    images = _export_images(media)
    profiles = _export_profiles(media)
    site = _export_site_settings(media)
    tables = {
        "sections.json": _export_sections(),
        "series.json": _export_series(),
        "tags.json": _export_tags(),
        "links.json": _export_links(),
        "redirects.json": _export_redirects(),
        "images.json": images,
        "profiles.json": profiles,
    }
    for name, rows in tables.items():
        write(name, _json_text(rows))
    write("site.json", _json_text(site))
    posts = Post.objects.select_related("section", "author__user", "cover", "series")
    posts = posts.prefetch_related("tags").order_by("section__slug", "slug")
    post_count = 0
    for post in progress(posts, total=posts.count(), label="Posts"):
        write(f"posts/{post.section.slug}/{post.slug}.md", _post_text(post))
        post_count += 1
    pages = Page.objects.order_by("slug")
    for page in pages:
        write(f"pages/{page.slug}.md", _page_text(page))
    missing = []
    for name in progress(sorted(media), label="Media files"):
        try:
            with default_storage.open(name, "rb") as handle:
                data = handle.read()
        except OSError as exc:
            missing.append(f"{name} ({exc.__class__.__name__})")
            continue
        path = root / MEDIA / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    if missing:
        raise ExportError(
            "These media files cannot be read from storage, so the bundle would be "
            "incomplete: " + ", ".join(missing)
        )
    counts = {
        "posts": post_count,
        "pages": len(pages),
        "sections": len(tables["sections.json"]),
        "series": len(tables["series.json"]),
        "tags": len(tables["tags.json"]),
        "links": len(tables["links.json"]),
        "images": len(images),
        "redirects": len(tables["redirects.json"]),
        "profiles": len(profiles),
        "media files": len(media),
    }
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "bytepress_version": bytepress_version(),
        "counts": counts,
    }
    write(MANIFEST, _json_text(manifest))
    return counts


def _post_text(post: Post) -> str:
    front = {
        "uuid": str(post.uuid),
        "title": post.title,
        "subtitle": post.subtitle,
        "slug": post.slug,
        "section": post.section.slug,
        "author": post.author.user.get_username(),
        "status": post.status,
        "published_at": _moment(post.published_at),
        "created_at": _moment(post.created_at),
        "updated_at": _moment(post.updated_at),
        "excerpt": _lf(post.excerpt),
        "meta_description": post.meta_description,
        "canonical_url": post.canonical_url,
        "cover": post.cover.file.name if post.cover else None,
        "tags": sorted((tag.name for tag in post.tags.all()), key=lambda n: (n.lower(), n)),
        "series": post.series.slug if post.series else None,
        "series_position": post.series_position,
    }
    return _front_matter_text(front, post.body)


def _page_text(page: Page) -> str:
    front = {
        "title": page.title,
        "slug": page.slug,
        "nav_position": page.nav_position,
        "created_at": _moment(page.created_at),
        "updated_at": _moment(page.updated_at),
    }
    return _front_matter_text(front, page.body)


def _export_images(media: set[str]) -> list[dict]:
    rows = []
    for image in Image.objects.order_by("file"):
        media.add(image.file.name)
        rows.append(
            {
                "file": image.file.name,
                "title": image.title,
                "alt": image.alt,
                "decorative": image.decorative,
                "caption": image.caption,
                "credit": image.credit,
                "created_at": _moment(image.created_at),
            }
        )
    return rows


def _export_profiles(media: set[str]) -> list[dict]:
    rows = []
    profiles = AuthorProfile.objects.select_related("user").prefetch_related("links")
    for profile in sorted(profiles, key=lambda p: p.user.get_username()):
        user = profile.user
        if profile.avatar:
            media.add(profile.avatar.name)
        rows.append(
            {
                "username": user.get_username(),
                # Account flags, so the restored author can log in once given a password.
                "is_active": user.is_active,
                "is_staff": user.is_staff,
                "is_superuser": user.is_superuser,
                "display_name": profile.display_name,
                "bio": _lf(profile.bio),
                "avatar": profile.avatar.name or None,
                "links": [
                    {"label": link.label, "url": link.url, "position": link.position}
                    for link in profile.links.all()  # ordered by position, then creation
                ],
            }
        )
    return rows


def _export_site_settings(media: set[str]) -> dict:
    site = SiteSettings.load()
    if site.logo:
        media.add(site.logo.name)
    return {
        "title": site.title,
        "tagline": site.tagline,
        "logo": site.logo.name or None,
        "logo_alt": site.logo_alt,
        "owner": site.owner.user.get_username() if site.owner else None,
        "social_image": site.social_image.file.name if site.social_image else None,
        "posts_per_page": site.posts_per_page,
        "feed_length": site.feed_length,
    }


def _export_sections() -> list[dict]:
    return [
        {
            "slug": s.slug,
            "name": s.name,
            "description": _lf(s.description),
            "nav_position": s.nav_position,
        }
        for s in Section.objects.order_by("slug")
    ]


def _export_series() -> list[dict]:
    return [
        {
            "slug": s.slug,
            "title": s.title,
            "description": _lf(s.description),
            "created_at": _moment(s.created_at),
            "updated_at": _moment(s.updated_at),
        }
        for s in Series.objects.order_by("slug")
    ]


def _export_tags() -> list[dict]:
    return [{"name": t.name, "slug": t.slug} for t in Tag.objects.order_by("slug")]


def _export_links() -> list[dict]:
    links = Link.objects.select_related("post__section")
    # Within a post, the order readers see (position, then creation): import recreates
    # them in this order, so ties keep it.
    links = links.order_by("post__section__slug", "post__slug", "position", "pk")
    return [
        {
            "post": f"{link.post.section.slug}/{link.post.slug}",
            "group": link.group,
            "title": link.title,
            "url": link.url,
            "commentary": _lf(link.commentary),
            "position": link.position,
        }
        for link in links
    ]


def _export_redirects() -> list[dict]:
    return [
        {"old_path": r.old_path, "new_path": r.new_path, "created_at": _moment(r.created_at)}
        for r in Redirect.objects.order_by("old_path")
    ]


# --- reading a bundle --------------------------------------------------------------------


class BundleError(Exception):
    """A bundle that cannot be imported; ``problems`` name the file (and line) of each."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


class _Problem(ValueError):
    pass


REQUIRED = object()


def _text(value):
    if not isinstance(value, str):
        raise _Problem(f"expected text, found {_kind(value)}")
    return value


def _integer(value):
    if isinstance(value, bool) or not isinstance(value, int):
        raise _Problem(f"expected a whole number, found {_kind(value)}")
    return value


def _boolean(value):
    if not isinstance(value, bool):
        raise _Problem(f"expected true or false, found {_kind(value)}")
    return value


def _time(value):
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise _Problem(f"expected a date and time (ISO 8601), found {value!r}") from None
    if not isinstance(value, datetime):
        raise _Problem(f"expected a date and time (ISO 8601), found {_kind(value)}")
    if value.tzinfo is None:
        raise _Problem(f"{value.isoformat()} has no time zone; add one, such as +00:00")
    return value


def _names(value):
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise _Problem(f"expected a list of names, found {_kind(value)}")
    return value


def _list(value):
    if not isinstance(value, list):
        raise _Problem(f"expected a list, found {_kind(value)}")
    return value


def _optional(convert):
    return lambda value: None if value is None else convert(value)


def _kind(value) -> str:
    return {
        type(None): "nothing (null)",
        bool: "true/false",
        int: "a number",
        float: "a number",
        str: "text",
        list: "a list",
        dict: "a mapping",
    }.get(type(value), type(value).__name__)


POST_KEYS = {
    "uuid": (_optional(_text), None),
    "title": (_text, REQUIRED),
    "subtitle": (_text, ""),
    "slug": (_text, REQUIRED),
    "section": (_text, REQUIRED),
    "author": (_text, REQUIRED),
    "status": (_text, REQUIRED),
    "published_at": (_optional(_time), None),
    "created_at": (_optional(_time), None),
    "updated_at": (_optional(_time), None),
    "excerpt": (_text, ""),
    "meta_description": (_text, ""),
    "canonical_url": (_text, ""),
    "cover": (_optional(_text), None),
    "tags": (_names, []),
    "series": (_optional(_text), None),
    "series_position": (_optional(_integer), None),
}
PAGE_KEYS = {
    "title": (_text, REQUIRED),
    "slug": (_text, REQUIRED),
    "nav_position": (_optional(_integer), None),
    "created_at": (_optional(_time), None),
    "updated_at": (_optional(_time), None),
}
SECTION_KEYS = {
    "slug": (_text, REQUIRED),
    "name": (_text, REQUIRED),
    "description": (_text, ""),
    "nav_position": (_integer, 0),
}
SERIES_KEYS = {
    "slug": (_text, REQUIRED),
    "title": (_text, REQUIRED),
    "description": (_text, ""),
    "created_at": (_optional(_time), None),
    "updated_at": (_optional(_time), None),
}
TAG_KEYS = {"name": (_text, REQUIRED), "slug": (_text, REQUIRED)}
LINK_KEYS = {
    "post": (_text, REQUIRED),
    "group": (_text, ""),
    "title": (_text, REQUIRED),
    "url": (_text, REQUIRED),
    "commentary": (_text, ""),
    "position": (_integer, 0),
}
REDIRECT_KEYS = {
    "old_path": (_text, REQUIRED),
    "new_path": (_text, REQUIRED),
    "created_at": (_optional(_time), None),
}
IMAGE_KEYS = {
    "file": (_text, REQUIRED),
    "title": (_text, ""),
    "alt": (_text, ""),
    "decorative": (_boolean, False),
    "caption": (_text, ""),
    "credit": (_text, ""),
    "created_at": (_optional(_time), None),
}
PROFILE_LINK_KEYS = {
    "label": (_text, REQUIRED),
    "url": (_text, REQUIRED),
    "position": (_integer, 0),
}
PROFILE_KEYS = {
    "username": (_text, REQUIRED),
    "is_active": (_boolean, True),
    "is_staff": (_boolean, False),
    "is_superuser": (_boolean, False),
    "display_name": (_text, REQUIRED),
    "bio": (_text, ""),
    "avatar": (_optional(_text), None),
    "links": (_list, []),
}
SITE_KEYS = {
    "title": (_text, "Bytepress"),
    "tagline": (_text, ""),
    "logo": (_optional(_text), None),
    "logo_alt": (_text, ""),
    "owner": (_optional(_text), None),
    "social_image": (_optional(_text), None),
    "posts_per_page": (_integer, 10),
    "feed_length": (_integer, 20),
}


def _record(data, keys: dict, where: str, lines: dict | None = None) -> dict:
    """``data`` checked against ``keys`` ({key: (convert, default)}), defaults filled in.

    Raises _Problem naming the key (and its line, when known)."""
    if not isinstance(data, dict):
        raise _Problem(f"{where}: expected a mapping of fields, found {_kind(data)}")
    lines = lines or {}

    def at(key):
        return f"{where}:{lines[key]}" if key in lines else where

    unknown = sorted(set(data) - set(keys), key=str)
    if unknown:
        key = unknown[0]
        raise _Problem(f"{at(key)}: unknown field {key!r} (known: {', '.join(sorted(keys))})")
    record = {}
    for key, (convert, default) in keys.items():
        if key not in data:
            if default is REQUIRED:
                raise _Problem(f"{where}: the field {key!r} is missing")
            record[key] = default.copy() if isinstance(default, list) else default
            continue
        try:
            record[key] = convert(data[key])
        except _Problem as exc:
            raise _Problem(f"{at(key)}: {key}: {exc}") from None
    return record


@dataclass
class Bundle:
    """A bundle read and checked, not yet written anywhere."""

    root: Path
    manifest: dict
    site: dict
    profiles: list[dict]
    sections: list[dict]
    series: list[dict]
    tags: list[dict]
    links: list[dict]
    redirects: list[dict]
    images: list[dict]
    posts: list[tuple[str, dict, str]] = field(default_factory=list)  # (file, front, body)
    pages: list[tuple[str, dict, str]] = field(default_factory=list)

    def media_names(self) -> list[str]:
        names = {image["file"] for image in self.images}
        names |= {p["avatar"] for p in self.profiles if p["avatar"]}
        if self.site["logo"]:
            names.add(self.site["logo"])
        return sorted(names)


def read_bundle(directory) -> Bundle:
    """Read and check a whole bundle; raises BundleError listing every problem found.

    Nothing is written: a bundle that passes can still be refused by the database (a
    value its columns cannot hold), which import_site reports the same way.
    """
    root = Path(directory)
    if not root.is_dir():
        raise BundleError([f"{root}: no such directory"])
    manifest = _read_manifest(root)
    problems: list[str] = []

    def table(name, keys, default):
        data = _read_json(root, name, problems, default)
        if name == "site.json":
            return _checked(lambda: _record(data, keys, name), problems, default={})
        return _rows(data, keys, name, problems)

    bundle = Bundle(
        root=root,
        manifest=manifest,
        site=table("site.json", SITE_KEYS, {}),
        profiles=table("profiles.json", PROFILE_KEYS, []),
        sections=table("sections.json", SECTION_KEYS, []),
        series=table("series.json", SERIES_KEYS, []),
        tags=table("tags.json", TAG_KEYS, []),
        links=table("links.json", LINK_KEYS, []),
        redirects=table("redirects.json", REDIRECT_KEYS, []),
        images=table("images.json", IMAGE_KEYS, []),
    )
    for profile in bundle.profiles:
        where = f"profiles.json: {profile['username']}: links"
        profile["links"] = _rows(profile["links"], PROFILE_LINK_KEYS, where, problems)
    bundle.posts = _read_documents(root, "posts", POST_KEYS, problems, depth=2)
    bundle.pages = _read_documents(root, "pages", PAGE_KEYS, problems, depth=1)
    if not bundle.site:
        bundle.site = {key: default for key, (_, default) in SITE_KEYS.items()}
    problems += _check_references(bundle)
    problems += _check_media(bundle)
    if problems:
        raise BundleError(problems)
    return bundle


def _rows(data, keys: dict, where: str, problems: list[str]) -> list[dict]:
    """The records of a JSON list, checked; each bad one is a problem, named by place."""
    if not isinstance(data, list):
        problems.append(f"{where}: expected a list, found {_kind(data)}")
        return []
    rows = []
    for i, row in enumerate(data, start=1):
        try:
            rows.append(_record(row, keys, f"{where}: item {i}"))
        except _Problem as exc:
            problems.append(str(exc))
    return rows


def _checked(read, problems: list[str], default=None):
    try:
        return read()
    except _Problem as exc:
        problems.append(str(exc))
        return default


def _read_manifest(root: Path) -> dict:
    problems: list[str] = []
    manifest = _read_json(root, MANIFEST, problems, None)
    if problems:
        raise BundleError(problems)
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BundleError([f'{MANIFEST}: not a Bytepress bundle (no "format": "{FORMAT}")'])
    version = manifest.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise BundleError([f"{MANIFEST}: format_version must be a whole number, not {version!r}"])
    if version > FORMAT_VERSION:
        raise BundleError(
            [
                f"{MANIFEST}: this bundle is format version {version} (written by Bytepress "
                f"{manifest.get('bytepress_version', 'unknown')}); this Bytepress "
                f"({bytepress_version()}) reads format version {FORMAT_VERSION} and older. "
                "Upgrade Bytepress to import it."
            ]
        )
    return manifest


def _read_text(path: Path, name: str) -> str:
    data = path.read_bytes()
    try:
        return _lf(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise _Problem(f"{name}:{line}: not UTF-8 text (byte {exc.start})") from None


def _read_json(root: Path, name: str, problems: list[str], default):
    path = root / name
    if not path.is_file():
        problems.append(f"{name}: missing from the bundle")
        return default
    try:
        return json.loads(_read_text(path, name))
    except _Problem as exc:
        problems.append(str(exc))
    except json.JSONDecodeError as exc:
        problems.append(f"{name}:{exc.lineno}: invalid JSON: {exc.msg} (column {exc.colno})")
    return default


def _read_documents(root: Path, folder: str, keys: dict, problems: list[str], *, depth: int):
    """The Markdown files under ``folder``, each as (name, front matter, body)."""
    documents = []
    base = root / folder
    if not base.is_dir():
        return documents
    for path in sorted(base.rglob("*")):
        name = path.relative_to(root).as_posix()
        parts = path.relative_to(base).parts
        if any(part.startswith(".") for part in parts) or path.is_dir():
            continue  # editors' and file managers' leftovers
        if len(parts) != depth or path.suffix != ".md":
            layout = "posts/<section>/<slug>.md" if depth == 2 else "pages/<slug>.md"
            problems.append(f"{name}: not where a bundle keeps files (expected {layout})")
            continue
        try:
            (data, lines), body = _split_front_matter(_read_text(path, name), name)
            front = _record(data, keys, name, lines)
        except _Problem as exc:
            problems.append(str(exc))
            continue
        expected = {"section": parts[0], "slug": path.stem} if depth == 2 else {"slug": path.stem}
        wrong = [key for key, value in expected.items() if front[key] != value]
        if wrong:
            key = wrong[0]
            problems.append(
                f"{name}:{lines.get(key, 1)}: {key} is {front[key]!r}, but the file's place "
                f"says {expected[key]!r}: move the file or change the field"
            )
            continue
        documents.append((name, front, body))
    return documents


def _split_front_matter(text: str, name: str) -> tuple[tuple[dict, dict], str]:
    """((front matter, {key: line}), body) of a Markdown file with YAML front matter."""
    if not text.startswith("---\n"):
        raise _Problem(f"{name}:1: no front matter (the file must start with a line '---')")
    end = text.find("\n---\n", 3)
    if end == -1:
        raise _Problem(f"{name}: the front matter has no closing line '---'")
    head = text[4 : end + 1]
    body = text[end + 5 :]
    body = body[:-1] if body.endswith("\n") else body
    try:
        node = yaml.compose(head, Loader=yaml.SafeLoader)
        data = yaml.safe_load(head)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 2}" if mark is not None else ""  # +1 for "---", +1 from 0
        reason = getattr(exc, "problem", None) or str(exc)
        raise _Problem(f"{name}{line}: invalid YAML front matter: {reason}") from None
    lines = {}
    if isinstance(node, yaml.MappingNode):
        lines = {key.value: key.start_mark.line + 2 for key, _ in node.value}
    return (data, lines), body


def _check_references(bundle: Bundle) -> list[str]:
    """Every slug, name and file that one part of the bundle names, another defines."""
    problems = []
    sections = {s["slug"] for s in bundle.sections}
    series = {s["slug"] for s in bundle.series}
    tags = {t["name"] for t in bundle.tags}
    authors = {p["username"] for p in bundle.profiles}
    images = {i["file"] for i in bundle.images}
    posts = {f"{front['section']}/{front['slug']}" for _, front, _ in bundle.posts}
    places = {}
    for name, front, _ in bundle.posts:
        for key, known, where in (
            ("section", sections, "sections.json"),
            ("author", authors, "profiles.json"),
            ("cover", images, "images.json"),
            ("series", series, "series.json"),
        ):
            if front[key] is not None and front[key] not in known:
                problems.append(f"{name}: {key} {front[key]!r} is not in {where}")
        for tag in front["tags"]:
            if tag not in tags:
                problems.append(f"{name}: the tag {tag!r} is not in tags.json")
        if (front["series"] is None) != (front["series_position"] is None):
            problems.append(f"{name}: series and series_position go together")
        elif front["series"] is not None:
            place = (front["series"], front["series_position"])
            if place in places:
                problems.append(f"{name}: part {place[1]} of {place[0]!r} is {places[place]}'s")
            places[place] = name
        if front["status"] == Post.Status.PUBLISHED and front["published_at"] is None:
            problems.append(f"{name}: a published post needs published_at")
    for i, link in enumerate(bundle.links, start=1):
        if link["post"] not in posts:
            problems.append(f"links.json: item {i}: no post file posts/{link['post']}.md")
    site = bundle.site
    if site.get("owner") and site["owner"] not in authors:
        problems.append(f"site.json: owner {site['owner']!r} is not in profiles.json")
    if site.get("social_image") and site["social_image"] not in images:
        problems.append(f"site.json: social_image {site['social_image']!r} is not in images.json")
    for key, values in (
        ("slug", [s["slug"] for s in bundle.sections]),
        ("slug", [s["slug"] for s in bundle.series]),
        ("slug", [t["slug"] for t in bundle.tags]),
        ("name", [t["name"].lower() for t in bundle.tags]),
        ("username", [p["username"] for p in bundle.profiles]),
        ("file", [i["file"] for i in bundle.images]),
        ("old_path", [r["old_path"] for r in bundle.redirects]),
        ("uuid", [front["uuid"] for _, front, _ in bundle.posts if front["uuid"]]),
    ):
        duplicates = sorted({value for value in values if values.count(value) > 1})
        if duplicates:
            problems.append(f"the {key} {duplicates[0]!r} is given twice")
    return problems


def _check_media(bundle: Bundle) -> list[str]:
    problems = []
    for name in bundle.media_names():
        stored = PurePosixPath(name)
        if stored.is_absolute() or ".." in stored.parts or "\\" in name or not name.strip():
            problems.append(f"{MEDIA}/{name}: not a relative path inside the media folder")
            continue
        path = bundle.root / MEDIA / name
        if not path.is_file():
            problems.append(f"{MEDIA}/{name}: missing from the bundle")
            continue
        try:
            with PILImage.open(path) as picture:
                picture.verify()
        except Exception as exc:  # Pillow raises many kinds for a broken file
            problems.append(f"{MEDIA}/{name}: not a readable image ({exc})")
    return problems


# --- import ------------------------------------------------------------------------------


@dataclass
class ImportResult:
    counts: dict[str, int]
    renditions: int


def import_site(directory, *, progress: Progress = no_progress) -> ImportResult:
    """Restore a bundle into a database without content, in one transaction.

    The bundle is read and checked whole first (BundleError lists every problem);
    then everything is written through blog.services, with the stored timestamps put
    back afterwards. A failure leaves the database as it was and removes the files
    written to media storage.
    """
    bundle = read_bundle(directory)
    written: list[str] = []
    try:
        with transaction.atomic():
            _refuse_unless_empty()
            return _restore(bundle, progress, written)
    except BaseException as exc:
        for name in written:
            default_storage.delete(name)
        if isinstance(exc, DatabaseError):
            raise BundleError([f"The database refused the restore: {exc}"]) from exc
        raise


class NotEmptyError(Exception):
    pass


def _refuse_unless_empty() -> None:
    found = [
        f"{model.objects.count()} {model._meta.verbose_name_plural}"
        for model in (Post, Page, Section, Series, Tag, Image, Redirect, AuthorProfile)
        if model.objects.exists()
    ]
    if found:
        raise NotEmptyError(
            "The database already has content (" + ", ".join(found) + "); import_site "
            "restores into an empty one only. Point DATABASE_URL at a new database and run "
            "`manage.py migrate` first."
        )


def _restore(bundle: Bundle, progress: Progress, written: list[str]) -> ImportResult:
    names = _store_media(bundle, progress, written)
    relocate = _relocator(names)
    profiles = _restore_profiles(bundle, names)
    images, renditions = _restore_images(bundle, names, progress, written)
    sections = {}
    for row in bundle.sections:
        section = Section(**row)
        _validate(section, "sections.json", row["slug"])
        services.save_section(section)
        sections[section.slug] = section
    series = {}
    for row in bundle.series:
        item = Series(**_without(row, "created_at", "updated_at"))
        item.description = relocate(item.description)
        _validate(item, "series.json", row["slug"])
        services.save_series(item)
        series[item.slug] = item
    tags = {}
    for row in bundle.tags:
        tag = Tag(**row)
        _validate(tag, "tags.json", row["slug"])
        services.save_tag(tag)
        tags[tag.name] = tag
    _restore_site_settings(bundle.site, profiles, images, names)
    for name, front, body in bundle.pages:
        page = Page(**_without(front, "created_at", "updated_at"), body=relocate(body))
        _validate(page, name)
        services.save_page(page)
        _put_back_times(Page, page.pk, front)
    links = {}
    for row in bundle.links:
        links.setdefault(row["post"], []).append(row)
    context = {"sections": sections, "series": series, "tags": tags, "profiles": profiles}
    context |= {"images": images, "links": links, "relocate": relocate}
    restored = []
    for name, front, body in progress(bundle.posts, label="Posts"):
        restored.append((_restore_post(name, front, body, context), front))
    for row in bundle.redirects:
        redirect = Redirect(old_path=row["old_path"], new_path=row["new_path"])
        _validate(redirect, "redirects.json", row["old_path"])
        services.save_redirect(redirect)
        _put_back_times(Redirect, redirect.pk, row)
    # Last, since saving what hangs off an object can stamp it again.
    for post, front in restored:
        _put_back_times(Post, post.pk, front)
    for row in bundle.series:
        _put_back_times(Series, series[row["slug"]].pk, row)
    for row in bundle.images:
        if not row["alt"]:  # Post.save fills an empty one from alt text typed in a body
            Image.objects.filter(pk=images[row["file"]].pk).update(alt="")
    search.rebuild_index()
    SiteVersion.bump_content(chrome=True)  # the time updates sent no signal
    counts = {
        "posts": len(bundle.posts),
        "pages": len(bundle.pages),
        "sections": len(bundle.sections),
        "series": len(bundle.series),
        "tags": len(bundle.tags),
        "links": len(bundle.links),
        "images": len(bundle.images),
        "redirects": len(bundle.redirects),
        "profiles": len(bundle.profiles),
        "media files": len(names),
    }
    return ImportResult(counts, renditions)


def _without(row: dict, *keys: str) -> dict:
    return {key: value for key, value in row.items() if key not in keys}


def _validate(obj, name: str, item: str | None = None, exclude=()) -> None:
    """The field checks of the admin form (lengths, slugs, choices, URLs), reported
    with the bundle file that holds the value."""
    try:
        obj.clean_fields(exclude=list(exclude))
    except ValidationError as exc:
        where = f"{name}: {item}" if item else name
        details = "; ".join(
            f"{key}: {' '.join(messages)}" for key, messages in sorted(exc.message_dict.items())
        )
        raise BundleError([f"{where}: {details}"]) from None


def _put_back_times(model, pk: int, row: dict) -> None:
    times = {
        key: row[key]
        for key in ("created_at", "updated_at")
        if row.get(key) is not None and hasattr(model, key)
    }
    if times:
        model.objects.filter(pk=pk).update(**times)


def _store_media(bundle: Bundle, progress: Progress, written: list[str]) -> dict[str, str]:
    """Copy the bundle's media files into storage: {name in the bundle: stored name}.

    A file already stored under the same name with the same bytes is used as it is;
    one with other bytes makes the storage pick a new name for ours.
    """
    names = {}
    for name in progress(bundle.media_names(), label="Media files"):
        data = (bundle.root / MEDIA / name).read_bytes()
        if default_storage.exists(name) and _same_bytes(name, data):
            names[name] = name
            continue
        stored = default_storage.save(name, ContentFile(data))
        written.append(stored)
        names[name] = stored
    return names


def _same_bytes(name: str, data: bytes) -> bool:
    with default_storage.open(name, "rb") as handle:
        return hashlib.sha256(handle.read()).digest() == hashlib.sha256(data).digest()


def _relocator(names: dict[str, str]) -> Callable[[str], str]:
    """Markdown refers to media by URL: point it at files stored under another name."""
    moved = {
        default_storage.url(old): default_storage.url(new)
        for old, new in names.items()
        if old != new
    }

    def relocate(text: str) -> str:
        for old, new in moved.items():
            text = text.replace(old, new)
        return text

    return relocate


def _restore_profiles(bundle: Bundle, names: dict[str, str]) -> dict[str, AuthorProfile]:
    users = get_user_model().objects
    profiles = {}
    for row in bundle.profiles:
        where = f"profiles.json: {row['username']}"
        user = users.filter(**{get_user_model().USERNAME_FIELD: row["username"]}).first()
        if user is None:
            # No password travels in a bundle: `manage.py changepassword` gives one.
            user = get_user_model()(
                **{get_user_model().USERNAME_FIELD: row["username"]},
                is_active=row["is_active"],
                is_staff=row["is_staff"],
                is_superuser=row["is_superuser"],
            )
            user.set_unusable_password()
            _validate(user, "profiles.json", row["username"], exclude=["password"])
            user.save()
        profile = AuthorProfile(
            user=user,
            display_name=row["display_name"],
            bio=row["bio"],
            avatar=names[row["avatar"]] if row["avatar"] else "",
        )
        _validate(profile, where, exclude=["user"])
        profile.save()
        for link in row["links"]:
            profile_link = ProfileLink(profile=profile, **link)
            _validate(profile_link, where, link["label"], exclude=["profile"])
            profile_link.save()
        profiles[row["username"]] = profile
    return profiles


def _restore_images(bundle, names, progress, written) -> tuple[dict[str, Image], int]:
    images = {}
    renditions = 0
    for row in progress(bundle.images, label="Images and renditions"):
        image = Image(**_without(row, "file", "created_at"), file=names[row["file"]])
        _validate(image, "images.json", row["file"])
        services.save_image(image)  # makes its renditions
        made = list(image.renditions.values_list("file", flat=True))
        written += made
        renditions += len(made)
        images[row["file"]] = image
        _put_back_times(Image, image.pk, row)
    return images, renditions


def _restore_site_settings(row: dict, profiles, images, names) -> None:
    site = SiteSettings.load()
    for key in ("title", "tagline", "logo_alt", "posts_per_page", "feed_length"):
        setattr(site, key, row[key])
    site.logo = names[row["logo"]] if row["logo"] else ""
    site.owner = profiles[row["owner"]] if row["owner"] else None
    site.social_image = images[row["social_image"]] if row["social_image"] else None
    _validate(site, "site.json", exclude=["owner", "social_image"])
    try:
        site.clean()
    except ValidationError as exc:
        raise BundleError([f"site.json: {'; '.join(exc.messages)}"]) from None
    site.save()


def _restore_post(name: str, front: dict, body: str, context: dict) -> Post:
    relocate = context["relocate"]
    post = Post(
        title=front["title"],
        subtitle=front["subtitle"],
        slug=front["slug"],
        section=context["sections"][front["section"]],
        author=context["profiles"][front["author"]],
        body=relocate(body),
        excerpt=front["excerpt"],
        meta_description=front["meta_description"],
        canonical_url=front["canonical_url"],
        cover=context["images"][front["cover"]] if front["cover"] else None,
        series=context["series"][front["series"]] if front["series"] else None,
        series_position=front["series_position"],
        status=front["status"],
        published_at=front["published_at"],
    )
    if front["uuid"] is not None:
        post.uuid = front["uuid"]
    _validate(post, name, exclude=["section", "author", "cover", "series"])
    key = f"{front['section']}/{front['slug']}"
    tags = [context["tags"][tag_name] for tag_name in front["tags"]]

    def save_tags_and_links():
        post.tags.set(tags)
        for row in context["links"].get(key, []):
            link = Link(post=post, **_without(row, "post"))
            link.commentary = relocate(link.commentary)
            _validate(link, "links.json", f"{key} “{row['title']}”", exclude=["post"])
            link.save()

    services.save_post(post, related=save_tags_and_links)
    return post
