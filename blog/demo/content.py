"""Demo content for ``manage.py seed_demo``: an original small blog about software."""

SITE = {
    "title": "Field Notes in Code",
    "tagline": "Long reads and short notes on software, data and the machines underneath.",
    "logo_alt": "A pair of curly braces around a small orange square",
}

AUTHOR = {
    "username": "rowan",
    "display_name": "Rowan Ellery",
    "bio": "Writes software for a living and notes about it for fun.",
    "links": [
        ("LinkedIn", "https://www.linkedin.com/in/rowan-ellery-demo"),
        ("GitHub", "https://github.com/rowan-ellery-demo"),
        ("Mastodon", "https://mastodon.social/@rowan_ellery_demo"),
    ],
}

SECTIONS = [
    {
        "slug": "bytes",
        "name": "Bytes",
        "nav_position": 1,
        "description": "Long reads that take a while to make.",
    },
    {
        "slug": "nibbles",
        "name": "Nibbles",
        "nav_position": 2,
        "description": "Short posts: a link, a trick, a reading list.",
    },
]

SERIES = {
    "slug": "systems-reading-list",
    "title": "The systems reading list",
    "description": (
        "Now and then I collect the **articles, papers and tools** about databases, "
        "operating systems and networks that I keep recommending to colleagues. "
        "Each issue is a short list with a paragraph on why each one is worth your time."
    ),
}

CODE_SQLITE = """```python
import sqlite3

with sqlite3.connect("blog.db") as db:
    db.execute("PRAGMA journal_mode = wal")
    rows = db.execute(
        "SELECT title FROM post WHERE published_at <= datetime('now') "
        "ORDER BY published_at DESC LIMIT 10"
    ).fetchall()
```"""

