"""WordPress post HTML as Markdown, so that imported posts edit like the others.

The common cases become Markdown: paragraphs (also the classic editor's, which have no
<p> tags: WordPress adds them on display), headings, emphasis, links, lists, quotes,
code blocks, images (a ``[caption]`` becomes the figure's caption) and embeds (a link).
What has no Markdown form (tables, definition lists) stays raw HTML, which the renderer
keeps where its allow-list does. Gutenberg's block comments are dropped.
"""

import re
from collections.abc import Callable

import lxml.html
from lxml import etree

SHORTCODE_CAPTION = re.compile(r"\[caption\b[^\]]*\](.*?)\[/caption\]", re.S)
_BLANK_LINE = re.compile(r"\n[ \t]*\n")
_BLOCK_TAG = re.compile(r"<(?:p|h[1-6]|ul|ol|li|blockquote|pre|table|div|figure|hr|dl|!--)\b", re.I)
_SPACES = re.compile(r"\s+")
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]])")
# What would start a heading, quote or list at the beginning of a paragraph.
_LINE_START = re.compile(r"^(#|>|[-+]\s|\d+\.\s)")

UNWRAPPED = {"div", "section", "article", "main", "header", "footer", "aside", "center"}
BLOCKS = UNWRAPPED | {
    "p", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "blockquote", "pre", "figure",
    "hr", "table", "dl", "details", "iframe", "video", "audio", "embed", "object",
}  # fmt: skip
EMBEDS = {"iframe": "src", "video": "src", "audio": "src", "embed": "src", "object": "data"}
EMPHASIS = {"em": "*", "i": "*", "strong": "**", "b": "**"}
# Inline tags the renderer keeps: written as HTML around their converted content.
KEPT_INLINE = {"sub", "sup", "mark", "abbr", "small", "kbd", "q", "cite", "del", "ins", "s", "u"}
DROPPED = {"script", "style", "noscript", "form", "input", "button", "svg"}


def to_markdown(html: str, *, image_url: Callable[[str], str] = lambda src: src) -> str:
    """Markdown for a WordPress post's HTML; ``image_url`` maps an image's address to
    its new one (a library image's)."""
    if not html.strip():
        return ""
    html = SHORTCODE_CAPTION.sub(r'<figure class="wp-caption">\1</figure>', html)
    if "<p" not in html.lower():
        html = _add_paragraphs(html)
    root = lxml.html.fragment_fromstring(html, create_parent="div")
    return _Converter(image_url).blocks(root).strip() + "\n"


def _add_paragraphs(html: str) -> str:
    """What WordPress's wpautop does on display: blank lines part paragraphs, a single
    line break is a <br>."""
    chunks = []
    for chunk in _BLANK_LINE.split(html.replace("\r\n", "\n")):
        if not chunk.strip():
            continue
        if _BLOCK_TAG.search(chunk):
            chunks.append(chunk)  # its text and blocks are told apart when converted
        else:
            chunks.append("<p>" + chunk.strip().replace("\n", "<br>\n") + "</p>")
    return "\n\n".join(chunks)


def escape(text: str) -> str:
    text = _SPACES.sub(" ", text).replace("&", "&amp;").replace("<", "&lt;")
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


