"""Tags: readable slugs that never collide, pages that answer for every slug, and an
index sorted the way readers read."""

import re
from urllib.parse import unquote

import pytest
from django.urls import resolve, reverse
from lxml import html as lxml_html

from blog.models import Tag
from blog.selectors import tags_with_counts

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("C", "c"),
        ("C++", "c-plus-plus"),
        ("C#", "c-sharp"),
        ("🐍", "snake"),
        ("Python 🐍", "python-snake"),
        ("👍🏽", "thumbs-up"),
        ("🇫🇷 travel", "fr-travel"),
        ("R&D", "r-and-d"),
        ("#hashtag", "hashtag"),
        ("+++", "plus-plus-plus"),
        ("?", "question-mark"),
        ("café", "café"),
        ("Café crème", "café-crème"),
        ("日本語", "日本語"),
        ("Machine learning", "machine-learning"),
    ],
)
def test_each_tag_gets_a_readable_slug_and_a_page_that_answers(client, make_post, name, slug):
    post = make_post(title="Tagged post", tags=[name])
    tag = post.tags.get()
    assert tag.slug == slug
    url = tag.get_absolute_url()
    assert resolve(unquote(url)).kwargs == {"slug": slug}  # reverse() percent-encodes
    response = client.get(url)
    assert response.status_code == 200
    assert "Tagged post" in response.content.decode()


def test_c_and_cplusplus_get_their_own_slugs_and_c_is_the_same_tag_as_c(make_post):
    first = make_post(tags=["C", "C++"])
    second = make_post(tags=["c"])
    assert sorted(Tag.objects.values_list("slug", flat=True)) == ["c", "c-plus-plus"]
    assert second.tags.get() == first.tags.get(name="C")


def test_a_taken_slug_gets_a_short_suffix_that_depends_on_the_name_alone():
    """taggit would number clashes _1, _2 in creation order; these stay put."""
    names = ["C++", "C Plus Plus", "c-plus-plus"]
    slugs = {}
    for order in (names, [names[0], *reversed(names[1:])]):
        Tag.objects.all().delete()
        for name in order:
            tag = Tag.objects.create(name=name)
            assert slugs.setdefault(name, tag.slug) == tag.slug
    assert slugs["C++"] == "c-plus-plus"
    for name in names[1:]:
        assert re.fullmatch(r"c-plus-plus-[0-9a-f]{6}", slugs[name]), slugs
    assert len(set(slugs.values())) == len(names)


def test_long_names_get_slugs_that_fit_and_work(client, make_post):
    make_post(title="Snakes", tags=["🐍" * 100])
    make_post(title="More snakes", tags=["🐍" * 99])
    tags = list(Tag.objects.all())
    assert len({tag.slug for tag in tags}) == 2
    for tag in tags:
        assert len(tag.slug) <= Tag._meta.get_field("slug").max_length
        assert client.get(tag.get_absolute_url()).status_code == 200


def test_tag_index_sorts_regardless_of_case(client, make_post):
    make_post(tags=["zope", "Django", "apple", "Beta"])
    expected = ["apple", "Beta", "Django", "zope"]
    assert [tag.name for tag in tags_with_counts()] == expected
    doc = lxml_html.fromstring(client.get(reverse("blog:tag-list")).content)
    links = [a.text for a in doc.cssselect("main a") if a.get("href", "").startswith("/tags/")]
    assert [text for text in links if text in expected] == expected


def test_a_slug_taken_between_the_check_and_the_insert_moves_to_the_next(db, monkeypatch):
    """Two requests creating near-identical tags at once: the loser does not get a 500."""
    from django.db.models import QuerySet

    Tag.objects.create(name="C++")
    real_exists = QuerySet.exists
    calls = []

    def racing_exists(self):
        calls.append(1)
        return False if len(calls) == 1 else real_exists(self)  # the first check is stale

    monkeypatch.setattr(QuerySet, "exists", racing_exists)
    tag = Tag.objects.create(name="c plus plus")
    monkeypatch.setattr(QuerySet, "exists", real_exists)
    assert tag.slug.startswith("c-plus-plus-") and tag.slug != "c-plus-plus"
