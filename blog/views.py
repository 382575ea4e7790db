"""Reader pages: thin generic views over ``blog.selectors``.

Every list and lookup starts from ``Post.objects.published()``; the one exception is the
post page, which lets staff preview drafts and scheduled posts (marked as such, never
cached, never indexed).
"""

from datetime import date

from django.conf import settings
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.utils.formats import date_format
from django.views.generic import (
    ArchiveIndexView,
    DetailView,
    ListView,
    MonthArchiveView,
    TemplateView,
    YearArchiveView,
)

from . import chrome, selectors, sharing
from .markdown import is_safe_url
from .models import Page, Post, Section
from .pagination import ForwardPaginator
from .search import search_posts
from .seo import PageMeta, absolute_url, post_jsonld, scoped_feeds, site_feeds, social_image


class PageMixin:
    """Published posts for lists, pagination from the site settings, and page metadata."""

    date_field = "published_at"
    allow_future = False
    allow_empty = True
    month_format = "%m"
    page_title = ""
    page_description = ""

    def get_queryset(self):
        # The archives' posts. The date views also look up the next and previous month
        # in it, reading one post's date, so only the posts they list are made cards
        # (with their tags, which would cost those lookups a query each).
        return selectors.latest_posts().defer(*selectors.TEXT_FIELDS)

    def get_dated_queryset(self, **lookup):
        return selectors.as_cards(super().get_dated_queryset(**lookup))

    def get_paginate_by(self, queryset):
        return chrome.get(self.request).settings.posts_per_page

    def get_paginator(self, queryset, per_page, **kwargs):
        if queryset.model is Post:
            rows = selectors.cards_by_key
        else:  # series: a few dozen rows, each read with its figures

            def rows(keys):
                return queryset.order_by().filter(pk__in=keys)

        return ForwardPaginator(queryset, per_page, rows=rows, **kwargs)

    def paginate_queryset(self, queryset, page_size):
        # Only plain positive numbers are pages; "last", "0" or "abc" are not found.
        page = self.request.GET.get(self.page_kwarg)
        if page is not None and not page.isdigit():
            raise Http404("No such page.")
        return super().paginate_queryset(queryset, page_size)

    def get_meta(self) -> PageMeta:
        site_chrome = chrome.get(self.request)
        site = site_chrome.settings
        title = f"{self.page_title} · {site.title}" if self.page_title else site.title
        return PageMeta(
            title=title,
            description=self.page_description or site.tagline,
            path=self.request.path,
            feeds=site_feeds(site.title) + self.get_scoped_feeds(),
            **social_image(self.request, site_chrome),
        )

    def get_scoped_feeds(self):
        return []

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        meta = self.get_meta()
        page = context.get("page_obj")
        if page is not None and page.number > 1:
            meta.title = f"{meta.title} (page {page.number})"
            meta.path = f"{meta.path}?page={page.number}"
        context["meta"] = meta
        context["canonical_url"] = absolute_url(self.request, meta.path)
        return context


class HomeView(PageMixin, TemplateView):
    template_name = "blog/home.html"

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            sections=selectors.latest_by_section(chrome.get(self.request).sections),
            current_series=selectors.current_series(),
        )


class SectionView(PageMixin, ListView):
    template_name = "blog/section_detail.html"
    context_object_name = "posts"

    def dispatch(self, request, *args, **kwargs):
        # /<slug>/ is shared with pages: a section wins, else a page, else 404 (the admins
        # keep the two apart). The chrome holds every section, so this costs no query.
        slug = kwargs["section"]
        if not any(section.slug == slug for section in chrome.get(request).sections):
            return PageView.as_view()(request, slug=slug)
        return super().dispatch(request, *args, **kwargs)

    def get_queryset(self):
        self.section = get_object_or_404(Section, slug=self.kwargs["section"])
        self.page_title = self.section.name
        self.page_description = self.section.description
        return selectors.as_cards(selectors.section_posts(self.section))

    def get_scoped_feeds(self):
        return scoped_feeds(self.section.name, "section-feed", section=self.section.slug)

    def get_context_data(self, **kwargs):
        return super().get_context_data(section=self.section, **kwargs)


class SeriesListView(PageMixin, ListView):
    template_name = "blog/series_list.html"
    context_object_name = "series_list"
    page_title = "Series"
    page_description = "Posts that belong together, in order."

    def get_queryset(self):
        return selectors.series_with_parts()


class SeriesView(PageMixin, ListView):
    template_name = "blog/series_detail.html"
    context_object_name = "posts"

    def get_paginate_by(self, queryset):
        return None  # a series is read whole, in order

    def get_queryset(self):
        self.series = get_object_or_404(selectors.public_series(), slug=self.kwargs["slug"])
        self.page_title = self.series.title
        return selectors.as_cards(selectors.series_posts(self.series))

    def get_scoped_feeds(self):
        return scoped_feeds(self.series.title, "series-feed", slug=self.series.slug)

    def get_context_data(self, **kwargs):
        return super().get_context_data(series=self.series, **kwargs)


class TagListView(PageMixin, ListView):
    template_name = "blog/tag_list.html"
    context_object_name = "tags"
    page_title = "Tags"
    page_description = "Every topic, with the number of posts about it."

    def get_paginate_by(self, queryset):
        return None

    def get_queryset(self):
        return selectors.tags_with_counts()


