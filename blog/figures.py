"""Library images in post bodies: <picture> with srcset, size, alt text and caption.

A Markdown image whose URL is a library image's (what the editor inserts on upload)
is rewritten, at save time, into a figure with the library's renditions, its width and
height (no layout shift), its alt text (the library's, else the one typed in Markdown)
and its caption (the library's, else the Markdown title). Other images are left alone.
Feeds turn the picture back into one plain <img> (see ``plain_images``).
"""

import re
from dataclasses import dataclass, field
from html import unescape

from django.core.files.storage import default_storage
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from .markdown import ALT_PLACEHOLDER, HTML_ATTRIBUTE
from .models import Image
from .renditions import original_format

# Written by blog.markdown's figure step after sanitising: an <img> with double-quoted
# attributes, alone in a <figure>, possibly followed by a <figcaption>.
_FIGURE = re.compile(
    r'<figure><img((?:\s+[\w:-]+="[^"]*")*)\s*/?>(?:<figcaption>(.*?)</figcaption>)?\s*</figure>',
    re.S,
)
# In a column of about 45rem, images never need more than ~720 CSS pixels.
SIZES = "(min-width: 48rem) 45rem, calc(100vw - 2.5rem)"
FEED_WIDTH = 960
_PICTURE = re.compile(r"<picture>(.*?)</picture>", re.S)
_FALLBACK_IMG = re.compile(r"<img\b[^>]*>", re.S)


def _storage_base() -> str:
    """The URL prefix of stored files, whatever the storage (local /media/, a bucket, a CDN).

    Asked of the storage itself rather than read from MEDIA_URL, so that S3-compatible
    storages work unchanged; a signed URL's query string is cut off.
    """
    probe = "bytepress-probe"
    url = default_storage.url(probe)
    return url[: url.index(probe)]


def _storage_name(src: str) -> str | None:
    src = unescape(src)
    base = _storage_base()
    if not src.startswith(base):
        return None
    return src[len(base) :].split("?", 1)[0]


def library_images(html: str) -> dict[str, Image]:
    """The library images an HTML body refers to, by file name, with renditions (2 queries)."""
    names = {
        name
        for match in _FIGURE.finditer(html)
        if (name := _storage_name(dict(HTML_ATTRIBUTE.findall(match.group(1))).get("src", "")))
    }
    if not names:
        return {}
    images = Image.objects.filter(file__in=names).prefetch_related("renditions")
    return {image.file.name: image for image in images}


def picture(
    image: Image, *, alt: str, caption: str = "", lazy: bool = True, css_class: str = ""
) -> str:
    """A <figure> with a <picture> of the image's renditions."""
    renditions = [r for r in image.renditions.all() if r.kind == "width"]
    by_format: dict[str, list] = {}
    for rendition in sorted(renditions, key=lambda r: r.width):
        by_format.setdefault(rendition.format, []).append(rendition)
    own_format = original_format(image)
    fallback = by_format.get(own_format, [])
    sources = format_html_join(
        "",
        '<source type="image/{}" srcset="{}" sizes="{}">',
        (
            (fmt, ", ".join(f"{r.file.url} {r.width}w" for r in items), SIZES)
            for fmt, items in by_format.items()
            if fmt != own_format
        ),
    )
    img_src = _pick(fallback, FEED_WIDTH).file.url if fallback else image.file.url
    srcset = ", ".join(f"{r.file.url} {r.width}w" for r in fallback)
    img = format_html(
        '<img src="{}"{} alt="{}"{}{} decoding="async">',
        img_src,
        format_html(' srcset="{}" sizes="{}"', srcset, SIZES) if srcset else "",
        "" if image.decorative else alt,
        # Unknown only for an old row whose file is unreadable (see LibraryImageField).
        format_html(' width="{}" height="{}"', image.width, image.height)
        if image.width and image.height
        else "",
        mark_safe(' loading="lazy"') if lazy else "",
    )
    credit = format_html(' <small class="credit">{}</small>', image.credit) if image.credit else ""
    figcaption = (
        format_html("<figcaption>{}{}</figcaption>", caption, credit) if caption or credit else ""
    )
    class_attr = format_html(' class="{}"', css_class) if css_class else ""
    return format_html(
        "<figure{}><picture>{}{}</picture>{}</figure>", class_attr, sources, img, figcaption
    )


