"""The one Markdown renderer: Markdown in, sanitised HTML out.

Post bodies, series descriptions and link commentary are rendered here when they are
saved, and the admin's live preview calls the same function, so the author previews
exactly what readers will get. Pages never render Markdown per request.

Rendering is two steps: Python-Markdown (fenced code with Pygments classes, tables,
footnotes, heading anchors) and then nh3 with an explicit allow-list, because Markdown
passes raw HTML through untouched. Raw HTML that nh3 would drop is escaped on the way,
so the author sees it as text instead of losing it and whatever follows it.

Beyond tags and attributes, the sanitiser decides what rendered HTML may say about the
page around it: every id starts with ``ID_PREFIX`` (links to them within the text are
rewritten to match), ``class`` keeps only the classes the renderer itself writes, and
every URL (``href``, ``src``, ``cite``) passes ``is_safe_url``. Its output is a fixed
point: sanitising it again changes nothing (tests/test_renderer_properties.py).
"""

import re
import threading
import xml.etree.ElementTree as etree
from dataclasses import dataclass
from html import unescape
from urllib.parse import urlsplit

import markdown
import nh3
from markdown.extensions import Extension
from markdown.extensions.toc import slugify_unicode
from markdown.htmlparser import HTMLExtractor
from markdown.inlinepatterns import HTML_RE, HtmlInlineProcessor
from markdown.preprocessors import HtmlBlockPreprocessor
from markdown.treeprocessors import Treeprocessor
from markdown.util import HTML_PLACEHOLDER_RE
from pygments.token import STANDARD_TYPES

from . import render_budget

ALLOWED_TAGS = frozenset(
    {
        "a", "abbr", "b", "blockquote", "br", "caption", "cite", "code", "col", "colgroup",
        "dd", "del", "details", "dfn", "div", "dl", "dt", "em", "figcaption", "figure",
        "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd", "li", "mark",
        "ol", "p", "pre", "q", "s", "samp", "small", "span", "strong", "sub", "summary",
        "sup", "table", "tbody", "td", "tfoot", "th", "thead", "time", "tr", "u", "ul",
        "var", "wbr",
    }
)  # fmt: skip

# Global attributes are limited to id (heading anchors, footnotes; prefixed, see ID_PREFIX)
# and class (only ALLOWED_CLASSES); nothing that runs script or styles the page.
ALLOWED_ATTRIBUTES = {
    "*": {"id", "class", "title", "lang", "dir"},
    "a": {"href", "rel"},
    "img": {"src", "alt", "width", "height", "loading", "decoding"},
    "abbr": set(),
    "blockquote": {"cite"},
    "q": {"cite"},
    "del": {"cite", "datetime"},
    "ins": {"cite", "datetime"},
    "time": {"datetime"},
    "ol": {"start", "reversed", "type"},
    "li": {"value"},
    "td": {"align", "colspan", "rowspan"},
    "th": {"align", "colspan", "rowspan", "scope"},
    "col": {"span"},
    "colgroup": {"span"},
    "details": {"open"},
    "div": {"data-link-group"},  # a link slot (see split_at_link_slots)
}
URL_SCHEMES = frozenset({"http", "https", "mailto"})
URL_ATTRIBUTES = frozenset({"href", "src", "cite"})
# Every id in rendered HTML starts with this, so that a post can never take an id of the
# page around it (those start with a capital: "Main", "Toc-title") or of the admin's
# ("content", "id_body"); "#intro" links within the text become "#p-intro" to match.
ID_PREFIX = "p-"
# The only classes rendered HTML keeps: those the renderer writes itself. An author's
# own class could dress a paragraph up as the page's chrome (the staff preview banner).
ALLOWED_CLASSES = frozenset(STANDARD_TYPES.values()) - {""} | {
    # Pygments and codehilite: the code box, highlighted lines, line-number tables.
    "highlight", "hll", "highlighttable", "linenos", "linenodiv", "code", "normal",
    "special", "filename",
    # Footnotes, heading anchors, the table of contents, link slots, scrolling tables.
    "footnote", "footnote-ref", "footnote-backref", "heading-anchor", "toc", "link-slot",
    "table-scroll",
}  # fmt: skip
# Elements whose content is dropped along with the tag, not kept as text.
DROP_CONTENT_TAGS = frozenset(
    {"script", "style", "iframe", "object", "embed", "noscript", "template", "textarea",
     "select", "svg", "math", "frame", "frameset", "noembed", "applet"}
)  # fmt: skip
EXTERNAL_REL = "noopener noreferrer"