POSTS = [
    {
        "slug": "sqlite-is-enough",
        "section": "bytes",
        "title": "SQLite is enough for most blogs",
        "subtitle": "What a single file on disk can and cannot do for a one-author site",
        "days_ago": 40,
        "tags": ["Databases", "SQLite", "Performance"],
        "cover": {
            "alt": "Bar chart: reads per second for SQLite and PostgreSQL on the same laptop",
            "caption": "Reads per second on one laptop, higher is better (illustrative figures).",
        },
        "body": f"""A personal blog reads far more than it writes. One author publishes a post a
week; readers fetch pages thousands of times a day. That shape suits an embedded
database very well.

## The workload

Nearly every request is a read of a few rows by an indexed column. Writes come from
one person in an admin screen, so there is no contention to speak of.

{CODE_SQLITE}

With write-ahead logging on, readers never wait for the writer.[^wal]

## When to move on

| Need | SQLite | PostgreSQL |
|:-----|:------:|:----------:|
| One server, one author | yes | yes |
| Several app servers | no | yes |
| Full-text search | FTS5 | tsvector + GIN |
| Point-in-time recovery | copies of the file | WAL archiving |

If you add a second application server, move to PostgreSQL; until then, the file is
the simplest thing that works.[^backup]

[^wal]: Write-ahead logging lets one writer and many readers work at the same time.
[^backup]: Back the file up with the `.backup` command, not by copying it while in use.
""",
    },
    {
        "slug": "reading-tracebacks",
        "section": "bytes",
        "title": "Reading a Python traceback from the bottom up",
        "subtitle": "The last line tells you what; the frames above tell you how",
        "days_ago": 31,
        "tags": ["Python", "Debugging"],
        "body": """A traceback is printed oldest call first, so the most useful line is the
last one: the exception type and its message.

```pycon
>>> {"a": 1}["b"]
Traceback (most recent call last):
  File "<stdin>", line 1, in <module>
KeyError: 'b'
```

## Work upwards

1. Read the exception and message.
2. Find the lowest frame that is *your* code, not a library's.
3. Ask what value reached that line, and where it came from.

Chained exceptions (`raise ... from ...`) print the cause first, with the line
"The above exception was the direct cause of the following exception" between them.

```python
def load(path):
    try:
        return open(path).read()
    except FileNotFoundError as exc:
        raise RuntimeError(f"missing config: {path}") from exc
```
""",
    },
    {
        "slug": "http-caching-field-guide",
        "section": "bytes",
        "title": "A field guide to HTTP caching headers",
        "subtitle": "ETag, Last-Modified and Cache-Control, and how a feed reader uses them",
        "days_ago": 22,
        "tags": ["HTTP", "Performance", "Feeds"],
        "body": """Feed readers poll. A well-behaved one sends back the validators it got
last time, and a well-behaved server answers `304 Not Modified` with no body.

![Sequence diagram: the client sends If-None-Match, the server answers 304](IMAGE_URL "A conditional request: the client revalidates, the server answers 304.")

## The three headers

- **`Cache-Control: public, max-age=300`** lets any cache reuse the answer for five minutes.
- **`ETag`** is an opaque version string; the client echoes it in `If-None-Match`.
- **`Last-Modified`** is a date; the client echoes it in `If-Modified-Since`.

```http
GET /feed/ HTTP/1.1
If-None-Match: "3f2a9c"

HTTP/1.1 304 Not Modified
ETag: "3f2a9c"
```

Compute validators *without* rendering the page, or the 304 saves bandwidth but not
CPU.
""",
    },
    {
        "slug": "tags-that-survive-user-input",
        "section": "bytes",
        "title": "Designing a tag model that survives user input",
        "subtitle": "Commas, capital letters and emoji walk into a database",
        "days_ago": 12,
        "tags": ["Django", "Databases", "Python"],
        "body": """Tags look trivial until people type them. Three rules keep a tag table
tidy:

1. **Split on commas only**, so "machine learning" stays one tag.
2. **Compare without case**, so "Python" and "python" are the same tag, enforced by a
   unique index on `lower(name)`.
3. **Never produce an empty slug**: a tag made only of symbols still needs an address.

```python
def parse(text: str) -> list[str]:
    seen, names = set(), []
    for part in text.split(","):
        name = " ".join(part.split())
        if name and name.casefold() not in seen:
            seen.add(name.casefold())
            names.append(name)
    return names
```
""",
    },
    {
        "slug": "biggest-files-in-git",
        "section": "nibbles",
        "title": "Find the biggest files in a Git repository",
        "subtitle": "One pipeline, no plugins",
        "days_ago": 18,
        "tags": ["Git", "Command line"],
        "body": """When a clone is suspiciously slow, list the largest blobs in history:

```bash
git rev-list --objects --all \\
  | git cat-file --batch-check='%(objecttype) %(objectname) %(objectsize) %(rest)' \\
  | awk '$1 == "blob"' | sort -k3 -n -r | head -20
```
""",
    },
    {
        "slug": "python-importtime",
        "section": "nibbles",
        "title": "Why does my command-line tool start slowly?",
        "subtitle": "python -X importtime answers in one run",
        "days_ago": 6,
        "tags": ["Python", "Performance"],
        "body": """Run your tool with `python -X importtime` and sort the output by the
cumulative column: the slow import is usually one heavy library loaded at the top of
a module that most commands never use.
""",
        "links": [
            (
                "",
                "The -X importtime option",
                "https://docs.python.org/3/using/cmdline.html#cmdoption-X",
                "The reference for the option, with the meaning of the *self* and "
                "*cumulative* columns.",
            )
        ],
    },
]