def cover_markup(image: Image | None) -> tuple[str, str]:
    """A post's cover figure, and the storage name of its social card (1200x630)."""
    if image is None:
        return "", ""
    html = picture(image, alt=image.alt, caption=image.caption, lazy=False, css_class="post__cover")
    social = next((r.file.name for r in image.renditions.all() if r.kind == "social"), "")
    return html, social


def _pick(renditions, width):
    """The smallest rendition at least ``width`` wide, else the widest."""
    wide_enough = [r for r in renditions if r.width >= width]
    return min(wide_enough, key=lambda r: r.width) if wide_enough else renditions[-1]


@dataclass(frozen=True)
class Enriched:
    html: str
    images: list[Image]  # the library images the body shows
    # Alt text typed in the Markdown, by image id, for library images that have none.
    missing_alt: dict[int, str] = field(default_factory=dict)


def typed_alt(attrs: dict) -> str:
    """The alt text the author typed, unless it is empty or the upload placeholder."""
    alt = attrs.get("alt", "").strip()
    return "" if alt == ALT_PLACEHOLDER else alt


def enrich(html: str) -> Enriched:
    """Rewrite figures of library images into responsive pictures.

    The alt text typed in the Markdown wins for this post; the library's is used where
    none was typed (or only the placeholder).
    """
    images = library_images(html)
    if not images:
        return Enriched(html, [])
    first = True
    missing_alt = {}

    def replace(match):
        nonlocal first
        attrs = {k: unescape(v) for k, v in HTML_ATTRIBUTE.findall(match.group(1))}
        image = images.get(_storage_name(attrs.get("src", "")) or "")
        if image is None:
            return match.group(0)
        typed_caption = unescape(match.group(2) or "")
        alt = typed_alt(attrs)
        if alt and not image.alt.strip() and not image.decorative:
            missing_alt.setdefault(image.pk, alt)
        markup = picture(
            image,
            alt=alt or image.alt,
            caption=image.caption or typed_caption,
            lazy=not first,  # the first image is likely above the fold
        )
        first = False
        return markup

    html = _FIGURE.sub(replace, html)
    return Enriched(html, list(images.values()), missing_alt)


def plain_images(html: str) -> str:
    """For feeds: each <picture> becomes its fallback <img>, without srcset or sizes.

    Its width and height become those of the rendition its src names (the width from
    that URL's srcset descriptor, the height rounded as blog.renditions rounds it), not
    the original's: a reader sizing the box from them would otherwise stretch the file.
    """

    def replace(match):
        img = _FALLBACK_IMG.search(match.group(1))
        if img is None:
            return ""
        attrs = {name: unescape(value) for name, value in HTML_ATTRIBUTE.findall(img.group(0))}
        widths = _srcset_widths(attrs.pop("srcset", ""))
        attrs.pop("sizes", None)
        width = widths.get(attrs.get("src", ""))
        if width and attrs.get("width", "").isdigit() and attrs.get("height", "").isdigit():
            attrs["height"] = str(_scaled_height(int(attrs["width"]), int(attrs["height"]), width))
            attrs["width"] = str(width)
        return format_html("<img{}>", format_html_join("", ' {}="{}"', attrs.items()))

    return _PICTURE.sub(replace, html)


def _srcset_widths(srcset: str) -> dict[str, int]:
    """{URL: width} from a srcset of width descriptors ("a.jpg 480w, b.jpg 960w")."""
    widths = {}
    for candidate in srcset.split(","):
        url, _, descriptor = candidate.strip().partition(" ")
        descriptor = descriptor.strip()
        if descriptor.endswith("w") and descriptor[:-1].isdigit():
            widths[url] = int(descriptor[:-1])
    return widths


def _scaled_height(width: int, height: int, new_width: int) -> int:
    # The rounding of blog.renditions.ensure_renditions, so the numbers match the file.
    return max(1, round(height * new_width / width))