# "[links: Storage]" alone in a paragraph, as the author writes it.
_SLOT_SOURCE = re.compile(r"\[links:\s*([^\]]*?)\s*\]", re.IGNORECASE)
# The same slot in sanitised HTML: written by the step below, in this exact form (nh3
# keeps the attributes in order and escapes the value's quotes).
LINK_SLOT = re.compile(r'<div class="link-slot" data-link-group="([^"]*)"></div>')


def split_at_link_slots(html: str) -> list[tuple[str, str | None]]:
    """Rendered HTML cut at its link slots: (html, the heading placed after it or None)."""
    parts, position = [], 0
    for slot in LINK_SLOT.finditer(html):
        parts.append((html[position : slot.start()], unescape(slot.group(1))))
        position = slot.end()
    parts.append((html[position:], None))
    return parts


def placed_link_groups(html: str) -> list[str]:
    """The link headings that rendered HTML places, in order."""
    return [unescape(slot.group(1)) for slot in LINK_SLOT.finditer(html)]


class _StructureTreeprocessor(Treeprocessor):
    """Page structure that plain Markdown lacks.

    - ``# Heading`` becomes ``<h2>``: the post title is the page's only ``<h1>``.
    - An image alone in its paragraph becomes a figure and its title the caption:
      ``![A chart of cache hits](chart.png "Hits per hour")`` renders as
      ``<figure><img alt="A chart of cache hits" …><figcaption>Hits per hour</figcaption>``.
    - A paragraph that is only ``[links: Storage]`` becomes a slot where the post's
      links under that heading are placed (see ``split_at_link_slots``).
    """

    def run(self, root):
        for heading in root.iter("h1"):
            heading.tag = "h2"
        for paragraph in root.iter("p"):
            slot = _SLOT_SOURCE.fullmatch((paragraph.text or "").strip())
            if slot and not list(paragraph):
                paragraph.tag, paragraph.text = "div", None
                paragraph.set("class", "link-slot")
                paragraph.set("data-link-group", self._unstashed(slot.group(1)))
                continue
            children = list(paragraph)
            if len(children) != 1 or children[0].tag != "img":
                continue
            image = children[0]
            if (paragraph.text or "").strip() or (image.tail or "").strip():
                continue
            paragraph.tag = "figure"
            paragraph.text = None
            image.tail = None
            image.set("loading", "lazy")
            image.set("decoding", "async")
            caption = image.attrib.pop("title", "").strip()
            if caption:
                figcaption = etree.SubElement(paragraph, "figcaption")
                figcaption.text = caption

    def _unstashed(self, text: str) -> str:
        # Raw HTML in the heading is still a placeholder here, which would otherwise be
        # replaced inside the attribute, quotes and all, after it is written.
        stash = self.md.htmlStash.rawHtmlBlocks
        return HTML_PLACEHOLDER_RE.sub(lambda m: str(stash[int(m.group(1))]), text)


class _StructureExtension(Extension):
    def extendMarkdown(self, md):
        # After "inline" (which makes the <img>), before "toc" and "prettify".
        md.treeprocessors.register(_StructureTreeprocessor(md), "bytepress-structure", 15)


