"""/sitemap.xml: an index of the site's sitemaps, each split into pages.

- ``lists``: home, the series and tag indexes, the archive;
- ``sections``: each section's page; ``posts-<section>``: that section's published posts;
- ``series``, ``tags``: those with a published post; ``pages``: About, Now, …

A sitemap page reads its own items through an index, and no post row but theirs, so
its cost stays flat as the archive grows. Hence the dates: a post's or a page's is its
last edit; a list's (home, a section, series or tag page…) is when its newest post went
live, which the index that orders the list answers. The latest edit among a list's
posts would be an aggregate over all of them.
"""

from functools import cached_property
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.sitemaps import Sitemap
from django.contrib.sitemaps import views as sitemap_views
from django.core.paginator import Paginator
from django.db.models import OuterRef, Subquery
from django.urls import reverse

from . import pagecache, selectors
from .models import Page, Section
from .seo import absolute_url

# URLs per sitemap page. Measured at 100,000 long-form posts on SQLite, any page: 500
# take ~30 ms, 1,000 ~60-85 ms, 2,000 ~110-170 ms. The query is ~10 ms of it; the rest
# is Django making and rendering each URL (~55 us each), so only the page size bounds
# a page. 1,000 keeps each under 0.1 s; the index then lists ~110 pages.
PAGE_SIZE = 1000


class KeyRangePaginator(Paginator):
    """Page n holds the items whose primary key is in ((n - 1) * size, n * size].

    For items whose filter costs a lookup each (a series or tag is public if a published
    post has it): an OFFSET evaluates it for every item before the page too, this reads
    only the page's own range. A page may hold fewer items than its size (keys of
    deleted or hidden items), and an item stays on its page as others come and go.
    """

    @cached_property
    def count(self):
        # Key slots up to the highest key listed, not items: what the number of pages
        # derives from. Read down the primary key from the top; the newest item usually
        # passes the filter, so this stops at once.
        top = self.object_list.order_by("-pk").values_list("pk", flat=True).first()
        return top or 0

    def page(self, number):
        number = self.validate_number(number)
        low = (number - 1) * self.per_page
        items = self.object_list.filter(pk__gt=low, pk__lte=low + self.per_page).order_by("pk")
        return self._get_page(items, number, self)


class BaseSitemap(Sitemap):
    """Absolute URLs on SITE_URL when set (never contrib.sites' example.com).

    Instances are made for each request (``sitemaps``), so they may keep its data.
    """

    limit = PAGE_SIZE

    def __init__(self, request):
        self.request = request

    def get_domain(self, site=None):
        if settings.SITE_URL:
            return urlsplit(settings.SITE_URL).netloc
        return super().get_domain(site)

    def get_protocol(self, protocol=None):
        if settings.SITE_URL:
            return urlsplit(settings.SITE_URL).scheme
        return super().get_protocol(protocol)

    def get_latest_lastmod(self):
        """The index's date for every page of this sitemap: when what readers see last
        changed (the content version, read once a request).

        Django's default takes the latest date of every item: for a section's posts, an
        aggregate over all of them (~50 ms at 100,000 posts, and growing with them). The
        content version is never earlier than that, so a crawler misses no change.
        """
        # Seconds: the index writes ISO 8601 dates, microseconds included if any.
        return pagecache.version(self.request).changed_at.replace(microsecond=0)


def _went_live(posts):
    """When the newest of ``posts`` went live (each scope is ordered newest first)."""
    return posts.values("published_at")[:1]


class ListPagesSitemap(BaseSitemap):
    changefreq = "daily"
    priority = 0.7

    def items(self):
        return ["blog:home", "blog:series-list", "blog:tag-list", "blog:archive"]

    def location(self, name):
        return reverse(name)

    def lastmod(self, name):
        return self._newest

    @cached_property
    def _newest(self):
        return selectors.latest_posts().values_list("published_at", flat=True).first()


def _public_sections():
    """Sections with a published post, with ``lastmod``. An empty section's page says
    only that; it is left out until its first post goes live."""
    newest = Subquery(_went_live(selectors.section_posts(OuterRef("pk"))))
    return Section.objects.annotate(lastmod=newest).filter(lastmod__isnull=False)


class SectionSitemap(BaseSitemap):
    changefreq = "daily"
    priority = 0.6

    def items(self):
        return _public_sections().only("slug")

    def lastmod(self, section):
        return section.lastmod


class SectionPostsSitemap(BaseSitemap):
    """One section's published posts, newest first, as its pages list them."""

    changefreq = "monthly"
    priority = 0.8

    def __init__(self, request, section):
        super().__init__(request)
        self.section = section
        self.section_url = section.get_absolute_url()

    def items(self):
        # Read down the section's index; only the columns a URL and a date need, as a
        # long post's row is mostly its text.
        return selectors.section_posts(self.section).only("slug", "published_at", "updated_at")

    def location(self, post):
        # Post.get_absolute_url() with the section known: reverse() for each of 1,000
        # posts took ~30 ms, a third of the page. (A test holds the two equal.)
        return f"{self.section_url}{post.slug}/"

    def lastmod(self, post):
        # A scheduled post is last edited before it goes live: its page appears then.
        return max(post.published_at, post.updated_at)


class SeriesSitemap(BaseSitemap):
    changefreq = "weekly"
    priority = 0.5

    def items(self):
        return selectors.series_with_parts().only("slug")

    @property
    def paginator(self):
        return KeyRangePaginator(self.items(), self.limit)

    def lastmod(self, series):
        return series.latest_part_at


class TagSitemap(BaseSitemap):
    changefreq = "weekly"
    priority = 0.3

    def items(self):
        # No index leads from a tag to its posts by date: both the filter and the date
        # walk the date index down to the newest post with the tag. Index entries only,
        # but as many as the posts since the tag was last used.
        newest = Subquery(_went_live(selectors.tag_posts(OuterRef("pk"))))
        return selectors.public_tags().annotate(lastmod=newest).only("slug")

    @property
    def paginator(self):
        return KeyRangePaginator(self.items(), self.limit)

    def lastmod(self, tag):
        return tag.lastmod


class StandalonePageSitemap(BaseSitemap):
    """The author's pages (About, Now, …); ListPagesSitemap has the site's own lists."""

    changefreq = "monthly"
    priority = 0.5

    def items(self):
        return Page.objects.only("slug", "updated_at").order_by("slug")

    def lastmod(self, page):
        return page.updated_at


def sitemaps(request) -> dict[str, BaseSitemap]:
    """The sitemaps by name (in their URLs), in the index's order: one per section with
    published posts, so the set is read for each request."""
    found = {"lists": ListPagesSitemap(request), "sections": SectionSitemap(request)}
    for section in _public_sections().only("slug"):
        found[f"posts-{section.slug}"] = SectionPostsSitemap(request, section)
    found["series"] = SeriesSitemap(request)
    found["tags"] = TagSitemap(request)
    found["pages"] = StandalonePageSitemap(request)
    return found


def index(request):
    response = sitemap_views.index(request, sitemaps(request), sitemap_url_name="sitemap-section")
    # Django writes the request's host into the index; the sitemaps' own URLs are on
    # SITE_URL when it is set, and so are these (the response is rendered later).
    for item in response.context_data["sitemaps"]:
        path = urlsplit(item.location)._replace(scheme="", netloc="").geturl()
        item.location = absolute_url(request, path)
    return response


def sitemap(request, section):
    # ``section`` is Django's word for a sitemap's name: "tags", "posts-bytes", …
    return sitemap_views.sitemap(request, sitemaps(request), section=section)
