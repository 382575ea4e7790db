"""RSS 2.0, Atom and JSON Feed for the site, each section, each series and each tag.

One base class does the work; a scoped feed only says whose posts (its ``scope``), in
what order and under what title, and each format is a subclass that changes the
generator. Every feed answers conditional GETs, from the site's content version like
every reader page (blog.pagecache), carries full HTML with absolute URLs, and uses the
post's UUID as its id, so a changed slug never re-announces a post.

A Feed instance serves every request to its URL, from every thread at once: what
belongs to one request lives in the FeedRequest that ``get_object`` returns (and that
``items`` hands to each post), never on ``self``.
"""

import json
import logging
import mimetypes
import re
from dataclasses import dataclass
from html import unescape
from urllib.parse import urljoin, urlsplit

from django.contrib.syndication.views import Feed
from django.core.exceptions import ObjectDoesNotExist
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.urls import reverse
from django.utils.feedgenerator import (
    Atom1Feed,
    Enclosure,
    Rss201rev2Feed,
    Stylesheet,
    SyndicationFeed,
)
from django.utils.html import escape

from . import chrome, dates, pagecache, selectors
from .figures import plain_images
from .images import storage_errors
from .models import Section, SiteSettings
from .seo import absolute_url

logger = logging.getLogger(__name__)

# The start tags that carry URLs in feed HTML, whole: the sanitiser and the templates
# write every attribute value in double quotes and escape every "<" outside tags, so a
# match is a real tag, and an attribute inside it a real attribute. (Searching the whole
# text for href="…" also rewrote text and the inside of other values, and could turn an
# author's text into live attributes.)
_URL_TAG = re.compile(r'<(?:a|img|source)(?:\s+[\w:-]+="[^"]*")*\s*/?>')
_URL_ATTR = re.compile(r'(\s)(href|src)="([^"]*)"')
_SRCSET_ATTR = re.compile(r'(\s)srcset="([^"]*)"')


def absolutize(html: str, base_url: str) -> str:
    """Make every href, src and srcset URL in sanitised HTML absolute against base_url."""
    parts = urlsplit(base_url)
    origin = escape(f"{parts.scheme}://{parts.netloc}")
    escaped_base = escape(base_url)

    def one(url: str) -> str:
        # The common forms without a round trip through urljoin (most of a long post's
        # feed item time went there): absolute URLs, site paths and fragments. The text
        # is already escaped attribute text, so it is kept as it is.
        if url.startswith(("https://", "http://", "mailto:")):
            return url
        if url.startswith("/") and not url.startswith("//"):
            return origin + url
        if url.startswith("#"):
            return escaped_base + url
        return escape(urljoin(base_url, unescape(url)))

    def url(match):
        return f'{match.group(1)}{match.group(2)}="{one(match.group(3))}"'

    def srcset(match):
        candidates = []
        for candidate in unescape(match.group(2)).split(","):
            parts = candidate.strip().split(maxsplit=1)
            if parts:
                parts[0] = urljoin(base_url, parts[0])
                candidates.append(" ".join(parts))
        return f'{match.group(1)}srcset="{escape(", ".join(candidates))}"'

    def tag(match):
        return _SRCSET_ATTR.sub(srcset, _URL_ATTR.sub(url, match.group(0)))

    return _URL_TAG.sub(tag, html)


# --- one request to a feed --------------------------------------------------------------


@dataclass(frozen=True)
class FeedRequest:
    """One request to a feed: the request, the site settings, and the subject (the
    section, series or tag; None for the whole site)."""

    request: HttpRequest
    site: SiteSettings
    subject: object = None

    def url(self, path: str) -> str:
        return absolute_url(self.request, path)


# --- the three formats ------------------------------------------------------------------
# Feeds hand every generator the same plain-text descriptions; each one writes them the
# way its format reads them.


# XML 1.0 has no place for these characters, and Django's generator refuses a whole feed
# that has one: a title pasted with a stray control character took the feed down.
_NOT_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _xml_text(value):
    if isinstance(value, str):
        return _NOT_XML.sub("", value)
    if isinstance(value, list | tuple):
        return [_xml_text(part) for part in value]
    return value


class XmlTextFeed(SyndicationFeed):
    """A feed written as XML: the author's text loses the characters XML cannot carry."""

    def write(self, outfile, encoding):
        self.feed = {name: _xml_text(value) for name, value in self.feed.items()}
        self.items = [{name: _xml_text(value) for name, value in i.items()} for i in self.items]
        super().write(outfile, encoding)