_HTML_SPACE = "\t\n\f\r "
# A tag name, as long as the longest allowed one at most (a longer one is not allowed
# anyway, and reading it to its end each time could take quadratic time).
_LONGEST_NAME = max(map(len, ALLOWED_TAGS))
_TAG_OPEN = re.compile(rf"</?([A-Za-z][^\t\n\f\r />]{{0,{_LONGEST_NAME - 1}}})(?![^\t\n\f\r />])")
_COMMENT_END = re.compile(r"--!?>")


def _tag_end(html: str, start: int) -> int | None:
    """Where a tag whose name ends at ``start`` ends, read as the HTML tokenizer reads it
    (the WHATWG attribute states, as html5ever behind nh3 implements them): the index
    after its ``>``, or None if the text ends first. Quotes only count right after ``=``.
    """
    i, length = start, len(html)
    while True:
        while i < length and html[i] in _HTML_SPACE + "/":
            i += 1
        if i == length:
            return None
        if html[i] == ">":
            return i + 1
        i += 1  # an attribute name; its first character may even be "="
        while i < length and html[i] not in _HTML_SPACE + "/>=":
            i += 1
        while i < length and html[i] in _HTML_SPACE:
            i += 1
        if i < length and html[i] == "=":
            i += 1
            while i < length and html[i] in _HTML_SPACE:
                i += 1
            if i < length and html[i] in "\"'":
                close = html.find(html[i], i + 1)
                if close == -1:
                    return None
                i = close + 1
            else:
                while i < length and html[i] not in _HTML_SPACE + ">":
                    i += 1


def _comment_end(html: str, start: int) -> int | None:
    """Where the comment opening with ``<!--`` at ``start`` ends for the HTML tokenizer."""
    body = start + 4
    if html.startswith(">", body):  # "<!-->"
        return body + 1
    if html.startswith("->", body):  # "<!--->"
        return body + 2
    end = _COMMENT_END.search(html, body)
    return end.end() if end else None


def escape_unkept_markup(html: str) -> str:
    """Raw HTML with every ``<`` escaped except those opening an allowed tag or a closed
    comment, which are left for nh3 to keep or strip.

    The parser behind nh3 reads everything after an unclosed ``<textarea>``, ``<title>``,
    ``<style>``, ``<plaintext>``, ``<!--`` … as that element's content, and nh3 then drops
    it: the rest of the post vanished without a word. Escaped, such markup shows as the
    text the author typed, and nothing after it is lost. Nothing new can run either: the
    result still goes through nh3, and escaped markup is only text.
    """
    out = []
    position = 0
    while (start := html.find("<", position)) != -1:
        out.append(html[position:start])
        position = start + 1
        if html.startswith("<!--", start):
            end = _comment_end(html, start)
        elif (tag := _TAG_OPEN.match(html, start)) and _is_allowed(tag.group(1)):
            end = _tag_end(html, tag.end())
        else:
            out.append("&lt;")
            continue
        if end is None:
            # A comment or tag that never closes would take in all that follows: show
            # all of it as text (scanning on from each "<" could also take quadratic time).
            out.append(html[start:].replace("<", "&lt;"))
            return "".join(out)
        out.append(html[start:end])
        position = end
    out.append(html[position:])
    return "".join(out)


def _is_allowed(name: str) -> bool:
    # ASCII only: the tokenizer lowercases A-Z and nothing else.
    return name.isascii() and name.lower() in ALLOWED_TAGS


class _Extractor(HTMLExtractor):
    """Python-Markdown's raw HTML block reader, without raw-text elements.

    ``html.parser`` reads what follows ``<script>`` or ``<style>`` (and, in newer Pythons,
    ``<textarea>`` and ``<title>``) as raw text up to the closing tag: unclosed inside a
    ``<div>``, it took the rest of the post into the HTML block, unrendered. Those tags
    are escaped to text anyway, so they need no raw-text mode.
    """

    CDATA_CONTENT_ELEMENTS = ()
    RCDATA_CONTENT_ELEMENTS = ()


