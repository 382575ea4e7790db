"""Reader pages. Every list and lookup starts from ``Post.objects.published()``."""

from django.shortcuts import get_object_or_404
from django.views.generic import DetailView, ListView

from .models import Post, Section, Series, SiteSettings, Tag


class PublishedPostsMixin:
    """Published posts only, with what list templates show fetched in bulk."""

    def get_queryset(self):
        return Post.objects.published().select_related("section", "author", "series")

    def get_paginate_by(self, queryset):
        return SiteSettings.load().posts_per_page


class HomeView(PublishedPostsMixin, ListView):
    template_name = "blog/home.html"
    context_object_name = "posts"


class SectionDetailView(PublishedPostsMixin, ListView):
    template_name = "blog/section_detail.html"
    context_object_name = "posts"

    def get_queryset(self):
        self.section = get_object_or_404(Section, slug=self.kwargs["section"])
        return super().get_queryset().filter(section=self.section)

    def get_context_data(self, **kwargs):
        return super().get_context_data(section=self.section, **kwargs)


class SeriesDetailView(PublishedPostsMixin, ListView):
    template_name = "blog/series_detail.html"
    context_object_name = "posts"
    paginate_by = None

    def get_paginate_by(self, queryset):
        return None

    def get_queryset(self):
        self.series = get_object_or_404(Series, slug=self.kwargs["slug"])
        return super().get_queryset().filter(series=self.series).order_by("series_position")

    def get_context_data(self, **kwargs):
        return super().get_context_data(series=self.series, **kwargs)


class TagDetailView(PublishedPostsMixin, ListView):
    template_name = "blog/tag_detail.html"
    context_object_name = "posts"

    def get_queryset(self):
        self.tag = get_object_or_404(Tag, slug=self.kwargs["slug"])
        return super().get_queryset().filter(tags=self.tag)

    def get_context_data(self, **kwargs):
        return super().get_context_data(tag=self.tag, **kwargs)


class PostDetailView(PublishedPostsMixin, DetailView):
    template_name = "blog/post_detail.html"
    context_object_name = "post"

    def get_queryset(self):
        return (
            super()
            .get_queryset()
            .filter(section__slug=self.kwargs["section"])
            .prefetch_related("tags", "links")
        )
