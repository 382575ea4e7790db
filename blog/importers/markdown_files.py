"""Reading the Markdown files of a Jekyll or Hugo site (or a plain folder of them).

Which files are posts:
- a Jekyll site (``_posts/`` or ``_drafts/`` at the top): ``_posts/YYYY-MM-DD-slug.md``
  give the date and slug, ``_drafts/`` are drafts; other files with ``layout: page``
  are pages, and the rest (README.md, say) are not content;
- a Hugo site (``content/`` at the top): files directly in ``content/`` (or bundles
  ``content/about/index.md``) are pages, deeper ones posts; a bundle's ``index.md``
  takes its folder's name as slug; ``_index.md`` (list pages) is skipped;
- any other folder: every Markdown file is a post, unless ``layout``/``type`` is page.

Front matter is YAML between ``---`` lines, or TOML between ``+++`` lines.
"""

import re
import tomllib
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path

import yaml
from dateutil import parser as date_parser
from django.utils import timezone

from .common import Source, source_hash

MARKDOWN_SUFFIXES = {".md", ".markdown", ".mdown", ".mkd"}
# Built sites, themes' dependencies and tools' folders: never content.
IGNORED_DIRS = {"_site", "public", "resources", "node_modules", "vendor", "themes"}
JEKYLL_DATED_NAME = re.compile(r"^(\d{4})-(\d{2})-(\d{2})-(.+)$")
_TOML_LINE = re.compile(r"at line (\d+)")
_TOML_WHERE = re.compile(r"\s*\(at [^)]*\)")
# ![alt](src "title") in Markdown source, for images stored beside the posts.
MARKDOWN_IMAGE = re.compile(r'!\[([^\]\n]*)\]\(\s*<?([^)\s>]+)>?((?:\s+"[^"\n]*")?)\s*\)')


class BrokenFile(ValueError):
    """A file whose front matter cannot be read; ``line`` is where, in the file."""

    def __init__(self, message: str, line: int):
        super().__init__(message)
        self.line = line


@dataclass(frozen=True)
class Found:
    path: Path
    relative: str  # posix path from the folder imported: the stable source id
    role: str  # "post", "draft", "page" or "maybe-page" (only if it says layout: page)


def discover(root: Path) -> list[Found]:
    """The Markdown files under ``root`` that may be posts or pages, in path order."""
    if (root / "_posts").is_dir() or (root / "_drafts").is_dir():
        layout = "jekyll"
    elif (root / "content").is_dir():
        layout = "hugo"
        root_for_roles = root / "content"
    else:
        layout = "plain"
    found = []
    for path in sorted(root.rglob("*")):
        if path.suffix.lower() not in MARKDOWN_SUFFIXES or not path.is_file():
            continue
        parts = path.relative_to(root).parts
        if _ignored(parts[:-1], layout):
            continue
        if layout == "jekyll":
            role = {"_posts": "post", "_drafts": "draft"}.get(parts[0], "maybe-page")
        elif layout == "hugo":
            if parts[0] != "content":
                continue
            inner = path.relative_to(root_for_roles).parts
            at_top = len(inner) == 1 or (len(inner) == 2 and path.name == "index.md")
            role = "page" if at_top else "post"
        else:
            role = "post"
        found.append(Found(path, path.relative_to(root).as_posix(), role))
    return found


def _ignored(folders: tuple[str, ...], layout: str) -> bool:
    for folder in folders:
        if folder.startswith(".") or folder in IGNORED_DIRS:
            return True
        if folder.startswith("_") and not (layout == "jekyll" and folder in ("_posts", "_drafts")):
            return True
    return False


def split_front_matter(text: str) -> tuple[dict, str]:
    """(front matter, body) of a file's text; raises BrokenFile with the file's line."""
    text = text.removeprefix("\ufeff")
    lines = text.splitlines(keepends=True)
    fence = lines[0].strip() if lines else ""
    if fence not in ("---", "+++"):
        return {}, text
    closers = ("---", "...") if fence == "---" else ("+++",)
    end = next((i for i, line in enumerate(lines[1:], 1) if line.strip() in closers), None)
    if end is None:
        raise BrokenFile(f"the front matter opened by “{fence}” is never closed", 1)
    raw, body = "".join(lines[1:end]), "".join(lines[end + 1 :])
    meta = _parse_yaml(raw) if fence == "---" else _parse_toml(raw)
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        raise BrokenFile("the front matter is not a list of “key: value” lines", 2)
    return {str(key).lower(): value for key, value in meta.items()}, body.lstrip("\n")


def _parse_yaml(raw: str):
    try:
        return yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        # Where the problem started (an opening quote, say) is more use than where the
        # parser gave up. Marks count from 0 within the front matter, which starts on
        # line 2.
        mark = getattr(exc, "context_mark", None) or getattr(exc, "problem_mark", None)
        line = mark.line + 2 if mark is not None else 1
        words = [getattr(exc, "context", None), getattr(exc, "problem", None)]
        problem = ": ".join(word for word in words if word) or str(exc).splitlines()[0]
        raise BrokenFile(f"broken YAML front matter ({problem})", line) from None