class _RawHtmlBlockPreprocessor(HtmlBlockPreprocessor):
    def run(self, lines):
        stash = self.md.htmlStash.rawHtmlBlocks
        first = len(stash)
        # HtmlBlockPreprocessor.run, with the extractor above.
        parser = _Extractor(self.md)
        parser.feed("\n".join(lines))
        parser.close()
        lines = "".join(parser.cleandoc).split("\n")
        # All this step stashes is the author's raw HTML; code blocks, which the stash
        # also holds, are put there by other steps and stay as they are.
        stash[first:] = [escape_unkept_markup(html) for html in stash[first:]]
        return lines


class _RawHtmlInlineProcessor(HtmlInlineProcessor):
    def handleMatch(self, m, data):
        placeholder, start, end = super().handleMatch(m, data)
        stash = self.md.htmlStash.rawHtmlBlocks
        stash[-1] = escape_unkept_markup(stash[-1])
        return placeholder, start, end


class _RawHtmlExtension(Extension):
    """Raw HTML that the sanitiser would drop is shown as text instead (see
    ``escape_unkept_markup``)."""

    def extendMarkdown(self, md):
        # Same names and priorities as the processors they replace.
        md.preprocessors.register(_RawHtmlBlockPreprocessor(md), "html_block", 20)
        md.inlinePatterns.register(_RawHtmlInlineProcessor(HTML_RE, md), "html", 90)
        # A tag that becomes text must not open a raw HTML block either: the Markdown
        # after it would be left unrendered.
        md.block_level_elements = [tag for tag in md.block_level_elements if tag in ALLOWED_TAGS]


_EXTENSIONS = [
    _StructureExtension(),
    _RawHtmlExtension(),
    "markdown.extensions.fenced_code",
    "markdown.extensions.codehilite",
    "markdown.extensions.tables",
    "markdown.extensions.footnotes",
    "markdown.extensions.toc",
    "markdown.extensions.sane_lists",
    "markdown.extensions.abbr",
    "markdown.extensions.def_list",
]
_EXTENSION_CONFIGS = {
    "markdown.extensions.codehilite": {
        "css_class": "highlight",
        "guess_lang": False,
        "use_pygments": True,
        "noclasses": False,
    },
    "markdown.extensions.tables": {"use_align_attribute": True},
    "markdown.extensions.toc": {
        "slugify": slugify_unicode,
        "permalink": "#",
        "permalink_class": "heading-anchor",
        "permalink_title": "Link to this section",
        "toc_depth": "2-4",
    },
    "markdown.extensions.footnotes": {"BACKLINK_TITLE": "Back to reference %d"},
}

# html5ever (behind nh3) always writes attributes as name="value" with quotes escaped,
# so after sanitising, this matches every <a> start tag exactly.
_A_TAG = re.compile(r'<a((?:\s+[\w:-]+="[^"]*")*)\s*>')
HTML_ATTRIBUTE = re.compile(r'\s+([\w:-]+)="([^"]*)"')
_TAGS = re.compile(r"<[^>]*>")
# Tags that separate words (blocks, line breaks, cells); other tags join their text.
_BREAKING_TAGS = re.compile(
    r"</?(?:p|div|h[1-6]|li|ul|ol|dl|dd|dt|pre|blockquote|table|thead|tbody|tr|td|th|"
    r"figure|figcaption|br|hr|details|summary)\b[^>]*>"
)
_PARAGRAPH = re.compile(r"<p>(.*?)</p>", re.S)
# Markup that is navigation, not prose: left out of plain text.
_NOT_PROSE = re.compile(
    r'<a class="(?:heading-anchor|footnote-backref)"[^>]*>.*?</a>'
    rf'|<sup id="{ID_PREFIX}fnref[^"]*">.*?</sup>',
    re.S,
)
_SPACES = re.compile(r"\s+")

# The alt text the editor inserts with an uploaded image, for the author to replace.
ALT_PLACEHOLDER = "Describe this image"
_IMG_TAG = re.compile(r'<img((?:\s+[\w:-]+="[^"]*")*)\s*/?>')

_local = threading.local()


