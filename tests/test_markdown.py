"""The renderer: the features authors rely on, and nothing hostile survives."""

import pytest
from lxml import html as lxml_html

from blog.markdown import (
    ALLOWED_TAGS,
    ALT_PLACEHOLDER,
    DROP_CONTENT_TAGS,
    html_to_text,
    images_missing_alt,
    render,
    render_markdown,
)


def tree(fragment):
    return lxml_html.fragment_fromstring(fragment, create_parent="div")


def test_fenced_code_is_highlighted_with_css_classes_not_inline_styles():
    out = render_markdown("```python\ndef f():\n    return 1\n```")
    doc = tree(out)
    block = doc.cssselect("div.highlight pre code")
    assert block, out
    assert doc.cssselect("span.k"), "Pygments token classes are kept"
    assert "style=" not in out


def test_tables_use_align_attributes():
    doc = tree(render_markdown("| a | b |\n|:--|--:|\n| 1 | 2 |"))
    cells = doc.cssselect("table tbody td")
    assert [c.get("align") for c in cells] == ["left", "right"]


def test_footnotes_link_both_ways():
    doc = tree(render_markdown("Claim.[^n]\n\n[^n]: Source."))
    assert doc.cssselect('sup a[href="#p-fn:n"]')
    assert doc.cssselect('li#p-fn\\:n a[href="#p-fnref:n"]')


def test_headings_get_anchors_and_a_table_of_contents():
    result = render("# Intro\n\n## Details\n\ntext")
    doc = tree(result.html)
    assert [h.tag for h in doc.cssselect("h2")] == ["h2", "h2"], "# is demoted below the title"
    assert doc.cssselect('h2#p-intro a.heading-anchor[href="#p-intro"]')
    toc = tree(result.toc_html)
    assert [a.get("href") for a in toc.cssselect("a")] == ["#p-intro", "#p-details"]


def test_image_alone_in_a_paragraph_becomes_a_figure_with_caption():
    doc = tree(render_markdown('![A chart](/media/c.png "Hits per hour")'))
    figure = doc.cssselect("figure")[0]
    assert figure.cssselect("img")[0].get("alt") == "A chart"
    assert figure.cssselect("figcaption")[0].text == "Hits per hour"


def test_external_links_get_noopener_noreferrer_and_internal_links_do_not():
    doc = tree(render_markdown("[out](https://example.org/x) [in](/bytes/post/) [f](#top)"))
    rels = {a.get("href"): a.get("rel") for a in doc.cssselect("a")}
    assert rels["https://example.org/x"] == "noopener noreferrer"
    assert rels["/bytes/post/"] is None
    assert rels["#p-top"] is None, "a link within the text follows the prefixed ids"


def test_author_supplied_rel_is_replaced():
    doc = tree(render_markdown('<a href="https://example.org" rel="opener">x</a>'))
    assert doc.cssselect("a")[0].get("rel") == "noopener noreferrer"


def test_mailto_and_relative_urls_are_allowed():
    doc = tree(render_markdown("[mail](mailto:me@example.org) [rel](../up/)"))
    assert [a.get("href") for a in doc.cssselect("a")] == ["mailto:me@example.org", "../up/"]


HOSTILE = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    '<img src="x" onerror="alert(1)">',
    "<img src=x onerror=alert(1)//>",
    '<a href="#" onclick="alert(1)">x</a>',
    "[x](javascript:alert(1))",
    "[x](JaVaScRiPt:alert(1))",
    "[x](jav&#x61;script:alert(1))",
    "[x](&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1))",
    '<a href="jav&#x09;ascript:alert(1)">x</a>',
    '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>',
    '<a href="vbscript:msgbox(1)">x</a>',
    '<iframe src="https://evil.example"></iframe>',
    '<object data="x.swf"></object><embed src="x.swf">',
    '<form action="https://evil.example"><input name="q"><button>go</button></form>',
    "<style>body{display:none}</style>",
    '<div style="background:url(javascript:alert(1))">x</div>',
    '<svg onload="alert(1)"><circle r="1"/></svg>',
    "<math><mtext><script>alert(1)</script></mtext></math>",
    '<details open ontoggle="alert(1)"><summary>x</summary></details>',
    "<!-- <script>alert(1)</script> -->",
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    '<base href="https://evil.example/">',
    '<meta http-equiv="refresh" content="0;url=https://evil.example">',
    '<link rel="stylesheet" href="https://evil.example/x.css">',
    "![x](javascript:alert(1))",
    '<img src="javascript:alert(1)">',
]