class ContentRss(XmlTextFeed, Rss201rev2Feed):
    """RSS 2.0 with the full post in <content:encoded> beside the short <description>.

    RSS readers take <description> as HTML, so the plain text goes in HTML-escaped: a
    post about "the <script> element" keeps its words, and no markup reaches a reader.
    """

    # Chromium shows application/rss+xml as raw text and applies no stylesheet to it;
    # application/xml gets the CSS. Feed readers go by the content, not the type.
    content_type = "application/xml; charset=utf-8"

    def __init__(self, title, link, description, **kwargs):
        super().__init__(title, link, escape(description), **kwargs)

    def add_item(self, title, link, description, **kwargs):
        super().add_item(
            title, link, None if description is None else escape(description), **kwargs
        )

    def rss_attributes(self):
        return {
            **super().rss_attributes(),
            "xmlns:content": "http://purl.org/rss/1.0/modules/content/",
        }

    def add_item_elements(self, handler, item):
        super().add_item_elements(handler, item)
        handler.addQuickElement("content:encoded", item["content_html"])


class ContentAtom(XmlTextFeed, Atom1Feed):
    """Atom with the full post in <content type="html"> beside a plain-text <summary>."""

    def add_item_elements(self, handler, item):
        # Atom1Feed would label the summary type="html", and readers would parse it.
        super().add_item_elements(handler, {**item, "description": None})
        if item["description"]:
            handler.addQuickElement("summary", item["description"], {"type": "text"})
        handler.addQuickElement("content", item["content_html"], {"type": "html"})

    def latest_post_date(self):
        # The feed's <updated>; for a feed without entries Django uses now(), to the µs.
        return dates.to_second(super().latest_post_date())


class JsonFeed(SyndicationFeed):
    """JSON Feed 1.1, with 1.0's ``author`` beside ``authors`` for readers of 1.0."""

    content_type = "application/feed+json; charset=utf-8"

    def write(self, outfile, encoding):
        outfile.write(json.dumps(self.document(), ensure_ascii=False, indent=1))

    def document(self) -> dict:
        feed = self.feed
        data = {
            "version": "https://jsonfeed.org/version/1.1",
            "title": feed["title"],
            "home_page_url": feed["link"],
            "feed_url": feed["feed_url"],
            "description": feed["description"],
            "language": feed["language"],
            **_json_authors(feed["author_name"]),
            "items": [self.json_item(item) for item in self.items],
        }
        if feed.get("icon"):
            data["icon"] = feed["icon"]
        return data

    def json_item(self, item) -> dict:
        data = {
            "id": item["unique_id"],
            "url": item["link"],
            "title": item["title"],
            "content_html": item["content_html"],
            "summary": item["description"],  # plain text, as the spec defines it
            "date_published": dates.iso(item["pubdate"]),
            "date_modified": dates.iso(item["updateddate"]),
            **_json_authors(item["author_name"]),
            "tags": item["categories"] or [],
        }
        for enclosure in item["enclosures"][:1]:
            data["image"] = enclosure.url
            data["attachments"] = [
                {
                    "url": enclosure.url,
                    "mime_type": enclosure.mime_type,
                    "size_in_bytes": int(enclosure.length),
                }
            ]
        return data


def _json_authors(name: str | None) -> dict:
    return {"authors": [{"name": name}], "author": {"name": name}} if name else {}


# --- the feeds --------------------------------------------------------------------------