class MarkdownError(ValueError):
    """Markdown that cannot be rendered; the message is meant for the author."""


@dataclass(frozen=True)
class Rendered:
    html: str
    toc_html: str


def _converter() -> markdown.Markdown:
    # A Markdown instance is not thread-safe but is costly to build: keep one per thread.
    md = getattr(_local, "md", None)
    if md is None:
        md = _local.md = markdown.Markdown(
            extensions=_EXTENSIONS, extension_configs=_EXTENSION_CONFIGS, output_format="html"
        )
    return md


def _is_external(href: str) -> bool:
    # Browsers drop surrounding whitespace and read a backslash as a slash, so
    # "/<backslash>evil.example" and " //evil.example" both lead off-site.
    # Any URL with a host is external.
    normalised = unescape(href).strip().replace("\\", "/")
    try:
        return bool(urlsplit(normalised).netloc)
    except ValueError:  # "//[x": a host Python cannot parse is a host all the same
        return True


def _add_rel(match: re.Match) -> str:
    attrs = dict(HTML_ATTRIBUTE.findall(match.group(1)))
    attrs.pop("rel", None)
    if _is_external(attrs.get("href", "")):
        attrs["rel"] = EXTERNAL_REL
    return "<a" + "".join(f' {name}="{value}"' for name, value in attrs.items()) + ">"


# What a browser strips from a URL before it reads the scheme (the WHATWG URL parser):
# C0 controls and spaces around it, and tabs and newlines anywhere in it.
_URL_EDGES = "".join(map(chr, range(0x21)))
_TAB_OR_NEWLINE = re.compile(r"[\t\n\r]")
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):")


def url_scheme(url: str) -> str | None:
    """The scheme a browser reads in ``url``, in lower case; None for a relative URL.

    ``url`` is the attribute's value as the browser has it, entities already decoded.
    """
    match = _SCHEME.match(_TAB_OR_NEWLINE.sub("", url.strip(_URL_EDGES)))
    return match.group(1).lower() if match else None


def is_safe_url(url: str) -> bool:
    """Whether a URL may be rendered as a link or a source: a relative URL (a path on this
    site, a fragment, ``//host/…``) or one of URL_SCHEMES. Never javascript:, vbscript:
    or data:, however it is spelled."""
    scheme = url_scheme(url)
    return scheme is None or scheme in URL_SCHEMES


def _filter_attribute(tag: str, name: str, value: str) -> str | None:
    """nh3's last word on each allowed attribute: the new value, or None to drop it."""
    if name == "class":
        kept = [token for token in value.split() if token in ALLOWED_CLASSES]
        return " ".join(kept) or None
    if name in URL_ATTRIBUTES:
        # nh3 checks the scheme of href and src but not cite; all three are checked here.
        if not is_safe_url(value):
            return None
        if name == "href" and value[1:] and value.startswith("#"):
            return _prefixed_fragment(value)
    return value


def _prefixed_fragment(href: str) -> str:
    # Ids get ID_PREFIX (nh3's id_prefix), and the text's own links follow them. A value
    # that has it already is left alone, so that sanitising twice changes nothing.
    return href if href.startswith("#" + ID_PREFIX) else "#" + ID_PREFIX + href[1:]


_NH3_OPTIONS = {
    "tags": set(ALLOWED_TAGS),
    "clean_content_tags": set(DROP_CONTENT_TAGS),
    "attributes": {tag: set(attrs) for tag, attrs in ALLOWED_ATTRIBUTES.items()},
    # Wide code and tables scroll sideways; keyboard users must be able to reach them.
    "set_tag_attribute_values": {"pre": {"tabindex": "0"}},
    "tag_attribute_values": {"div": {"tabindex": {"0"}}},  # the table box below
    "attribute_filter": _filter_attribute,
    "url_schemes": set(URL_SCHEMES),
    "id_prefix": ID_PREFIX,
    "link_rel": None,
    "strip_comments": True,
}

