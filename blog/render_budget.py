"""What one Markdown render may cost: a size limit, a time budget, refusals of input whose
cost grows faster than its length, and a render cache bounded by bytes.

Python-Markdown is quadratic in several places: a link's text is read to its closing
``]`` from every ``[`` (10 KB of ``[`` took 23 s in production); each block step reads and
copies the rest of its block (80 KB of setext headings took 55 s); html.parser reads
from every ``<`` to the end of the text when no ``>`` follows. Even ordinary Markdown
dense with code blocks and tables renders at only 60-100 KB a second. The staff preview
fires while the author types, so each of those held a worker.

Three guards, cheapest first; every refusal is a ``blog.markdown.MarkdownError`` whose
message tells the author what to change, so a form shows it on the field and the preview
answers 400 with it:

1. ``MAX_CHARS``: longer text is refused before any work.
2. Pre-checks (``check_input``) for nesting deeper than the recursion limit allows, and
   for input whose cost is spent inside one call into C (a regular expression, the
   search of html.parser or html5ever through a text or a stack), which no time check
   can interrupt. Each costs one pass over the text, and refuses only input far beyond
   anything written by hand.
3. ``SECONDS``: every step of the converter (each preprocessor, each block processor's
   test and run, each inline pattern match, each tree and post processor) first checks
   the clock, and the render is refused at the first step after the budget is spent.

Why a cooperative check, and not SIGALRM or a subprocess: SIGALRM only works in the main
thread, and the renderer also runs in threads (the development server, gunicorn's
threaded workers, rerender); a subprocess per render would fork a 200 MB worker on every
keystroke's preview, and a pool of them is one more thing to keep alive. A check between
steps needs neither, and stops within one step, which the pre-checks keep short.
The budget is wall-clock time, not CPU time: what a slow render costs is a worker held
while others queue (and gunicorn's timeout counts wall time too).
"""

import contextlib
import functools
import math
import re
import sys
import threading
import time
from collections import OrderedDict

# About 40,000 words, far beyond a long post. Prose this long renders in about 0.7 s;
# Markdown dense with code blocks and tables takes 2-4 s, which the time budget refuses.
MAX_CHARS = 250_000
# The time one render may take; with the rest of a request, a preview or save stays
# around two seconds at worst.
SECONDS = 1.5
# The render cache, per worker process: total bytes held, and the largest entry kept.
CACHE_BYTES = 8 * 1024 * 1024
CACHE_ENTRY_BYTES = CACHE_BYTES // 8

TOO_SLOW = (
    "This text takes too long to render (over {seconds:g} seconds): look for a construct "
    "repeated thousands of times in one paragraph, such as unclosed brackets or tags, and "
    "break it up or put it in a code block."
)


def _refuse(message: str):
    # Imported here: blog.markdown imports this module.
    from .markdown import MarkdownError

    raise MarkdownError(message)


# --- 1 and 2: checks before rendering ----------------------------------------------------


def check_size(text: str) -> None:
    """Refuse text longer than ``MAX_CHARS``."""
    if len(text) > MAX_CHARS:
        _refuse(
            f"This text is {len(text):,} characters long; the limit is {MAX_CHARS:,}. "
            "Split it into several posts (a series keeps them together)."
        )


def check_input(text: str) -> None:
    """Refuse text that is too long, nested too deeply, or whose rendering would cost far
    more than its length (see the module docstring)."""
    # Nesting first: one regular expression, and what it reports is worth knowing even
    # about a text that is also too long.
    message = too_deeply_nested(text)
    if message:
        _refuse(message)
    check_size(text)
    for check in _PRE_CHECKS:
        message = check(text)
        if message:
            _refuse(message)


# Lists and quotes nest by recursion, one level of it per level of nesting: at about 200
# levels Python raises RecursionError, and before that, each level reads its lines again
# (150 levels took 0.4 s, 400 levels of quotes over 1.5 s). Nobody writes more than ten.
MAX_NESTING = 100
# A line's prefix of indentation and quote marks long enough to nest that deep: every
# level is at least one character (a ">", a tab, or four spaces).
_DEEP_PREFIX = re.compile(rf"^[ \t>]{{{MAX_NESTING},}}", re.MULTILINE)


