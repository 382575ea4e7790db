"""RSS 2.0, Atom and JSON Feed for the site, each section, each series and each tag.

One base class does the work; the scoped feeds only say which posts and what title.
Every feed answers conditional GETs (ETag and Last-Modified computed with one aggregate
query, without rendering the feed), carries full HTML with absolute URLs, and uses the
post's UUID as its id, so a changed slug never re-announces a post.
"""

import hashlib
import mimetypes
import re
from html import unescape
from urllib.parse import urljoin

from django.contrib.syndication.views import Feed
from django.db.models import Count, Max, Q
from django.http import JsonResponse
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.utils.feedgenerator import Atom1Feed, Enclosure, Rss201rev2Feed
from django.utils.html import escape
from django.views.decorators.http import condition

from . import chrome, selectors
from .figures import plain_images
from .models import Post, Section, Series
from .seo import absolute_url

CACHE_SECONDS = 300
_URL_ATTR = re.compile(r'\b(href|src)="([^"]*)"')
_SRCSET_ATTR = re.compile(r'\bsrcset="([^"]*)"')


def absolutize(html: str, base_url: str) -> str:
    """Make every href, src and srcset URL in sanitised HTML absolute against base_url."""

    def one(url: str) -> str:
        return escape(urljoin(base_url, unescape(url)))

    def srcset(match):
        candidates = []
        for candidate in unescape(match.group(1)).split(","):
            parts = candidate.strip().split(maxsplit=1)
            if parts:
                parts[0] = urljoin(base_url, parts[0])
                candidates.append(" ".join(parts))
        return f'srcset="{escape(", ".join(candidates))}"'

    html = _URL_ATTR.sub(lambda m: f'{m.group(1)}="{one(m.group(2))}"', html)
    return _SRCSET_ATTR.sub(srcset, html)


# --- what changes a feed ----------------------------------------------------------------


def feed_state(request, posts) -> dict:
    """The validators of a feed over ``posts``, from one aggregate query.

    Last-Modified is the latest of: an edit to a post that has gone live (published, or
    published once and since unpublished: taking it down changes the feed) and a
    publication date that has arrived (a scheduled post going live changes the feed
    without an edit). Edits to drafts that never went live do not count. The ETag adds
    the number of published posts (a deleted post changes it) and the site settings the
    feed shows.
    """
    cached = getattr(request, "_bytepress_feed_state", None)
    if cached is not None:
        return cached
    published = Q(pk__in=Post.objects.published())
    state = posts.aggregate(
        edited=Max("updated_at", filter=Q(published_at__lte=timezone.now())),
        went_live=Max("published_at", filter=published),
        count=Count("pk", filter=published),
    )
    moments = [m for m in (state["edited"], state["went_live"]) if m is not None]
    site = chrome.get(request).settings
    fingerprint = "|".join(
        [
            request.path,
            *(m.isoformat() for m in moments),
            str(state["count"]),
            site.title,
            site.tagline,
            str(site.feed_length),
            str(site.owner_id),
        ]
    )
    result = {
        "last_modified": max(moments) if moments else None,
        "etag": hashlib.sha256(fingerprint.encode()).hexdigest()[:32],
    }
    request._bytepress_feed_state = result
    return result


def conditional(scope):
    """Conditional GET for a feed view whose posts are ``scope(request, **kwargs)``."""

    def etag(request, *args, **kwargs):
        return feed_state(request, scope(request, **kwargs))["etag"]

    def last_modified(request, *args, **kwargs):
        return feed_state(request, scope(request, **kwargs))["last_modified"]

    def decorator(view):
        conditional_view = condition(etag_func=etag, last_modified_func=last_modified)(view)

        def wrapped(request, *args, **kwargs):
            response = conditional_view(request, *args, **kwargs)
            if response.status_code in (200, 304):
                patch_cache_control(response, public=True, max_age=CACHE_SECONDS)
            return response

        return wrapped

    return decorator


# --- RSS and Atom -----------------------------------------------------------------------


class ContentRss(Rss201rev2Feed):
    """RSS 2.0 with the full post in <content:encoded> beside the short <description>."""

    def rss_attributes(self):
        return {
            **super().rss_attributes(),
            "xmlns:content": "http://purl.org/rss/1.0/modules/content/",
        }

    def add_item_elements(self, handler, item):
        super().add_item_elements(handler, item)
        handler.addQuickElement("content:encoded", item["content_html"])


class ContentAtom(Atom1Feed):
    """Atom with the full post in <content type="html"> beside the <summary>."""

    def add_item_elements(self, handler, item):
        super().add_item_elements(handler, item)
        handler.addQuickElement("content", item["content_html"], {"type": "html"})


def _scope_site(request, **kwargs):
    return Post.objects.all()


def _scope_section(request, section):
    return Post.objects.filter(section__slug=section)


def _scope_series(request, slug):
    return Post.objects.filter(series__slug=slug)


def _scope_tag(request, slug):
    return Post.objects.filter(tags__slug=slug)