READING_LIST = [
    {
        "slug": "systems-reading-list-1",
        "title": "The systems reading list #1",
        "subtitle": "Write-ahead logs, page caches and one very good book",
        "days_ago": 35,
        "intro": """## Introduction

I keep sending the same handful of links to people who ask how databases really work,
so here they are in one place, each with a note on why I like it.""",
        "links": [
            (
                "Storage",
                "SQLite: write-ahead logging",
                "https://www.sqlite.org/wal.html",
                "The clearest short explanation of a WAL I know: what it buys, what it "
                "costs, and why checkpoints exist.",
            ),
            (
                "Storage",
                "PostgreSQL: reliability and the WAL",
                "https://www.postgresql.org/docs/current/wal-intro.html",
                "The same idea at server scale. Read it right after the SQLite page and "
                "compare the trade-offs.",
            ),
            (
                "Operating systems",
                "Operating Systems: Three Easy Pieces",
                "https://pages.cs.wisc.edu/~remzi/OSTEP/",
                "A free textbook that explains virtualisation, concurrency and persistence "
                "with humour. The chapters on file systems pair well with the links above.",
            ),
        ],
    },
    {
        "slug": "systems-reading-list-2",
        "title": "The systems reading list #2",
        "subtitle": "Queues, back-pressure and the tail at scale",
        "days_ago": 26,
        "intro": """## Introduction

This issue is about what happens when a system gets busier than it was designed for.""",
        "links": [
            (
                "Latency",
                "Little's law",
                "https://en.wikipedia.org/wiki/Little%27s_law",
                "One equation (items in the system = arrival rate × time in the system) "
                "that explains most capacity surprises.",
            ),
            (
                "Latency",
                "Python asyncio: queues",
                "https://docs.python.org/3/library/asyncio-queue.html",
                "A bounded queue is the simplest form of back-pressure; the `maxsize` "
                "argument is the whole trick.",
            ),
            (
                "Tools",
                "The Linux perf wiki",
                "https://perf.wiki.kernel.org/index.php/Main_Page",
                "When a service is slow and you do not know why, start here.",
            ),
        ],
    },
    {
        "slug": "systems-reading-list-3",
        "title": "The systems reading list #3",
        "subtitle": "Networks: from sockets to HTTP/3",
        "days_ago": 9,
        "intro": """## Introduction

Three links for anyone who writes web services but has never looked below HTTP.""",
        "links": [
            (
                "Networking",
                "Beej's Guide to Network Programming",
                "https://beej.us/guide/bgnet/",
                "Sockets explained in plain C, with jokes. Still the best first read.",
            ),
            (
                "Networking",
                "RFC 9114: HTTP/3",
                "https://www.rfc-editor.org/rfc/rfc9114",
                "Skim sections 1 to 4 to see what QUIC changes and what it keeps.",
            ),
            (
                "Tools",
                "Wireshark user's guide",
                "https://www.wireshark.org/docs/wsug_html_chunked/",
                "Watching your own traffic is the fastest way to make the RFCs concrete.",
            ),
        ],
    },
]

# These two must never reach a reader: tests look for DRAFT-MARKER on every public URL.
UNPUBLISHED = [
    {
        "slug": "unfinished-benchmark-notes",
        "section": "bytes",
        "title": "DRAFT-MARKER: notes on an unfinished benchmark",
        "status": "draft",
        "tags": ["Python", "Performance"],
        "body": "DRAFT-MARKER. Half-written notes that are not ready for readers.",
    },
    {
        "slug": "systems-reading-list-4",
        "section": "nibbles",
        "title": "DRAFT-MARKER: The systems reading list #4",
        "status": "scheduled",
        "series_position": 4,
        "tags": ["Databases", "Reading list"],
        "body": "DRAFT-MARKER. The next issue, scheduled for a date far in the future.",
        "links": [
            (
                "Drafts",
                "DRAFT-MARKER link",
                "https://example.org/draft-marker",
                "DRAFT-MARKER commentary.",
            )
        ],
    },
]

# Pages at the top level, beside the sections; a nav position puts one in the navigation.
PAGES = [
    {
        "slug": "about",
        "title": "About",
        "nav_position": 1,
        "body": """I'm Rowan Ellery. I write software for a living, mostly the unglamorous kind
that moves data from one place to another and has to keep doing it at three in the
morning. This blog is where I write down what I learn along the way.

## What you'll find here

- **[Bytes](/bytes/)** are long reads: a question I spent a few evenings on, with the
  measurements and the dead ends.
- **[Nibbles](/nibbles/)** are short: a trick, a link worth your time, or an issue of
  [the systems reading list](/series/systems-reading-list/).

The figures in my posts come from my own laptop unless I say otherwise. Treat them as a
reason to measure on yours, not as a verdict.

## Getting in touch

I'm happy to hear about mistakes, better ways to do something, or a paper I should read.
The links in the header lead to the places where I answer. If you'd rather not miss a
post, [the feed](/feed/) carries every one in full.
""",
    },
]