FORBIDDEN_TAGS = {
    "script", "style", "iframe", "object", "embed", "form", "input", "button", "svg",
    "math", "base", "meta", "link",
}  # fmt: skip


@pytest.mark.parametrize("source", HOSTILE)
def test_hostile_markdown_leaves_nothing_executable(source):
    out = render_markdown(f"Before\n\n{source}\n\nAfter")
    doc = tree(out)
    for element in doc.iter():
        assert element.tag not in FORBIDDEN_TAGS, out
        for name, value in element.attrib.items():
            assert not name.lower().startswith("on"), out
            assert name != "style", out
            if name in {"href", "src"}:
                scheme = value.split(":", 1)[0].lower() if ":" in value else ""
                assert scheme in {"", "http", "https", "mailto"}, out
    assert "<script" not in out.lower()
    assert "javascript:" not in out.lower()


# Elements whose content the HTML parser takes in as text or drops: every one, and those
# that nh3 keeps the content of but that still swallow what follows (title, xmp, …).
SWALLOWING_TAGS = sorted(DROP_CONTENT_TAGS | {"title", "xmp", "plaintext", "noframes"})


def text_of(source):
    return " ".join(tree(render_markdown(source)).text_content().split())


@pytest.mark.parametrize("tag", SWALLOWING_TAGS)
@pytest.mark.parametrize(
    "template",
    [
        "Before <{tag}> After",
        "Before <{tag}>inside</{tag}> After",
        "Before\n\n<{tag}>\n\nAfter *this*",
        "<div>\n<{tag}>\n</div>\n\nAfter *this*",
    ],
    ids=["unclosed", "closed", "block", "inside-allowed-block"],
)
def test_markup_the_sanitiser_cannot_keep_shows_as_text_and_loses_nothing(tag, template):
    """An unclosed <textarea> used to take the rest of the post with it, silently."""
    source = template.format(tag=tag)
    out = render_markdown(source)
    doc = tree(out)
    assert not doc.cssselect(tag), out
    text = text_of(source)
    assert f"<{tag}>" in text, "the author sees what they typed"
    assert "After" in text, out
    if "*this*" in source:  # and what follows is still Markdown, not raw HTML
        assert [em.text for em in doc.cssselect("em")] == ["this"], out


def test_text_after_a_swallowing_tag_is_still_markdown():
    doc = tree(render_markdown("<textarea>\n\nAfter *this*\n\n## Heading"))
    assert doc.cssselect("em")[0].text == "this"
    assert doc.cssselect("h2")


def test_script_shows_as_text_and_never_runs():
    out = render_markdown("<script>alert(1)</script>")
    assert not tree(out).cssselect("script")
    assert text_of("<script>alert(1)</script>") == "<script>alert(1)</script>"


def test_image_keeps_no_event_handler_and_the_text_after_it():
    doc = tree(render_markdown("<img src=x onerror=alert(1)> After"))
    [image] = doc.cssselect("img")
    assert "onerror" not in image.attrib
    assert "After" in doc.text_content()


@pytest.mark.parametrize(
    ("source", "visible"),
    [
        ("Before <!-- After", "Before <!-- After"),
        ("<div>\n<!-- note\n</div>\n\nAfter", "<!-- note </div> After"),
        ("a <!-- hidden note --> b", "a b"),
    ],
    ids=["unclosed-inline", "unclosed-in-block", "closed-stays-hidden"],
)
def test_comments(source, visible):
    """An unclosed comment is shown with what follows it in its HTML block; a closed one
    is the author's note and stays hidden."""
    assert text_of(source) == visible