def _parse_toml(raw: str):
    try:
        return tomllib.loads(raw)
    except tomllib.TOMLDecodeError as exc:
        found = _TOML_LINE.search(str(exc))
        # Lines count from 1 within the front matter, which starts on line 2; "at end of
        # document" is its last line.
        line = int(found.group(1)) + 1 if found else len(raw.splitlines()) + 1
        message = _TOML_WHERE.sub("", str(exc)).strip()
        raise BrokenFile(f"broken TOML front matter ({message})", line) from None


def read_source(found: Found, root: Path) -> Source | None:
    """The Source a file holds; None for a file that is not content (a README).
    Raises BrokenFile for front matter that cannot be read, ValueError for a bad value."""
    data = found.path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise BrokenFile("not UTF-8 text", line) from None
    meta, body = split_front_matter(text)
    layout = str(meta.get("layout") or meta.get("type") or "").lower()
    if found.role == "maybe-page" and layout != "page":
        return None
    is_page = found.role == "page" or layout == "page"
    if found.path.name == "_index.md":
        raise ValueError("a Hugo list page (_index.md), not a post")
    dated = JEKYLL_DATED_NAME.match(found.path.stem)
    slug = meta.get("slug") or _slug_from_name(found.path, dated)
    categories = _names(meta.get("categories", meta.get("category")), found)
    series = meta.get("series")
    if isinstance(series, list):
        series = series[0] if series else ""
    source = Source(
        source_id=found.relative,
        name=found.relative,
        hash=source_hash(data),
        is_page=is_page,
        title=_text(meta.get("title")),
        slug=_text(slug),
        body=body,
        excerpt=_text(meta.get("summary") or meta.get("excerpt") or meta.get("description")),
        meta_description=_text(meta.get("description")),
        published_at=_date(meta.get("publishdate") or meta.get("date"))
        or (_date(date(*map(int, dated.groups()[:3]))) if dated else None),
        draft=found.role == "draft" or _true(meta.get("draft")) or meta.get("published") is False,
        tags=_names(meta.get("tags"), found),
        categories=[(name, "") for name in categories],
        series=_text(series),
        series_position=_position(meta),
        old_urls=[*_list(meta.get("aliases")), *_list(meta.get("redirect_from"))]
        + [_text(meta[key]) for key in ("url", "permalink") if meta.get(key)],
    )
    return source


def _slug_from_name(path: Path, dated) -> str:
    if dated:
        return dated.group(4)
    if path.stem == "index":  # a Hugo page bundle: the folder is the post
        return path.parent.name
    return path.stem


def _text(value) -> str:
    return "" if value is None else str(value).strip()


def _true(value) -> bool:
    return value is True or str(value).strip().lower() in ("true", "yes", "1")


def _list(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        return [_text(item) for item in value if _text(item)]
    return [_text(value)] if _text(value) else []


def _names(value, found: Found) -> list[str]:
    """Tags or categories: a list, or a string that Jekyll splits on spaces (on commas,
    if it has any)."""
    if isinstance(value, str):
        if "," in value:
            return [name.strip() for name in value.split(",") if name.strip()]
        return value.split() if found.role in ("post", "draft") else [value.strip()]
    return _list(value)


def _position(meta: dict) -> int | None:
    for key in ("series_position", "part", "series_weight", "weight"):
        value = meta.get(key)
        if value is None:
            continue
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise ValueError(f"{key} “{value}” is not a whole number") from None
        if number >= 1:
            return number
    return None


def _date(value) -> datetime | None:
    """A front matter date as an aware datetime; a date alone is midnight, and a time
    without a zone is the site's time zone (as Jekyll and Hugo read them)."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime.combine(value, time())
    else:
        try:
            moment = date_parser.parse(str(value))
        except (ValueError, OverflowError):
            raise ValueError(f"the date “{value}” is not a date") from None
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment


def local_images(source: Source, *, found: Found, root: Path, importer) -> None:
    """Images the body shows from files beside it (a page bundle's, or the site's
    static folders) go into the library, and the body points at them there."""

    def replace(match: re.Match) -> str:
        alt, src, title = match.groups()
        path = _image_file(src, found.path.parent, root)
        if path is None:
            return match.group(0)
        relative = path.relative_to(root).as_posix()
        image, note = importer.library_image(
            path, source_id=f"image:{relative}", alt=alt, caption=title.strip().strip('"')
        )
        if note:
            source.notes.append(note)
        if image is None:
            return match.group(0)
        return f"![{alt}]({image.file.url}{title})"

    source.body = MARKDOWN_IMAGE.sub(replace, source.body)


def _image_file(src: str, folder: Path, root: Path) -> Path | None:
    if "://" in src or src.startswith(("//", "data:")):
        return None
    src = src.split("?", 1)[0].split("#", 1)[0]
    bases = [root, root / "static", root / "assets"] if src.startswith("/") else [folder]
    for base in bases:
        path = (base / src.lstrip("/")).resolve()
        if path.is_file() and path.is_relative_to(root.resolve()):
            return path
    return None