def too_deeply_nested(text: str) -> str:
    """Refuse lists or quotes nested more than ``MAX_NESTING`` levels deep."""
    deepest = 0
    for prefix in _DEEP_PREFIX.findall(text):
        quotes = prefix.count(">")
        indentation = len(prefix.replace(">", "").expandtabs(4)) // 4
        deepest = max(deepest, quotes + indentation)
    if deepest <= MAX_NESTING:
        return ""
    return (
        f"The text is nested too deeply to render: {deepest:,} levels of lists or quotes "
        f"(at most {MAX_NESTING}); flatten it."
    )


# Several readers scan from an opening to its closing, and to the end of the text when
# none follows, once for every opening: html.parser from a "<" that may open a tag, an
# end tag, a comment or a processing instruction, to the next ">"; the link and footnote
# patterns from a "[" to the next "]"; the abbreviation definition pattern from a line
# that starts with "*[" to the next "]:". Some of that reading is one regular expression,
# which the time budget cannot stop, so the characters it would read are counted first.
# 30 million is about 0.2 s.
MAX_UNCLOSED_SCAN = 30_000_000
_TAG_START = re.compile(r"<[A-Za-z/!?]")
_ABBREVIATION_START = re.compile(r"^\*\[", re.MULTILINE)
_ABBREVIATION = re.compile(r"\*\[[^\\\n]*?\] ?:")


def _after_last(opening: re.Pattern, closing: str):
    def starts(text: str) -> list[int]:
        return [m.start() for m in opening.finditer(text, text.rfind(closing) + 1)]

    return starts


def _unfinished_abbreviations(text: str) -> list[int]:
    return [
        m.start()
        for m in _ABBREVIATION_START.finditer(text)
        if not _ABBREVIATION.match(text, m.start())
    ]


# (where the unclosed openings are, what they are, how to write one as text)
_UNCLOSED = [
    (_after_last(_TAG_START, ">"), "“<” that start a tag with no “>” after them", "&lt;"),
    (_after_last(re.compile(r"\["), "]"), "“[” with no “]” after them", "\\["),
    (_unfinished_abbreviations, "lines that start with “*[” but define nothing", "\\*["),
]


def unclosed_openings(text: str) -> str:
    """Refuse text where the scans from unclosed openings add up past the bound."""
    for find, what, as_text in _UNCLOSED:
        starts = find(text)
        if len(starts) * len(text) <= MAX_UNCLOSED_SCAN:  # cheap test first
            continue
        if sum(len(text) - start for start in starts) <= MAX_UNCLOSED_SCAN:
            continue
        return (
            f"This text has {len(starts):,} {what}, which would take too long to render. "
            f"Close them, or write {as_text} where the character is meant as text."
        )
    return ""


# The HTML parser behind nh3 (html5ever) walks up the open elements for each block-level
# start tag, so elements left open by the thousand cost the square of their number: 20,000
# unclosed <div> took 3.6 s, in one call that no time check can stop. Raw HTML opening
# more than this many elements at once is refused (Markdown's own nesting stops far
# earlier, at the recursion limit).
MAX_OPEN_ELEMENTS = 500
_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9]*)")
# Elements that never stay open (void) or that the next one of their kind closes.
_NOT_NESTING = frozenset(
    {"br", "col", "hr", "img", "wbr", "area", "base", "embed", "input", "link", "meta",
     "source", "track", "p", "li", "dt", "dd", "tr", "td", "th", "thead", "tbody", "tfoot",
     "colgroup", "caption", "option"}
)  # fmt: skip


def deeply_open_elements(text: str) -> str:
    """Refuse raw HTML that leaves more than ``MAX_OPEN_ELEMENTS`` elements open at once."""
    if text.count("<") <= MAX_OPEN_ELEMENTS:  # cheap test first
        return ""
    depth = deepest = 0
    for closing, name in _TAG.findall(text):
        if name.lower() in _NOT_NESTING:
            continue
        depth = max(depth - 1, 0) if closing else depth + 1
        deepest = max(deepest, depth)
    if deepest <= MAX_OPEN_ELEMENTS:
        return ""
    return (
        f"The HTML in this text opens {deepest:,} elements inside one another (tags that "
        f"are never closed?); the limit is {MAX_OPEN_ELEMENTS}. Close them, or write &lt; "
        "for a “<” that is meant as text."
    )