def test_markup_that_never_closes_turns_the_rest_of_its_block_into_text():
    source = '<div>\n<b title="never closed>\n<em>x</em>\n</div>\n\nAfter *this*'
    doc = tree(render_markdown(source))
    assert '<b title="never closed> <em>x</em> </div>' in text_of(source)
    assert not doc.cssselect("b")
    assert [em.text for em in doc.cssselect("em")] == ["this"], "Markdown after it renders"


@pytest.mark.parametrize(
    ("source", "visible"),
    [
        ("<kbd><textarea></kbd> After", "<textarea> After"),
        ("Before <b <textarea>> After", "Before <b <textarea>> After"),
        ('Before <b title="never closed> After', 'Before <b title="never closed> After'),
        ("<a href='/x' title=\"<textarea>\">link</a> After", "link After"),
        (
            "<math><mtext><textarea>x</mtext></math> After",
            "<math><mtext><textarea>x</mtext></math> After",
        ),
        ("Before <TEXTAREA\nrows=3/> After", "Before <TEXTAREA rows=3/> After"),
        (
            "Before <?php echo 1; ?> <![CDATA[ x ]]> After",
            "Before <?php echo 1; ?> <![CDATA[ x ]]> After",
        ),
    ],
)
def test_nested_and_broken_markup_loses_no_text(source, visible):
    out = render_markdown(source)
    assert text_of(source) == visible
    assert {element.tag for element in tree(out).iter()} <= ALLOWED_TAGS, out


def test_code_blocks_holding_markup_are_unchanged():
    source = "```html\n<textarea>\n<!--\n```\n\n    <plaintext>\n\nAfter"
    doc = tree(render_markdown(source))
    fenced, indented = doc.cssselect("pre code")
    assert fenced.text_content() == "<textarea>\n<!--\n"
    assert indented.text_content() == "<plaintext>\n"
    assert doc.cssselect("p")[0].text == "After"


def test_allowed_raw_html_still_works():
    doc = tree(
        render_markdown(
            "Press <kbd>Ctrl</kbd>.\n\n<details><summary>More</summary>\nHidden\n</details>"
        )
    )
    assert doc.cssselect("p kbd")[0].text == "Ctrl"
    assert doc.cssselect("details summary")[0].text == "More"


def test_escaped_script_stays_visible_text():
    out = render_markdown("&lt;script&gt;alert(1)&lt;/script&gt;")
    assert "&lt;script&gt;" in out
    assert tree(out).text_content().strip() == "<script>alert(1)</script>"


def test_plain_text_leaves_out_anchor_marks_and_footnote_numbers():
    assert (
        html_to_text(render_markdown("# Title\n\nText[^1].\n\n[^1]: Note.")) == "Title Text. Note."
    )


@pytest.mark.parametrize(
    ("source", "missing"),
    [
        ("![A cat](/c.png)", False),
        ("![](/c.png)", True),
        ("![  ](/c.png)", True),
        (f"![{ALT_PLACEHOLDER}](/c.png)", True),
        ("No images at all", False),
        ("![][ref]\n\n[ref]: /media/x.png", True),
        ("![A cat][ref]\n\n[ref]: /media/x.png", False),
        ('<img src="/media/x.png">', True),
        ('<img src="/media/x.png" alt="">', True),
        ('<img src="/media/x.png" alt="A cat">', False),
    ],
)
def test_images_missing_alt(source, missing):
    """Checked on the rendered HTML, so every way of writing an image counts."""
    assert images_missing_alt(render_markdown(source)) is missing


@pytest.mark.parametrize(
    "source",
    [
        "[x](/\\evil.example/path)",
        '<a href=" //evil.example">x</a>',
        "[x](//evil.example)",
        "[x](HTTPS://Evil.Example)",
    ],
)
def test_every_off_site_link_gets_noopener(source):
    [link] = tree(render_markdown(source)).cssselect("a")
    assert link.get("rel") == "noopener noreferrer", link.get("href")


def test_absurd_nesting_is_a_clear_error_not_a_crash():
    from blog.markdown import MarkdownError

    deep = "".join("    " * level + "- item\n" for level in range(400))
    with pytest.raises(MarkdownError, match="nested too deeply"):
        render(deep)
    assert render_markdown("*still works*") == "<p><em>still works</em></p>"
