"""No reader query scans or sorts the posts table.

The query-count pins cannot see a query whose cost grows with the archive: the count
stays the same while each query reads more. These tests seed a few thousand posts,
capture every query that each reader page runs, and ask the database how it would run
it. A plan fails when:

- SQLite (EXPLAIN QUERY PLAN): it SCANs the posts without an index; it sorts posts in a
  temporary B-tree (a sort after GROUP BY or DISTINCT sorts groups, not posts); or it
  reads the rows of a whole listing range (every published post, or a section's) when
  nothing stops it after a page: only a LIMIT on a query that needs no sort first does.
- PostgreSQL (EXPLAIN): a Seq Scan on the posts, or a Sort of post rows (other than the
  one a GROUP BY or DISTINCT folds them with, as for SQLite).

Search ranks its matches by relevance, a sort by nature, and reads the posts that the
full-text index matched, by id: only that it never scans the posts is judged.
"""

import re
from urllib.parse import urlsplit

import pytest
from django.db import connection, transaction
from lxml import etree

from blog.demo.seed import seed_synthetic
from blog.models import Post, SiteSettings, Tag

ARCHIVE_SIZE = 3000
FEEDS = {"RSS": "feed/", "Atom": "feed/atom/", "JSON": "feed.json"}


@pytest.fixture(scope="module")
def archive(django_db_setup, django_db_blocker):
    """{page name: URL} over a few thousand published posts, seeded once for the module
    (about two seconds) and rolled back after it. Each test's own transaction is a
    savepoint inside this one."""
    with django_db_blocker.unblock(), transaction.atomic():
        seed_synthetic(ARCHIVE_SIZE)
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        yield reader_pages()
        transaction.set_rollback(True)