_PRE_CHECKS = [unclosed_openings, deeply_open_elements]


# --- 3: the time budget -------------------------------------------------------------------


class _OutOfTime(Exception):
    pass


def _timed(step, deadline: list):
    @functools.wraps(step)
    def timed(*args, **kwargs):
        if time.monotonic() > deadline[0]:
            raise _OutOfTime
        return step(*args, **kwargs)

    return timed


# The converter's steps: (where the Markdown instance keeps them, the methods to time).
_STEPS = [
    (lambda md: md.preprocessors, ("run",)),
    (lambda md: md.parser.blockprocessors, ("test", "run")),
    # getCompiledRegExp: the inline step asks each pattern for it in every text, matched
    # or not (a table of 20,000 rows has 40,000 texts and no match).
    (lambda md: md.inlinePatterns, ("getCompiledRegExp", "handleMatch")),
    (lambda md: md.treeprocessors, ("run",)),
    (lambda md: md.postprocessors, ("run",)),
]


def _deadline_of(md) -> list:
    """The deadline ``md``'s steps check, in a one-item list (set by ``time_limit``).

    Each converter belongs to one thread (blog.markdown keeps one per thread), and so
    does its deadline: no lock, and nothing shared between requests.
    """
    deadline = getattr(md, "_bytepress_deadline", None)
    if deadline is None:
        deadline = md._bytepress_deadline = [math.inf]
        for registry, methods in _STEPS:
            for step in registry(md):
                for name in methods:
                    setattr(step, name, _timed(getattr(step, name), deadline))
        # Inside one step, the stash takes every code block and piece of raw HTML: 60,000
        # fenced code blocks were one preprocessor step of half a minute.
        md.htmlStash.store = _timed(md.htmlStash.store, deadline)
    return deadline


@contextlib.contextmanager
def time_limit(md, seconds: float | None = None):
    """Run the body with ``md``'s steps limited to ``seconds`` (``SECONDS`` by default);
    past it, the conversion stops at its next step with a MarkdownError.

    The converter may then be half-way through its state: discard it.
    """
    deadline = _deadline_of(md)
    seconds = SECONDS if seconds is None else seconds
    deadline[0] = time.monotonic() + seconds
    try:
        yield
    except _OutOfTime:
        _refuse(TOO_SLOW.format(seconds=seconds))
    finally:
        deadline[0] = math.inf


# --- the render cache ---------------------------------------------------------------------


def _footprint(key: str, value) -> int:
    """Bytes an entry holds: the text and every string of the result."""
    fields = vars(value).values() if hasattr(value, "__dict__") else [value]
    return sys.getsizeof(key) + sum(sys.getsizeof(field) for field in fields)


def bounded_cache(
    function=None, *, max_bytes: int = CACHE_BYTES, max_entry_bytes: int = CACHE_ENTRY_BYTES
):
    """Like ``functools.lru_cache`` for a function of one string, bounded by the bytes it
    holds rather than by entries: least recently used entries go first, and an entry
    bigger than ``max_entry_bytes`` is not kept at all.

    The wrapper has ``cache_clear()`` and ``cache_bytes()``.
    """
    if function is None:
        return functools.partial(
            bounded_cache, max_bytes=max_bytes, max_entry_bytes=max_entry_bytes
        )
    entries: OrderedDict = OrderedDict()  # key: (value, footprint)
    lock = threading.Lock()
    held = 0

    @functools.wraps(function)
    def cached(key):
        nonlocal held
        with lock:
            if key in entries:
                entries.move_to_end(key)
                return entries[key][0]
        value = function(key)  # outside the lock: renders run in parallel
        size = _footprint(key, value)
        if size > max_entry_bytes:
            return value
        with lock:
            if key not in entries:
                entries[key] = (value, size)
                held += size
                while held > max_bytes:
                    _, (_, dropped) = entries.popitem(last=False)
                    held -= dropped
        return value

    def cache_clear():
        nonlocal held
        with lock:
            entries.clear()
            held = 0

    cached.cache_clear = cache_clear
    cached.cache_bytes = lambda: held
    return cached
