from django.urls import path, register_converter

from . import feeds, views
from .converters import UnicodeSlugConverter

register_converter(UnicodeSlugConverter, "uslug")

app_name = "blog"

# Section URLs come last: a section slug can never shadow a fixed path (the admin refuses
# the slugs in models.RESERVED_SLUGS). Pages (About, …) share the section route: a slug
# no section has is a page's (views.SectionView). Every feed scope (the site, a section,
# a series, a tag) has the same three URLs under its page: feed/ (RSS), feed/atom/ and
# feed.json.
urlpatterns = [
    path("", views.HomeView.as_view(), name="home"),
    path("feed/", feeds.SiteFeed(), name="feed-rss"),
    path("feed/atom/", feeds.SiteAtomFeed(), name="feed-atom"),
    path("feed.json", feeds.SiteJsonFeed(), name="feed-json"),
    path("series/", views.SeriesListView.as_view(), name="series-list"),
    path("series/<slug:slug>/", views.SeriesView.as_view(), name="series-detail"),
    path("series/<slug:slug>/feed/", feeds.SeriesFeed(), name="series-feed-rss"),
    path("series/<slug:slug>/feed/atom/", feeds.SeriesAtomFeed(), name="series-feed-atom"),
    path("series/<slug:slug>/feed.json", feeds.SeriesJsonFeed(), name="series-feed-json"),
    path("tags/", views.TagListView.as_view(), name="tag-list"),
    path("tags/<uslug:slug>/", views.TagView.as_view(), name="tag-detail"),
    path("tags/<uslug:slug>/feed/", feeds.TagFeed(), name="tag-feed-rss"),
    path("tags/<uslug:slug>/feed/atom/", feeds.TagAtomFeed(), name="tag-feed-atom"),
    path("tags/<uslug:slug>/feed.json", feeds.TagJsonFeed(), name="tag-feed-json"),
    path("archive/", views.ArchiveView.as_view(), name="archive"),
    path("archive/<int:year>/", views.YearView.as_view(), name="archive-year"),
    path("archive/<int:year>/<int:month>/", views.MonthView.as_view(), name="archive-month"),
    path("search/", views.SearchView.as_view(), name="search"),
    path("preview/<str:token>/", views.SharedPreviewView.as_view(), name="share-preview"),
    path("<slug:section>/", views.SectionView.as_view(), name="section-detail"),
    path("<slug:section>/feed/", feeds.SectionFeed(), name="section-feed-rss"),
    path("<slug:section>/feed/atom/", feeds.SectionAtomFeed(), name="section-feed-atom"),
    path("<slug:section>/feed.json", feeds.SectionJsonFeed(), name="section-feed-json"),
    path("<slug:section>/<slug:slug>/", views.PostView.as_view(), name="post-detail"),
]
