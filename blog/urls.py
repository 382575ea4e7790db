from django.urls import path, register_converter

from . import views
from .converters import UnicodeSlugConverter

register_converter(UnicodeSlugConverter, "uslug")

app_name = "blog"

# Section URLs are matched last: a section slug can never shadow a fixed path (see
# models.RESERVED_SLUGS).
urlpatterns = [
    path("", views.HomeView.as_view(), name="home"),
    path("series/<slug:slug>/", views.SeriesDetailView.as_view(), name="series-detail"),
    path("tags/<uslug:slug>/", views.TagDetailView.as_view(), name="tag-detail"),
    path("<slug:section>/", views.SectionDetailView.as_view(), name="section-detail"),
    path("<slug:section>/<slug:slug>/", views.PostDetailView.as_view(), name="post-detail"),
]
