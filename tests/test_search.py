"""Full-text search: ranking, snippets, index maintenance and the visibility rule.

The suite runs on SQLite (FTS5) and on PostgreSQL (tsvector), so each test here checks
whichever backend the database is.
"""

from datetime import timedelta
from unittest import mock

import pytest
from django.utils import timezone

from blog.models import Link, Post
from blog.search import fts5_expression, rebuild_index, search_posts

pytestmark = pytest.mark.django_db


def titles(query):
    return [post.title for post in search_posts(query).posts]


def test_title_matches_rank_above_body_matches(make_post):
    make_post(title="Notes on gardening", body="A mention of kubernetes in passing.")
    make_post(title="Kubernetes in anger", body="Nothing else here.")
    assert titles("kubernetes") == ["Kubernetes in anger", "Notes on gardening"]


def test_subtitle_tags_and_link_titles_are_searchable(make_post):
    make_post(title="One", subtitle="About zeppelins")
    make_post(title="Two", tags=["Quasar"])
    post = make_post(title="Three")
    Link.objects.create(post=post, title="The walrus paper", url="https://e.org")
    assert titles("zeppelins") == ["One"]
    assert titles("quasar") == ["Two"]
    assert titles("walrus") == ["Three"]


def test_link_commentary_is_searchable_as_plain_text(make_post):
    """A reading list's commentary is where its words are; the HTML around them is not."""
    make_post(title="Reading list", body="Seven links.")
    Link.objects.create(
        post=Post.objects.get(),
        title="A paper",
        url="https://e.org/paper",
        commentary="Why the *marmoset* matters; see [the data](https://e.org/data).",
    )
    assert titles("marmoset") == ["Reading list"]
    assert titles("noopener") == [], "attributes of the rendered HTML are not words"
    assert titles("href") == []


def test_index_follows_link_commentary_edits_and_deletes(make_post):
    post = make_post(title="Reading list")
    link = Link.objects.create(post=post, title="L", url="https://e.org", commentary="capybara")
    assert titles("capybara") == ["Reading list"]
    link.commentary = "tapir"
    link.save()
    assert titles("capybara") == []
    assert titles("tapir") == ["Reading list"]
    link.delete()
    assert titles("tapir") == []


def test_rebuild_index_reads_link_commentary(make_post):
    post = make_post(title="Reading list")
    Link.objects.create(post=post, title="L", url="https://e.org")
    Link.objects.update(commentary_html="<p>An <em>okapi</em> &amp; a zebra</p>")
    assert titles("okapi") == []
    rebuild_index()
    assert titles("okapi") == ["Reading list"]


def test_stemming_finds_other_word_forms(make_post):
    make_post(title="Caching", body="We were running benchmarks all day.")
    assert titles("run benchmark") == ["Caching"]


def test_snippet_marks_matches_and_escapes_html(make_post):
    make_post(title="HTML", body="Write `<script>` tags carefully; escaping matters a lot.")
    [post] = search_posts("escaping").posts
    assert "<mark>escaping</mark>" in post.snippet.lower()
    assert "<script" not in post.snippet
    assert "script" in post.snippet, "the text around the match is kept (escaped)"


def test_text_after_angle_brackets_is_still_indexed(make_post):
    """Posts about HTML mention <script>; the words after it must stay searchable."""
    make_post(title="Tags", body="Put the `<script>` element last, then measure latency.")
    assert titles("latency") == ["Tags"]


def test_drafts_and_scheduled_posts_are_never_found(make_post):
    make_post(title="Visible quokka")
    make_post(title="Draft quokka", status=Post.Status.DRAFT)
    make_post(title="Scheduled quokka", published_at=timezone.now() + timedelta(days=1))
    assert titles("quokka") == ["Visible quokka"]


def test_scheduled_posts_become_findable_when_their_time_comes(make_post):
    moment = timezone.now() + timedelta(hours=1)
    make_post(title="Future axolotl", published_at=moment)
    assert titles("axolotl") == []
    with mock.patch("django.utils.timezone.now", return_value=moment + timedelta(minutes=1)):
        assert titles("axolotl") == ["Future axolotl"]


def test_index_follows_edits_tag_changes_link_changes_and_deletes(make_post):
    post = make_post(title="Original title")
    post.title = "Renamed narwhal"
    post.save()
    assert titles("narwhal") == ["Renamed narwhal"]
    assert titles("original") == []
    post.tags.add("Pelican")
    assert titles("pelican") == ["Renamed narwhal"]
    post.tags.remove("Pelican")
    assert titles("pelican") == []
    link = Link.objects.create(post=post, title="Ocelot reading", url="https://e.org")
    assert titles("ocelot") == ["Renamed narwhal"]
    link.delete()
    assert titles("ocelot") == []
    post.delete()
    assert titles("narwhal") == []


def test_rebuild_index_picks_up_bulk_writes(make_post):
    post = make_post(title="Before")
    Post.objects.filter(pk=post.pk).update(title="Bulk wombat", body_text="wombat")
    assert titles("wombat") == []
    rebuild_index()
    assert titles("wombat") == ["Bulk wombat"]


def test_web_search_syntax(make_post):
    make_post(title="Alpha beta", body="gamma")
    make_post(title="Alpha delta", body="epsilon")
    assert titles('"alpha beta"') == ["Alpha beta"]
    assert sorted(titles("beta OR delta")) == ["Alpha beta", "Alpha delta"]
    assert titles("alpha -beta") == ["Alpha delta"]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("", "Type a word"),
        ("   ", "Type a word"),
        ("?!.,", "at least one letter"),
        ("\x00", "Type a word"),
    ],
)
def test_empty_or_punctuation_queries_get_a_message(db, query, message):
    results = search_posts(query)
    assert results.posts == []
    assert message in results.message


def test_long_queries_are_truncated_not_refused(make_post):
    make_post(title="Ibis")
    results = search_posts("ibis " * 2000)
    assert len(results.query) <= 200
    assert [p.title for p in results.posts] == ["Ibis"]


def test_no_results_message(make_post):
    make_post(title="Something")
    assert search_posts("xylophone").message == "No posts match that search."


@pytest.mark.parametrize(
    ("query", "expression"),
    [
        ("hello world", '"hello" AND "world"'),
        ('"exact phrase" x', '"exact phrase" AND "x"'),
        ("a OR b", '("a" OR "b")'),
        ("a -b", '("a") NOT "b"'),
        ("NEAR(a b) AND c*", '"NEAR a" AND "b" AND "AND" AND "c"'),
        ("-only", ""),
        ("OR", ""),
    ],
)
def test_fts5_expression_quotes_everything(query, expression):
    """Readers' operators and punctuation never reach FTS5 unquoted (a pure function,
    checked on every database)."""
    assert fts5_expression(query) == expression