def reader_pages() -> dict[str, str]:
    post = (
        Post.objects.published()
        .filter(series__isnull=False, links__isnull=False)
        .order_by("-published_at")
        .first()
    )
    section, series = post.section, post.series
    tag = Tag.objects.filter(tagged_posts__content_object=post).first()
    section_posts = Post.objects.published().filter(section=section).count()
    last_page = -(-section_posts // SiteSettings.load().posts_per_page)
    middle = Post.objects.published().order_by("published_at")[ARCHIVE_SIZE // 2].published_at
    pages = {
        "home": "/",
        "section": section.get_absolute_url(),
        # The last page: what it skips is most of the section.
        "section, deep page": f"{section.get_absolute_url()}?page={last_page}",
        "post in a series, with links": post.get_absolute_url(),
        "series": series.get_absolute_url(),
        "series index": "/series/",
        "tag": tag.get_absolute_url(),
        "tag index": "/tags/",
        "archive": "/archive/",
        "year": f"/archive/{middle.year}/",
        "month": f"/archive/{middle.year}/{middle.month}/",
        "search": "/search/?q=hashing",
        "sitemap": "/sitemap.xml",
    }
    scopes = {"site": "/", "section": section, "series": series, "tag": tag}
    for scope, subject in scopes.items():
        base = subject if isinstance(subject, str) else subject.get_absolute_url()
        for name, suffix in FEEDS.items():
            pages[f"{scope} {name} feed"] = base + suffix
    return pages


def page_urls(client, pages, page) -> list[str]:
    """The page's URL; for the sitemap, also those of the sitemaps it indexes."""
    url = pages[page]
    if page != "sitemap":
        return [url]
    root = etree.fromstring(client.get(url).content)
    if etree.QName(root).localname != "sitemapindex":
        return [url]
    children = [urlsplit(loc.text) for loc in root.iterfind("{*}sitemap/{*}loc")]
    return [url, *(f"{child.path}?{child.query}".rstrip("?") for child in children)]


def reader_queries(client, url) -> list[tuple[str, tuple]]:
    """Every SELECT that a GET of ``url`` runs, with its parameters."""
    queries = []

    def record(execute, sql, params, many, context):
        if sql.lstrip().upper().startswith(("SELECT", "WITH")):
            queries.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        response = client.get(url)
    assert response.status_code == 200, url
    return queries


# --- SQLite ----------------------------------------------------------------------------

_ACCESS = re.compile(r"^(SCAN|SEARCH) (?:TABLE )?(\S+)(?: AS (\S+))?(.*)$")
# Plan nodes that open a select of their own: their children are not the outer select's.
_NESTED_SELECT = re.compile(r"SUBQUERY|CO-ROUTINE|MATERIALIZE")
# Columns that only narrow the posts to a listing: every published post, or a section's.
LISTING_COLUMNS = {"status", "published_at", "section_id"}


def top_level(sql: str) -> str:
    """The SQL without what is inside parentheses (subqueries among it)."""
    while True:
        shorter = re.sub(r"\([^()]*\)", "", sql)
        if shorter == sql:
            return sql
        sql = shorter


def sqlite_problems(sql, params, *, ranked: bool) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
        nodes = {node_id: (parent, detail) for node_id, parent, _, detail in cursor.fetchall()}
    # Django aliases the posts table (U0, T3, …) in subqueries and repeated joins.
    posts = {"blog_post", *re.findall(r'"blog_post" (?:AS )?"?([A-Z]\d+)\b', sql)}

    def select_of(node_id):
        parent = nodes[node_id][0]
        while parent in nodes and not _NESTED_SELECT.search(nodes[parent][1]):
            parent = nodes[parent][0]
        return parent

    selects: dict[int, list[str]] = {}
    for node_id, (_, detail) in nodes.items():
        selects.setdefault(select_of(node_id), []).append(detail)
    outer = top_level(sql)
    problems = []
    for select, details in selects.items():
        accesses = [m for m in map(_ACCESS.match, details) if m and posts & {m[2], m[3]}]
        if not accesses:
            continue
        temp_btrees = [d for d in details if d.startswith("USE TEMP B-TREE")]
        grouped = any(re.search(r"FOR (GROUP BY|DISTINCT)", d) for d in temp_btrees) or (
            select == 0 and re.search(r"\bGROUP BY\b|^SELECT DISTINCT\b", outer)
        )
        stops_after_a_page = select == 0 and not temp_btrees and re.search(r"\bLIMIT\b", outer)
        for access in accesses:
            kind, rest = access[1], access[4]
            if kind == "SCAN" and "INDEX" not in rest:
                problems.append(f"scans the posts table: {access[0]}")
            if ranked or "COVERING INDEX" in rest or "USING INDEX" not in rest:
                continue
            constraint = re.search(r"\((.*)\)", rest)
            columns = set(re.findall(r"(\w+)[=<>]", constraint[1])) if constraint else set()
            if columns <= LISTING_COLUMNS and not stops_after_a_page:
                problems.append(f"reads every post row of a listing: {access[0]}")
        if not ranked and not grouped:
            problems += [f"sorts posts: {d}" for d in temp_btrees if "ORDER BY" in d]
    return problems


# --- PostgreSQL ------------------------------------------------------------------------

DISCOURAGED = ("enable_seqscan", "enable_sort", "enable_incremental_sort")
# Nodes that fold their input into groups: a sort above one sorts groups, not posts.
_GROUPS = {"Aggregate", "Group", "Unique", "WindowAgg", "SetOp"}


def _reaches_posts(node) -> bool:
    if node.get("Relation Name") == "blog_post":
        return True
    if node["Node Type"] in _GROUPS:
        return False
    return any(
        _reaches_posts(child)
        for child in node.get("Plans", [])
        # A subplan's rows are tested (an IN, an EXISTS), not passed on to be sorted.
        if child.get("Parent Relationship") not in ("SubPlan", "InitPlan")
    )


def postgres_problems(sql, params, *, ranked: bool) -> list[str]:
    with connection.cursor() as cursor:
        # At a few thousand rows, reading a whole table, or sorting the few rows a query
        # finds, is often the cheapest plan whatever the indexes, and the planner takes
        # it. Made a last resort, a Seq Scan or a Sort still in a plan means that no
        # index can answer the query, or give its order: what grows with the archive.
        for setting in DISCOURAGED:
            cursor.execute(f"SET {setting} = off")
        try:
            cursor.execute("EXPLAIN (FORMAT JSON) " + sql, params)
            [plan] = cursor.fetchone()[0]
        finally:
            for setting in DISCOURAGED:
                cursor.execute(f"RESET {setting}")
    problems = []

    def visit(node, parent_type=None):
        on_posts = node.get("Relation Name") == "blog_post"
        if on_posts and node["Node Type"] == "Seq Scan":
            problems.append("Seq Scan on blog_post")
        # A sort under a grouping node is how it groups (as SQLite's temporary B-tree for
        # GROUP BY or DISTINCT is): it orders no posts for a page.
        sorts = node["Node Type"] in ("Sort", "Incremental Sort")
        orders_a_page = not ranked and sorts and parent_type not in _GROUPS
        if orders_a_page and any(_reaches_posts(child) for child in node["Plans"]):
            problems.append(f"{node['Node Type']} of posts by {node.get('Sort Key')}")
        for child in node.get("Plans", []):
            visit(child, node["Node Type"])

    visit(plan["Plan"])
    return problems


def plan_problems(sql, params, *, ranked: bool = False) -> list[str]:
    if connection.vendor == "postgresql":
        return postgres_problems(sql, params, ranked=ranked)
    return sqlite_problems(sql, params, ranked=ranked)


# --- the tests -------------------------------------------------------------------------

PAGES = [
    "home",
    "section",
    "section, deep page",
    "post in a series, with links",
    "series",
    "series index",
    "tag",
    "tag index",
    "archive",
    "year",
    "month",
    "search",
    "sitemap",
    *(f"{scope} {name} feed" for scope in ("site", "section", "series", "tag") for name in FEEDS),
]


@pytest.mark.parametrize("page", PAGES)
def test_no_reader_query_scans_or_sorts_the_posts(client, archive, db, page):
    problems = []
    for url in page_urls(client, archive, page):
        queries = reader_queries(client, url)
        assert any("blog_post" in sql for sql, _ in queries), f"{url} read no posts"
        for sql, params in queries:
            for problem in plan_problems(sql, params, ranked=page == "search"):
                problems.append(f"{url}: {problem}\n    {sql % tuple(params or ())}")
    assert not problems, "\n".join(problems)


def test_the_plan_check_sees_a_scan_a_sort_and_a_read_of_every_row(archive, db):
    """The check itself: plans known to be bad fail it (else the test above proves
    nothing)."""
    scan = Post.objects.filter(title__contains="about")
    sort = Post.objects.published().order_by("title")[:10]
    bad = [(scan, r"scans the posts table|Seq Scan"), (sort, r"sorts posts|Sort of posts")]
    if connection.vendor == "sqlite":
        # (PostgreSQL reads the same rows through the index: not what its check is about.)
        every_row = Post.objects.published().values_list("summary")
        bad.append((every_row, r"reads every post row"))
    for queryset, expected in bad:
        sql, params = queryset.query.sql_with_params()
        problems = plan_problems(sql, params)
        assert any(re.search(expected, problem) for problem in problems), (sql, problems)
    fine = Post.objects.published().order_by("-published_at", "-pk")[:10]
    assert plan_problems(*fine.query.sql_with_params()) == []