class _Converter:
    def __init__(self, image_url):
        self.image_url = image_url

    def blocks(self, element) -> str:
        """The Markdown of an element's content, paragraph by paragraph."""
        out, run = [], []

        def end_run():
            text = "".join(run).strip()
            run.clear()
            if text:
                out.append(_LINE_START.sub(r"\\\1", text))

        run.append(escape(element.text or ""))
        for child in element:
            tag = child.tag.lower() if isinstance(child.tag, str) else None
            if tag in BLOCKS:
                end_run()
                if converted := self.block(child, tag):
                    out.append(converted)
            elif tag is not None:
                run.append(self.inline(child, tag))
            run.append(escape(child.tail or ""))
        end_run()
        return "\n\n".join(out)

    def block(self, element, tag: str) -> str:
        if tag in UNWRAPPED:
            return self.blocks(element)
        if tag == "p":
            return self.blocks(element)
        if tag[0] == "h" and tag[1:].isdigit():
            return "#" * int(tag[1]) + " " + self.inline_content(element).strip()
        if tag in ("ul", "ol"):
            return self.list(element, ordered=tag == "ol")
        if tag == "blockquote":
            return "\n".join(f"> {line}".rstrip() for line in self.blocks(element).split("\n"))
        if tag == "pre":
            return self.code_block(element)
        if tag == "figure":
            return self.figure(element)
        if tag == "hr":
            return "* * *"
        if tag in EMBEDS:
            url = element.get(EMBEDS[tag]) or next(
                (source.get("src") for source in element.iter("source") if source.get("src")), ""
            )
            return f"<{url}>" if url.startswith(("http://", "https://")) else ""
        # Tables and the like: raw HTML, for the renderer to keep or drop.
        return lxml.html.tostring(element, encoding="unicode", with_tail=False).strip()

    def inline_content(self, element) -> str:
        parts = [escape(element.text or "")]
        for child in element:
            if isinstance(child.tag, str):
                parts.append(self.inline(child, child.tag.lower()))
            parts.append(escape(child.tail or ""))
        return "".join(parts)

    def inline(self, element, tag: str) -> str:
        if tag == "img":
            return self.image(element)
        if tag == "br":
            return "<br>"
        if tag in DROPPED:
            return ""
        content = self.inline_content(element)
        if tag == "a":
            return self.link(element, content)
        if tag in EMPHASIS and content.strip():
            mark = EMPHASIS[tag]
            # Markdown emphasis may not start or end with a space: keep those outside.
            stripped = content.strip()
            lead = " " if content[:1].isspace() else ""
            trail = " " if content[-1:].isspace() else ""
            return f"{lead}{mark}{stripped}{mark}{trail}"
        if tag == "code":
            code = element.text_content()
            fence = "``" if "`" in code else "`"
            return f"{fence}{code}{fence}" if fence == "`" else f"{fence} {code} {fence}"
        if tag in KEPT_INLINE:
            return f"<{tag}>{content}</{tag}>"
        return content  # span, font, …: their text is what matters

    def link(self, element, content: str) -> str:
        href = (element.get("href") or "").strip()
        images = element.findall(".//img")
        if images and not element.text_content().strip():
            return content  # an image linked to its own full-size file: the image alone
        if not href or not content.strip():
            return content
        return f"[{content.strip()}](<{href}>)"

    def image(self, element, caption: str = "") -> str:
        src = self.image_url((element.get("src") or "").strip())
        alt = escape(element.get("alt") or "")
        title = f' "{caption.replace(chr(34), chr(39))}"' if caption else ""
        return f"![{alt}](<{src}>{title})"

    def figure(self, element) -> str:
        image = next(element.iter("img"), None)
        if image is None:
            return self.blocks(element)
        figcaption = next(element.iter("figcaption"), None)
        source = figcaption if figcaption is not None else element
        caption = _SPACES.sub(" ", source.text_content()).strip()
        return self.image(image, caption)

    def list(self, element, *, ordered: bool) -> str:
        items = []
        for number, item in enumerate(element.findall("li"), start=1):
            marker = f"{number}. " if ordered else "- "
            lines = self.blocks(item).split("\n")
            # Continuation lines (a nested list, a second paragraph) sit under the text.
            body = "\n".join([lines[0], *(f"    {line}" if line else "" for line in lines[1:])])
            items.append(marker + body)
        return "\n".join(items)

    def code_block(self, element) -> str:
        code = element.text_content().strip("\n")
        classes = " ".join(node.get("class", "") for node in element.iter() if node is not None)
        language = re.search(r"(?:language|lang)[-:]\s*([\w+#-]+)", classes)
        fence = "```"
        while fence in code:
            fence += "`"
        return f"{fence}{language.group(1) if language else ''}\n{code}\n{fence}"


def plain_text(html: str) -> str:
    """The text of an HTML fragment (an excerpt), whitespace collapsed."""
    if not html.strip():
        return ""
    try:
        root = lxml.html.fragment_fromstring(html, create_parent="div")
    except etree.ParserError:
        return html.strip()
    return _SPACES.sub(" ", root.text_content()).strip()