class PostFeed(Feed):
    """The whole site's posts, newest first, as RSS 2.0."""

    feed_type = ContentRss
    scope = staticmethod(_scope_site)

    def __call__(self, request, *args, **kwargs):
        view = conditional(self.scope)(super().__call__)
        return view(request, *args, **kwargs)

    def get_object(self, request, *args, **kwargs):
        self.request = request
        self.site = chrome.get(request).settings
        return None

    def stylesheets(self, obj):
        return [static("feeds/rss.xsl")] if self.feed_type is ContentRss else []

    def title(self, obj):
        return self.site.title

    def description(self, obj):
        return self.site.tagline or self.site.title

    def subtitle(self, obj):
        return self.description(obj)

    def page_path(self, obj):
        return reverse("blog:home")

    def link(self, obj):
        return absolute_url(self.request, self.page_path(obj))

    def feed_url(self, obj):
        return absolute_url(self.request, self.request.path)

    def author_name(self, obj):
        return self.site.owner.display_name if self.site.owner else None

    def posts(self, obj):
        return Post.objects.published().order_by("-published_at", "-pk")

    def items(self, obj):
        return (
            self.posts(obj)
            .select_related("section", "author", "cover")
            .prefetch_related("tags", "links")[: self.site.feed_length]
        )

    def item_title(self, post):
        return post.title

    def item_description(self, post):
        return post.summary

    def item_link(self, post):
        return absolute_url(self.request, post.get_absolute_url())

    def item_guid(self, post):
        return f"urn:uuid:{post.uuid}"

    item_guid_is_permalink = False

    def item_author_name(self, post):
        return post.author.display_name

    def item_pubdate(self, post):
        return post.published_at

    def item_updateddate(self, post):
        return max(post.updated_at, post.published_at)

    def item_categories(self, post):
        return [tag.name for tag in post.tags.all()]

    def item_enclosures(self, post):
        enclosure = cover_enclosure(self.request, post)
        return [Enclosure(**enclosure)] if enclosure else []

    def item_extra_kwargs(self, post):
        return {"content_html": item_html(self.request, post)}


def cover_enclosure(request, post) -> dict | None:
    if post.cover is None:
        return None
    try:
        length = post.cover.file.size
    except OSError:  # the file is missing from storage: leave the enclosure out
        return None
    mime_type = mimetypes.guess_type(post.cover.file.name)[0] or "application/octet-stream"
    return {
        "url": absolute_url(request, post.cover.file.url),
        "length": str(length),
        "mime_type": mime_type,
    }


def item_html(request, post) -> str:
    """The full post for a feed reader: cover, body and links, with absolute URLs."""
    context = {"post": post, "link_groups": selectors.group_links(post.links.all())}
    html = plain_images(render_to_string("blog/feeds/item.html", context))
    return absolutize(html, absolute_url(request, post.get_absolute_url()))


class SiteFeed(PostFeed):
    pass


class SiteAtomFeed(PostFeed):
    feed_type = ContentAtom


class SectionFeed(PostFeed):
    scope = staticmethod(_scope_section)

    def get_object(self, request, section):
        super().get_object(request)
        return get_object_or_404(Section, slug=section)

    def title(self, section):
        return f"{section.name} · {self.site.title}"

    def description(self, section):
        return section.description or self.title(section)

    def page_path(self, section):
        return section.get_absolute_url()

    def posts(self, section):
        return super().posts(section).filter(section=section)


class SectionAtomFeed(SectionFeed):
    feed_type = ContentAtom


class SeriesFeed(PostFeed):
    """A series in reading order, part 1 first."""

    scope = staticmethod(_scope_series)

    def get_object(self, request, slug):
        super().get_object(request)
        return get_object_or_404(Series, slug=slug)

    def title(self, series):
        return f"{series.title} · {self.site.title}"

    def description(self, series):
        return f"The parts of “{series.title}”, in order."

    def page_path(self, series):
        return series.get_absolute_url()

    def posts(self, series):
        return Post.objects.published().filter(series=series).order_by("series_position")


class SeriesAtomFeed(SeriesFeed):
    feed_type = ContentAtom


class TagFeed(PostFeed):
    scope = staticmethod(_scope_tag)

    def get_object(self, request, slug):
        super().get_object(request)
        # A tag only drafts carry is not public yet, nor is its name.
        return get_object_or_404(selectors.tags_with_counts(), slug=slug)

    def title(self, tag):
        return f"Posts tagged “{tag.name}” · {self.site.title}"

    def description(self, tag):
        return self.title(tag)

    def page_path(self, tag):
        return tag.get_absolute_url()

    def posts(self, tag):
        return super().posts(tag).filter(tags=tag)


class TagAtomFeed(TagFeed):
    feed_type = ContentAtom


# --- JSON Feed 1.1 ----------------------------------------------------------------------


@conditional(_scope_site)
def site_json_feed(request):
    feed = SiteFeed()
    feed.get_object(request)
    site = feed.site
    posts = feed.items(None)
    data = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": site.title,
        "home_page_url": feed.link(None),
        "feed_url": feed.feed_url(None),
        "description": feed.description(None),
        "language": "en",
        "items": [_json_item(request, post) for post in posts],
    }
    if site.owner:
        data["authors"] = [{"name": site.owner.display_name}]
    if site.logo:
        data["icon"] = absolute_url(request, site.logo.url)
    response = JsonResponse(data, json_dumps_params={"ensure_ascii": False, "indent": 1})
    response["Content-Type"] = "application/feed+json; charset=utf-8"
    return response


def _json_item(request, post) -> dict:
    item = {
        "id": f"urn:uuid:{post.uuid}",
        "url": absolute_url(request, post.get_absolute_url()),
        "title": post.title,
        "content_html": item_html(request, post),
        "summary": post.summary,
        "date_published": post.published_at.isoformat(),
        "date_modified": max(post.updated_at, post.published_at).isoformat(),
        "authors": [{"name": post.author.display_name}],
        "tags": [tag.name for tag in post.tags.all()],
    }
    enclosure = cover_enclosure(request, post)
    if enclosure:
        item["image"] = enclosure["url"]
        item["attachments"] = [
            {
                "url": enclosure["url"],
                "mime_type": enclosure["mime_type"],
                "size_in_bytes": int(enclosure["length"]),
            }
        ]
    return item