# A start or end tag in sanitised HTML: html5ever quotes every attribute value, and
# escapes "<" in text, so a "<table>" found this way is never text or inside a value.
_TAG = re.compile(r'<(/?)([a-z][a-z0-9]*)((?:\s+[\w:-]+="[^"]*")*)\s*>')
TABLE_BOX = '<div class="table-scroll" tabindex="0">'


def _box_tables(html: str) -> str:
    """Put each table in a box that scrolls sideways and that the keyboard can reach;
    a table already in one is left as it is."""
    if "<table" not in html:
        return html
    out, position, boxed = [], 0, []
    for tag in _TAG.finditer(html):
        if tag.group(2) != "table":
            continue
        out.append(html[position : tag.start()])
        position = tag.end()
        if not tag.group(1):
            already = html.endswith(TABLE_BOX, 0, tag.start())
            boxed.append(already)
            out.append(tag.group(0) if already else TABLE_BOX + tag.group(0))
        else:
            # The sanitiser's output is well formed: each end tag closes the last start.
            already = boxed.pop() if boxed else True
            out.append(tag.group(0) if already else tag.group(0) + "</div>")
    out.append(html[position:])
    return "".join(out)


def sanitize_html(html: str) -> str:
    """Keep only allow-listed tags, attributes, classes and URL schemes, prefix ids, mark
    external links and box tables. Sanitising the result again changes nothing."""
    cleaned = nh3.clean(html, **_NH3_OPTIONS)
    return _box_tables(_A_TAG.sub(_add_rel, cleaned))


@render_budget.bounded_cache
def render(text: str) -> Rendered:
    """Render Markdown to sanitised HTML, with the table of contents of its headings.

    Raises MarkdownError for text the renderer cannot handle (absurdly deep nesting) or
    will not: too long, or too costly to render (see blog.render_budget).
    """
    text = text or ""
    render_budget.check_input(text)
    md = _converter()
    md.reset()
    try:
        with render_budget.time_limit(md):
            html = md.convert(text)
    except RecursionError:
        _local.md = None  # the converter may be left in a broken state
        raise MarkdownError(
            "The text is nested too deeply to render (lists or quotes hundreds of levels "
            "deep); flatten it."
        ) from None
    except MarkdownError:
        _local.md = None  # stopped half-way, as above
        raise
    toc = getattr(md, "toc", "") if getattr(md, "toc_tokens", None) else ""
    return Rendered(html=sanitize_html(html), toc_html=sanitize_html(toc) if toc else "")


def check_renders(text: str, *, field: str) -> None:
    """Raise a form-friendly ValidationError if ``text`` cannot be rendered."""
    from django.core.exceptions import ValidationError

    try:
        render(text)
    except MarkdownError as exc:
        raise ValidationError({field: str(exc)}) from None


def render_markdown(text: str) -> str:
    """The body HTML only; also django-markdownx's MARKDOWNIFY_FUNCTION."""
    return render(text).html


def images_missing_alt(html: str) -> bool:
    """True if rendered HTML has an image without alt text, or with the upload placeholder.

    Checked on the HTML, so reference-style images and raw <img> tags count too.
    """
    for match in _IMG_TAG.finditer(html or ""):
        alt = dict(HTML_ATTRIBUTE.findall(match.group(1))).get("alt")
        if alt is None or not unescape(alt).strip() or unescape(alt).strip() == ALT_PLACEHOLDER:
            return True
    return False


def html_to_text(html: str) -> str:
    """Plain text of sanitised HTML, for excerpts, reading time and search."""
    text = _TAGS.sub("", _BREAKING_TAGS.sub(" ", _NOT_PROSE.sub("", html)))
    return _SPACES.sub(" ", unescape(text)).strip()


def paragraphs_text(html: str) -> str:
    """The text of the top-level paragraphs only: prose without code, tables or headings."""
    return " ".join(html_to_text(p) for p in _PARAGRAPH.findall(_NOT_PROSE.sub("", html))).strip()