class PostFeed(Feed):
    """The whole site's posts, newest first, as RSS 2.0."""

    feed_type = ContentRss

    def __call__(self, request, *args, **kwargs):
        # The subject is looked up first: an unknown or private one is a 404. Validators
        # (ETag, Last-Modified) and Cache-Control come from the site's content version,
        # in blog.pagecache, like every reader page's.
        try:
            feed = self.get_object(request, *args, **kwargs)
        except ObjectDoesNotExist:
            raise Http404("No such feed.") from None
        # The feed exists: a reader whose copy is current needs no rendering at all.
        if pagecache.is_current(request):
            return pagecache.not_modified(request)
        return self.render(feed)

    def render(self, feed: FeedRequest) -> HttpResponse:
        generator = self.get_feed(feed, feed.request)
        response = HttpResponse(content_type=generator.content_type)
        generator.write(response, "utf-8")
        return response

    def get_object(self, request, *args, **kwargs) -> FeedRequest:
        return FeedRequest(request, chrome.get(request).settings, self.get_subject(**kwargs))

    def get_subject(self, **kwargs):
        return None

    def scope(self, subject):
        """The subject's published posts in the feed's order: the selector that the
        subject's own page lists, so the two can never disagree."""
        return selectors.latest_posts()

    def stylesheets(self, feed):
        if issubclass(self.feed_type, ContentRss):
            return [Stylesheet(static("feeds/rss.css"), mimetype="text/css")]
        return []

    def title(self, feed):
        return feed.site.title

    def description(self, feed):
        return feed.site.tagline or feed.site.title

    def subtitle(self, feed):
        return self.description(feed)

    def link(self, feed):
        subject = feed.subject
        return feed.url(subject.get_absolute_url() if subject else reverse("blog:home"))

    def feed_url(self, feed):
        return feed.url(feed.request.path)

    def author_name(self, feed):
        return feed.site.owner.display_name if feed.site.owner else None

    def feed_extra_kwargs(self, feed):
        return {"icon": feed.url(feed.site.logo.url) if feed.site.logo else None}

    def items(self, feed):
        posts = list(
            self.scope(feed.subject)
            .select_related("section", "author", "cover")
            .prefetch_related(selectors.tags(), "links")
            # An item carries the HTML; the other forms of the text are most of a row.
            .defer("body", "body_text", "toc_html", "search_vector")[: feed.site.feed_length]
        )
        for post in posts:
            # The item methods below get only the post; these objects are this request's.
            post.feed_request = feed
        return posts

    def item_title(self, post):
        return post.title

    def item_description(self, post):
        return post.summary

    def item_link(self, post):
        return post.feed_request.url(post.get_absolute_url())

    def item_guid(self, post):
        return f"urn:uuid:{post.uuid}"

    item_guid_is_permalink = False

    def item_author_name(self, post):
        return post.author.display_name

    def item_pubdate(self, post):
        return dates.to_second(post.published_at)

    def item_updateddate(self, post):
        return dates.to_second(max(post.updated_at, post.published_at))

    def item_categories(self, post):
        return [tag.name for tag in post.tag_list]

    def item_enclosures(self, post):
        enclosure = cover_enclosure(post.feed_request.request, post)
        return [Enclosure(**enclosure)] if enclosure else []

    def item_extra_kwargs(self, post):
        return {"content_html": item_html(post.feed_request.request, post)}


def cover_enclosure(request, post) -> dict | None:
    if post.cover is None:
        return None
    length = post.cover.file_size  # stored on save: no storage request per item
    if length is None:
        # An image whose file could not be read when it was saved: still unreadable?
        try:
            length = post.cover.file.size
        except storage_errors() as exc:
            logger.warning("Feed enclosure of %r left out: %s", post.cover.file.name, exc)
            return None
    mime_type = mimetypes.guess_type(post.cover.file.name)[0] or "application/octet-stream"
    return {
        "url": absolute_url(request, post.cover.file.url),
        "length": str(length),
        "mime_type": mime_type,
    }


def item_html(request, post) -> str:
    """The full post for a feed reader: cover, body and links, with absolute URLs."""
    context = {"post": post, "layout": selectors.post_layout(post)}
    html = plain_images(render_to_string("blog/feeds/item.html", context))
    return absolutize(html, absolute_url(request, post.get_absolute_url()))


class SectionFeed(PostFeed):
    def get_subject(self, section):
        return get_object_or_404(Section, slug=section)

    def scope(self, section):
        return selectors.section_posts(section)

    def title(self, feed):
        return f"{feed.subject.name} · {feed.site.title}"

    def description(self, feed):
        return feed.subject.description or self.title(feed)


class SeriesFeed(PostFeed):
    """A series in reading order, part 1 first."""

    def get_subject(self, slug):
        return get_object_or_404(selectors.public_series(), slug=slug)

    def scope(self, series):
        return selectors.series_posts(series)

    def title(self, feed):
        return f"{feed.subject.title} · {feed.site.title}"

    def description(self, feed):
        return f"The parts of “{feed.subject.title}”, in order."


class TagFeed(PostFeed):
    def get_subject(self, slug):
        # A tag only drafts carry is not public yet, nor is its name.
        return get_object_or_404(selectors.public_tags(), slug=slug)

    def scope(self, tag):
        return selectors.tag_posts(tag)

    def title(self, feed):
        return f"Posts tagged “{feed.subject.name}” · {feed.site.title}"

    def description(self, feed):
        return self.title(feed)


# One class per scope and format: the format only changes the generator.


class SiteFeed(PostFeed):
    pass


class SiteAtomFeed(PostFeed):
    feed_type = ContentAtom


class SiteJsonFeed(PostFeed):
    feed_type = JsonFeed


class SectionAtomFeed(SectionFeed):
    feed_type = ContentAtom


class SectionJsonFeed(SectionFeed):
    feed_type = JsonFeed


class SeriesAtomFeed(SeriesFeed):
    feed_type = ContentAtom


class SeriesJsonFeed(SeriesFeed):
    feed_type = JsonFeed


class TagAtomFeed(TagFeed):
    feed_type = ContentAtom


class TagJsonFeed(TagFeed):
    feed_type = JsonFeed
