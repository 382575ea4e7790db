"""Properties of the renderer over generated input (hypothesis): Markdown syntax, raw HTML
tags and attributes, and URLs in every spelling a browser accepts, mixed at random.

- it never raises (a MarkdownError, with its message for the author, is the one refusal);
- its output is a fixed point of the sanitiser: sanitising it again changes nothing;
- no event handler, dangerous URL, foreign tag, unprefixed id or foreign class survives.
"""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from blog.markdown import (
    ALLOWED_CLASSES,
    ALLOWED_TAGS,
    DROP_CONTENT_TAGS,
    ID_PREFIX,
    MarkdownError,
    render,
    sanitize_html,
)

from .test_xss_corpus import fragment_problems, parse_fragment

# No example database in the working tree, and no deadline: the first example of a
# thread builds the Markdown converter, and a loaded CI machine is slow at times.
PROPERTY_SETTINGS = settings(
    max_examples=250,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)

SCHEMES = [
    "javascript:", "JaVaScRiPt:", "vbscript:", "data:text/html,", "data:image/svg+xml,",
    "java\tscript:", "java\nscript:", " javascript:", "\x01javascript:", "\x0bjavascript:",
    "jav&#x61;script:", "&#106;avascript:", "javascript&colon;", "javascript&#58;",
    "jav&#x09;ascript:", "java&Tab;script:", "http://", "https://", "mailto:", "//", "/",
    "#", "?", "", "livescript:", "file:", "ftp://",
]  # fmt: skip
REST = ["alert(1)", "example.org/x", "x@example.org", "%0aalert(1)", "a b", "/p?q=1#f", "[::1", ""]
TAGS = sorted(
    ALLOWED_TAGS
    | DROP_CONTENT_TAGS
    | {"form", "input", "button", "base", "meta", "link", "xmp", "title", "plaintext",
       "image", "mglyph", "mtext", "annotation-xml", "foreignObject", "use", "set", "animate",
       "frame", "body", "html", "area", "map", "video", "source", "isindex", "portal"}
)  # fmt: skip
ATTRIBUTES = [
    "href", "src", "cite", "srcset", "action", "formaction", "xlink:href", "data", "poster",
    "background", "onclick", "onerror", "OnLoad", "onmouseover", "style", "id", "class",
    "name", "title", "alt", "tabindex", "rel", "data-link-group", "open", "datetime", "to",
    "attributeName", "srcdoc", "http-equiv", "content",
]  # fmt: skip
WORDS = [
    "x", "alert(1)", "Main", "Toc-title", "preview-banner", "highlight", "k", "link-slot",
    "table-scroll", "footnote", "evil", "p-x", "#intro", "</script>", "-->", "<!--", "]]>",
    '"', "'", "`", ">", "<", "&", "&quot;", "&#34;", "\\", "\x00", "\u2028",
]  # fmt: skip

urls = st.builds(
    lambda scheme, rest: scheme + rest,
    st.sampled_from(SCHEMES),
    st.sampled_from(REST) | st.text(max_size=12),
)
words = st.sampled_from(WORDS) | st.text(max_size=8)
values = urls | words
quotes = st.sampled_from(['"', "'", ""])


@st.composite
def attribute(draw) -> str:
    quote = draw(quotes)
    value = draw(values)
    return f" {draw(st.sampled_from(ATTRIBUTES))}={quote}{value}{quote}"


@st.composite
def tag(draw) -> str:
    name = draw(st.sampled_from(TAGS))
    if draw(st.booleans()):
        name = name.upper()
    attrs = "".join(draw(st.lists(attribute(), max_size=3)))
    inner = draw(st.sampled_from(WORDS) | st.text(max_size=6))
    end = draw(st.sampled_from([f"</{name}>", "", f"</{name}", ">", "/>"]))
    return f"<{name}{attrs}>{inner}{end}"


def markdown_piece(text, url):
    return st.sampled_from(
        [
            f"[{text}]({url})",
            f'[{text}]({url} "{text}")',
            f"[{text}](<{url}>)",
            f"![{text}]({url})",
            f'![{text}]({url} "{text}")',
            f"<{url}>",
            f"[{text}][r]\n\n[r]: {url}",
            f"![{text}][i]\n\n[i]: <{url}> '{text}'",
            f"# {text}",
            f"## {text}\n\n### {text}",
            f"Setext {text}\n====",
            f"```{text}\n{url}\n```",
            f"``` {{ .python #{text} .{text} }}\n{url}\n```",
            f"    {url}",
            f"`{url}`",
            f"> {text}\n> [{text}]({url})",
            f"* {text}\n    * [{text}]({url})",
            f"1. {text}\n2. {url}",
            f"| {text} | b |\n|---|---|\n| {url} | [x]({url}) |",
            f"{text}[^{text}]\n\n[^{text}]: [{text}]({url})",
            f"[links: {text}]",
            f"*[{text}]: {url}\n\n{text}",
            f"{text}\n: {url}",
            f"**{text}** _{text}_",
            "---",
        ]
    )


@st.composite
def markdown_part(draw) -> str:
    text = draw(words)
    url = draw(urls)
    return draw(markdown_piece(text, url))


documents = st.lists(
    st.one_of(markdown_part(), tag(), words, st.text(max_size=20)), min_size=1, max_size=8
).flatmap(lambda parts: st.sampled_from(["", " ", "\n", "\n\n"]).map(lambda sep: sep.join(parts)))


def rendered_or_refused(text):
    """The rendering, or None when the renderer refuses the text with its own error."""
    try:
        return render(text)
    except MarkdownError:
        return None


@PROPERTY_SETTINGS
@given(documents)
def test_the_renderer_never_raises_and_its_output_is_a_fixed_point(text):
    result = rendered_or_refused(text)
    if result is None:
        return
    assert sanitize_html(result.html) == result.html
    assert sanitize_html(result.toc_html) == result.toc_html


@PROPERTY_SETTINGS
@given(documents)
def test_no_handler_dangerous_url_foreign_tag_id_or_class_survives(text):
    result = rendered_or_refused(text)
    if result is None:
        return
    for html in (result.html, result.toc_html):
        root = parse_fragment(html)
        assert fragment_problems(root) == [], html
        for element in root.iter():
            if element is root or not isinstance(element.tag, str):
                continue
            assert element.tag in ALLOWED_TAGS, html
            if element.get("id") is not None:
                assert element.get("id").startswith(ID_PREFIX), html
            classes = (element.get("class") or "").split()
            assert set(classes) <= ALLOWED_CLASSES, html


@PROPERTY_SETTINGS
@given(tag(), urls)
def test_raw_html_alone_never_raises_and_keeps_no_handler(raw, url):
    """Raw HTML straight into the sanitiser, as a stored body rendered by an older
    renderer would be: the same rules hold without Markdown in front."""
    html = sanitize_html(raw + f'<a href="{url}">x</a><q cite="{url}">q</q>')
    assert sanitize_html(html) == html
    assert fragment_problems(parse_fragment(html)) == [], html