class TagView(PageMixin, ListView):
    template_name = "blog/tag_detail.html"
    context_object_name = "posts"

    def get_queryset(self):
        self.tag = get_object_or_404(selectors.public_tags(), slug=self.kwargs["slug"])
        self.page_title = f"Posts tagged “{self.tag.name}”"
        return selectors.as_cards(selectors.tag_posts(self.tag))

    def get_scoped_feeds(self):
        return scoped_feeds(f"Tag: {self.tag.name}", "tag-feed", slug=self.tag.slug)

    def get_context_data(self, **kwargs):
        return super().get_context_data(tag=self.tag, **kwargs)


class ArchiveView(PageMixin, ArchiveIndexView):
    template_name = "blog/archive.html"
    context_object_name = "posts"
    page_title = "Archive"
    date_list_period = "year"


class YearView(PageMixin, YearArchiveView):
    template_name = "blog/archive_year.html"
    context_object_name = "posts"
    make_object_list = True
    allow_empty = False  # a year without posts is not a page

    def get_meta(self):
        self.page_title = f"Posts from {self.get_year()}"
        return super().get_meta()


class MonthView(PageMixin, MonthArchiveView):
    template_name = "blog/archive_month.html"
    context_object_name = "posts"
    allow_empty = False

    def get_meta(self):
        # get() has already turned a month that does not exist into a 404.
        month = date(int(self.get_year()), int(self.get_month()), 1)
        self.page_title = f"Posts from {date_format(month, 'YEAR_MONTH_FORMAT')}"
        return super().get_meta()


class SearchView(PageMixin, TemplateView):
    template_name = "blog/search.html"
    page_title = "Search"

    def get_context_data(self, **kwargs):
        raw = self.request.GET.get("q")
        results = search_posts(raw) if raw is not None else None
        context = super().get_context_data(results=results, **kwargs)
        context["meta"].noindex = True
        if results and results.query:
            context["meta"].title = f"“{results.query}” · {context['meta'].title}"
        return context


class PostView(DetailView):
    template_name = "blog/post_detail.html"
    context_object_name = "post"

    def get_queryset(self):
        # Staff may preview drafts and scheduled posts; everyone else sees published ones.
        posts = Post.objects.all() if self.request.user.is_staff else Post.objects.published()
        return (
            posts.filter(section__slug=self.kwargs["section"])
            .select_related("section", "author", "series", "cover")
            .prefetch_related(selectors.tags(), "links")
        )

    def get_context_data(self, **kwargs):
        post = self.object
        site = chrome.get(self.request)
        older, newer = selectors.section_neighbours(post)
        if post.author_id == site.settings.owner_id:
            author_links = site.owner_links
        else:
            author_links = list(post.author.links.all())
        meta = PageMeta(
            title=f"{post.title} · {site.settings.title}",
            description=post.meta_description or post.summary,
            path=post.get_absolute_url(),
            og_type="article",
            **social_image(self.request, site, post),
            feeds=site_feeds(site.settings.title)
            + scoped_feeds(post.section.name, "section-feed", section=post.section.slug),
            jsonld=post_jsonld(self.request, post, site.settings.title),
            noindex=post.visibility != "published",
        )
        return super().get_context_data(
            meta=meta,
            # An unsafe canonical URL (written through the ORM or an import) is no URL.
            canonical_url=(post.canonical_url if is_safe_url(post.canonical_url) else "")
            or absolute_url(self.request, meta.path),
            series_nav=selectors.series_navigation(post),
            older=older,
            newer=newer,
            author_links=author_links,
            layout=selectors.post_layout(post),
            related_posts=selectors.related_posts(post),
            **kwargs,
        )

    def render_to_response(self, context, **response_kwargs):
        response = super().render_to_response(context, **response_kwargs)
        if self.object.visibility != "published":
            patch_cache_control(response, private=True, no_store=True)
        return response


def robots_txt(request):
    """Crawlers keep out of the admin and search. An admin moved to an address of the
    operator's choosing (BYTEPRESS_ADMIN_PATH) is not named: this file is public."""
    sitemap = absolute_url(request, reverse("sitemap"))
    lines = ["User-agent: *", "Disallow: /search/", f"Sitemap: {sitemap}"]
    if settings.BYTEPRESS_ADMIN_PATH == "admin/":
        lines.insert(1, "Disallow: /admin/")
    return HttpResponse("\n".join(lines) + "\n", content_type="text/plain; charset=utf-8")


class SharedPreviewView(PostView):
    """A draft or scheduled post for anyone who holds a share link (blog.sharing).

    Marked as a shared preview, never cached, never indexed (as PostView does for every
    post that is not public). A published post redirects to its address. A token that is
    bad, expired or revoked, or names a deleted post, is a 404 that says no more.
    """

    def get_queryset(self):
        # PostView's query without its section and staff rules: the token is the key.
        return Post.objects.select_related("section", "author", "series", "cover").prefetch_related(
            selectors.tags(), "links"
        )

    def get_object(self, queryset=None):
        self.share = sharing.read_token(self.kwargs["token"])
        if self.share is None:
            raise Http404("No such post.")
        return get_object_or_404(
            self.get_queryset(), uuid=self.share.post_uuid, share_key=self.share.share_key
        )

    def get(self, request, *args, **kwargs):
        self.object = self.get_object()
        if self.object.visibility == "published":
            return redirect(self.object)
        return self.render_to_response(self.get_context_data(object=self.object))

    def get_context_data(self, **kwargs):
        return super().get_context_data(share_expires_at=self.share.expires_at, **kwargs)


class PageView(PageMixin, DetailView):
    """A page (About, Now, …); reached through SectionView, whose route it shares."""

    template_name = "blog/page_detail.html"
    context_object_name = "page"

    def get_queryset(self):
        return Page.objects.all()

    def get_meta(self):
        self.page_title = self.object.title
        self.page_description = self.object.description
        return super().get_meta()
