"""Ranked full-text search over published posts, behind one function.

PostgreSQL: a weighted ``tsvector`` column on each post (title A, subtitle B, body C,
tags and links D) with a GIN index, queried with ``websearch_to_tsquery`` and ranked by
``ts_rank``. SQLite: an FTS5 table of the same five columns ranked by bm25. A post's
links are indexed by title and by commentary, as plain text (the rendered HTML without
its tags, as the body is).

The index holds every post; ``Post.objects.published()`` decides what is shown, so a
scheduled post becomes findable the moment it goes live. Both indexes are kept in sync
by ``blog.signals`` (saves, deletes, tag changes, link changes) and rebuilt in bulk by
``rebuild_index()``.
"""

import re
from dataclasses import dataclass, field

from django.db import DatabaseError, connection
from django.db.models import F, Func, Value
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from . import faults, markdown, selectors
from .models import Post

CONFIG = "english"
MAX_QUERY_CHARS = 200
MAX_RESULTS = 50
# Unlikely characters that mark a match in a snippet until the text has been escaped.
_MARK_START, _MARK_END = "\x02", "\x03"
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_WORD = re.compile(r"\w+")
_TERM = re.compile(r'-?"[^"]*"?|\S+')

# One statement per backend rebuilds the index rows of the posts the WHERE clause picks.
_TAGS_SQL = (
    "SELECT {agg} FROM blog_taggedpost tp JOIN blog_tag t ON t.id = tp.tag_id "
    "WHERE tp.content_object_id = p.id"
)
_LINKS_SQL = "SELECT {agg} FROM blog_link l WHERE l.post_id = p.id"
# SQLite has no regexp_replace: a Python function registered on the connection (see
# _add_sqlite_functions) strips the tags, the same one that makes body_text.
_SQLITE_HTML_TEXT = "bytepress_html_text"
_SQLITE_DELETE = "DELETE FROM blog_post_fts WHERE rowid IN (SELECT p.id FROM blog_post p {where})"
_SQLITE_TAGS = _TAGS_SQL.format(agg="group_concat(t.name, ' ')")
_SQLITE_LINKS = _LINKS_SQL.format(
    agg=f"group_concat(l.title || ' ' || {_SQLITE_HTML_TEXT}(l.commentary_html), ' ')"
)
_SQLITE_INSERT = (
    "INSERT INTO blog_post_fts (rowid, title, subtitle, body, tags, links) "
    "SELECT p.id, p.title, p.subtitle, p.body_text, "
    f"COALESCE(({_SQLITE_TAGS}), ''), COALESCE(({_SQLITE_LINKS}), '') "
    "FROM blog_post p {where}"
)
# PostgreSQL's parser reads "<script>" in plain text as markup and skips what follows,
# so angle brackets (common in posts about code) are blanked before parsing.
_POSTGRES_TAGS = _TAGS_SQL.format(agg="string_agg(t.name, ' ')")
# Tags become spaces; the entities left (&lt; …) are skipped by PostgreSQL's parser.
_POSTGRES_LINKS = _LINKS_SQL.format(
    agg="string_agg(l.title || ' ' || regexp_replace(l.commentary_html, '<[^>]*>', ' ', 'g'), ' ')"
)
_POSTGRES_UPDATE = (
    "UPDATE blog_post p SET search_vector = "
    f"setweight(to_tsvector('{CONFIG}', translate(p.title, '<>', '  ')), 'A') || "
    f"setweight(to_tsvector('{CONFIG}', translate(p.subtitle, '<>', '  ')), 'B') || "
    f"setweight(to_tsvector('{CONFIG}', translate(p.body_text, '<>', '  ')), 'C') || "
    f"setweight(to_tsvector('{CONFIG}', translate(COALESCE(({_POSTGRES_TAGS}), '') || ' ' || "
    f"COALESCE(({_POSTGRES_LINKS}), ''), '<>', '  ')), 'D') "
    "{where}"
)


def _add_sqlite_functions() -> None:
    # Registered on every use (it costs microseconds): connections come and go, and
    # only these statements need it.
    connection.ensure_connection()
    connection.connection.create_function(
        _SQLITE_HTML_TEXT, 1, lambda html: markdown.html_to_text(html or ""), deterministic=True
    )


def _reindex(where: str = "", params=()) -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(_POSTGRES_UPDATE.format(where=where), params)
        elif connection.vendor == "sqlite":
            _add_sqlite_functions()
            cursor.execute(_SQLITE_DELETE.format(where=where), params)
            cursor.execute(_SQLITE_INSERT.format(where=where), params)


def index_post(post_id: int) -> None:
    """Bring one post's index entry up to date (its text, tags and links)."""
    _reindex("WHERE p.id = %s", [post_id])


def unindex_post(post_id: int) -> None:
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM blog_post_fts WHERE rowid = %s", [post_id])


def rebuild_index(*, progress=None, batch_size: int = 1000) -> int:
    """Re-index every post, e.g. after a bulk import that bypassed the signals; returns
    how many. ``progress(items, total=, label=)`` wraps the loop over the posts."""
    progress = progress or (lambda items, **kwargs: items)
    ids = list(Post.objects.order_by("pk").values_list("pk", flat=True))
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM blog_post_fts")  # also drops deleted posts' rows
    batch = []
    for post_id in progress(ids, label="Indexing posts"):
        batch.append(post_id)
        if len(batch) == batch_size or post_id == ids[-1]:
            _index_range(batch[0], batch[-1])
            batch = []
    return len(ids)


