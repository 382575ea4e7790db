"""/sitemap.xml: published posts, sections, series, tags and pages, with lastmod."""

from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.sitemaps import Sitemap
from django.db.models import Max, Q
from django.urls import reverse

from . import selectors
from .models import Page, Post, Section


class BaseSitemap(Sitemap):
    """Absolute URLs on SITE_URL when set (never contrib.sites' example.com)."""

    def get_domain(self, site=None):
        if settings.SITE_URL:
            return urlsplit(settings.SITE_URL).netloc
        return super().get_domain(site)

    def get_protocol(self, protocol=None):
        if settings.SITE_URL:
            return urlsplit(settings.SITE_URL).scheme
        return super().get_protocol(protocol)


class PostSitemap(BaseSitemap):
    changefreq = "monthly"
    priority = 0.8

    def items(self):
        # Only what a URL and a date need: 10,000 full posts with their HTML are heavy.
        return (
            Post.objects.published()
            .select_related("section")
            .only("slug", "updated_at", "section__slug")
            .order_by("-published_at")
        )

    def lastmod(self, post):
        return post.updated_at


def _last_change(path: str):
    """When the published posts reached through ``path`` last changed."""
    return Max(f"{path}__updated_at", filter=Q(**{f"{path}__in": Post.objects.published()}))


class SectionSitemap(BaseSitemap):
    changefreq = "daily"
    priority = 0.6

    def items(self):
        return Section.objects.annotate(lastmod=_last_change("posts")).order_by(
            "nav_position", "name"
        )

    def lastmod(self, section):
        return section.lastmod


class SeriesSitemap(BaseSitemap):
    changefreq = "weekly"
    priority = 0.5

    def items(self):
        return selectors.series_with_parts().annotate(lastmod=_last_change("posts"))

    def lastmod(self, series):
        return series.lastmod


class TagSitemap(BaseSitemap):
    changefreq = "weekly"
    priority = 0.3

    def items(self):
        return selectors.tags_with_counts().annotate(
            lastmod=_last_change("tagged_posts__content_object")
        )

    def lastmod(self, tag):
        return tag.lastmod


class ListPagesSitemap(BaseSitemap):
    changefreq = "daily"
    priority = 0.7

    def items(self):
        return ["blog:home", "blog:series-list", "blog:tag-list", "blog:archive"]

    def location(self, name):
        return reverse(name)

    def lastmod(self, name):
        if not hasattr(self, "_lastmod"):
            self._lastmod = selectors.last_published_change()
        return self._lastmod


class StandalonePageSitemap(BaseSitemap):
    """The author's pages (About, Now, …); ListPagesSitemap has the site's own lists."""

    changefreq = "monthly"
    priority = 0.5

    def items(self):
        return Page.objects.only("slug", "updated_at").order_by("slug")

    def lastmod(self, page):
        return page.updated_at


SITEMAPS = {
    "pages": ListPagesSitemap,
    "posts": PostSitemap,
    "sections": SectionSitemap,
    "series": SeriesSitemap,
    "tags": TagSitemap,
    "standalone-pages": StandalonePageSitemap,
}
