"""What a page tells search engines, social sites and feed readers about itself."""

import json
from dataclasses import dataclass, field

from django.conf import settings
from django.core.files.storage import default_storage
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from . import dates

RSS = "application/rss+xml"
ATOM = "application/atom+xml"
JSON_FEED = "application/feed+json"


def absolute_url(request, path: str) -> str:
    """An absolute URL on SITE_URL when it is set, else on the request's own host."""
    if not path or "://" in path:
        return path
    if settings.SITE_URL:
        return settings.SITE_URL + path
    return request.build_absolute_uri(path)


def social_image(request, site_chrome, post=None) -> dict:
    """og:image and its alt text (PageMeta's ``image``/``image_alt``): the post's cover
    card, else the site's social card; empty if there is neither."""
    if post is not None and post.cover_social and post.cover:
        name, alt = post.cover_social, post.cover.alt
    elif site_chrome.social_card:
        name, alt = site_chrome.social_card, site_chrome.social_card_alt
    else:
        return {}
    return {"image": absolute_url(request, default_storage.url(name)), "image_alt": alt}


@dataclass(frozen=True)
class FeedLink:
    title: str
    url: str
    type: str


def site_feeds(site_title: str) -> list[FeedLink]:
    return [
        FeedLink(f"{site_title} (RSS)", reverse("blog:feed-rss"), RSS),
        FeedLink(f"{site_title} (Atom)", reverse("blog:feed-atom"), ATOM),
        FeedLink(f"{site_title} (JSON Feed)", reverse("blog:feed-json"), JSON_FEED),
    ]


def scoped_feeds(title: str, name: str, **kwargs) -> list[FeedLink]:
    """The RSS, Atom and JSON feeds of a section, series or tag (URL names
    blog:<name>-rss/atom/json)."""
    return [
        FeedLink(f"{title} (RSS)", reverse(f"blog:{name}-rss", kwargs=kwargs), RSS),
        FeedLink(f"{title} (Atom)", reverse(f"blog:{name}-atom", kwargs=kwargs), ATOM),
        FeedLink(f"{title} (JSON Feed)", reverse(f"blog:{name}-json", kwargs=kwargs), JSON_FEED),
    ]


@dataclass
class PageMeta:
    title: str
    description: str
    path: str
    og_type: str = "website"
    image: str = ""
    image_alt: str = ""
    feeds: list[FeedLink] = field(default_factory=list)
    jsonld: dict | None = None
    noindex: bool = False

    def jsonld_script(self) -> SafeString:
        if not self.jsonld:
            return mark_safe("")
        # Escape the characters that could end the script element early.
        data = (
            json.dumps(self.jsonld, ensure_ascii=False)
            .replace("<", "\\u003c")
            .replace(">", "\\u003e")
            .replace("&", "\\u0026")
        )
        return format_html('<script type="application/ld+json">{}</script>', mark_safe(data))


def post_jsonld(request, post, site_title: str) -> dict:
    data = {
        "@context": "https://schema.org",
        "@type": "BlogPosting",
        "headline": post.title,
        "description": post.meta_description or post.summary,
        "url": absolute_url(request, post.get_absolute_url()),
        "mainEntityOfPage": absolute_url(request, post.get_absolute_url()),
        "datePublished": dates.iso(post.published_at) or None,
        # As in the feeds: a post edited before its scheduled date was modified when it went live.
        "dateModified": dates.iso(max(post.updated_at, post.published_at or post.updated_at)),
        "author": {"@type": "Person", "name": post.author.display_name},
        "publisher": {"@type": "Organization", "name": site_title},
        "wordCount": len(post.body_text.split()),
        "keywords": [tag.name for tag in post.tag_list],
        "articleSection": post.section.name,
    }
    if post.cover_social:
        data["image"] = absolute_url(request, default_storage.url(post.cover_social))
    if post.series_id:
        data["isPartOf"] = {
            "@type": "CreativeWorkSeries",
            "name": post.series.title,
            "url": absolute_url(request, post.series.get_absolute_url()),
        }
    return {key: value for key, value in data.items() if value not in (None, [], "")}