def _index_range(first: int, last: int) -> None:
    """Index the posts with ids from ``first`` to ``last`` (fresh rows on SQLite)."""
    where, params = "WHERE p.id BETWEEN %s AND %s", [first, last]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(_POSTGRES_UPDATE.format(where=where), params)
        elif connection.vendor == "sqlite":
            _add_sqlite_functions()
            cursor.execute(_SQLITE_INSERT.format(where=where), params)


@dataclass
class SearchResults:
    query: str
    posts: list = field(default_factory=list)
    message: str = ""


def clean_query(raw: str | None) -> str:
    """What is left of a query once control characters and excess length are removed."""
    # Cut first, so that a query of any length costs what one of the bound does (the
    # margin is for the spaces collapsed below).
    text = (raw or "")[: MAX_QUERY_CHARS * 4]
    # A lone surrogate cannot be sent to either database; a URL never carries one, but a
    # caller in Python might.
    text = text.encode("utf-8", "replace").decode("utf-8")
    return " ".join(_CONTROL.sub(" ", text).split())[:MAX_QUERY_CHARS]


def search_posts(raw_query: str | None, *, limit: int = MAX_RESULTS) -> SearchResults:
    """Published posts matching the query, best first, each with a ``snippet``."""
    query = clean_query(raw_query)
    if not query:
        return SearchResults(query, message="Type a word or two to search the posts.")
    if not _WORD.search(query):
        return SearchResults(query, message="Search needs at least one letter or digit.")
    try:
        if connection.vendor == "postgresql":
            posts = _search_postgres(query, limit)
        else:
            posts = _search_sqlite(query, limit)
    except DatabaseError as exc:
        if faults.means_database_unavailable(exc):
            raise  # the database is gone: the site's 503, not a bad query
        # An FTS5 expression the translator did not foresee: say so instead of a 500.
        return SearchResults(query, message="That search could not be understood; try plain words.")
    message = "" if posts else "No posts match that search."
    return SearchResults(query, posts=posts, message=message)


def _search_postgres(query: str, limit: int) -> list:
    # Imported here: it loads psycopg, which a SQLite site never needs (blog/fields.py).
    from django.contrib.postgres.search import SearchHeadline, SearchQuery, SearchRank

    search_query = SearchQuery(query, search_type="websearch", config=CONFIG)
    posts = list(
        selectors.list_posts()
        .filter(search_vector=search_query)
        .annotate(
            rank=SearchRank(F("search_vector"), search_query),
            raw_snippet=SearchHeadline(
                Func(F("body_text"), Value("<>"), Value("  "), function="translate"),
                search_query,
                config=CONFIG,
                start_sel=_MARK_START,
                stop_sel=_MARK_END,
                max_words=35,
                min_words=15,
                max_fragments=2,
                fragment_delimiter=" … ",
            ),
        )
        .order_by("-rank", "-published_at")[:limit]
    )
    for post in posts:
        post.snippet = _highlight(post.raw_snippet)
    return posts


def _search_sqlite(query: str, limit: int) -> list:
    expression = fts5_expression(query)
    if not expression:
        return []
    with connection.cursor() as cursor:
        # Ranked first, then snippets for the results shown only: SQLite works out every
        # selected column of every match before it sorts, and a snippet of a long post
        # costs far more than its rank (common words match most of the archive).
        cursor.execute(
            "SELECT rowid FROM blog_post_fts WHERE blog_post_fts MATCH %s "
            # Column weights: title, subtitle, body, tags, links.
            "ORDER BY bm25(blog_post_fts, 10.0, 5.0, 1.0, 4.0, 2.0) LIMIT %s",
            # More than shown: the index also holds drafts, which the public filter drops.
            [expression, limit * 4],
        )
        ranked = [pk for (pk,) in cursor.fetchall()]
        public = set(selectors.latest_posts().filter(pk__in=ranked).values_list("pk", flat=True))
        shown = [pk for pk in ranked if pk in public][:limit]
        if not shown:
            return []
        cursor.execute(
            "SELECT rowid, snippet(blog_post_fts, -1, %s, %s, ' … ', 32) FROM blog_post_fts "
            f"WHERE blog_post_fts MATCH %s AND rowid IN ({', '.join(['%s'] * len(shown))})",
            [_MARK_START, _MARK_END, expression, *shown],
        )
        snippets = dict(cursor.fetchall())
    found = selectors.cards_by_key(shown).in_bulk()
    posts = [found[pk] for pk in shown if pk in found]
    for post in posts:
        post.snippet = _highlight(snippets.get(post.pk))
    return posts


def fts5_expression(query: str) -> str:
    """Translate web-search syntax into a safe FTS5 expression.

    Words become quoted tokens (so FTS5 operators and punctuation typed by readers
    are never interpreted), ``"two words"`` is a phrase, ``OR`` between terms is kept,
    and ``-word`` excludes. Terms are otherwise all required, as on the web.
    """
    required: list[str] = []
    excluded: list[str] = []
    pending_or = False
    for term in _TERM.findall(query):
        if term == "OR":
            pending_or = bool(required)
            continue
        negative = term.startswith("-") and len(term) > 1
        words = _WORD.findall(term)
        if not words:
            continue
        phrase = '"' + " ".join(words) + '"'
        if negative:
            excluded.append(phrase)
        elif pending_or:
            required[-1] = f"({required[-1]} OR {phrase})"
        else:
            required.append(phrase)
        pending_or = False
    if not required:
        return ""
    expression = " AND ".join(required)
    for phrase in excluded:
        expression = f"({expression}) NOT {phrase}"
    return expression


def _highlight(raw: str | None) -> SafeString:
    """Escape a snippet, then turn the match markers into <mark> elements."""
    text = escape(raw or "")
    return mark_safe(text.replace(_MARK_START, "<mark>").replace(_MARK_END, "</mark>"))
