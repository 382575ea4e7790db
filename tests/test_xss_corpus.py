"""Every hostile input of tests/data/xss.json in every field an author controls, and what
the site then stores and serves.

The inputs are written through the ORM and the services, past the forms' validation, as
an import would write them; every page, feed, admin page and preview that shows them is
then parsed (html5lib: the parsing algorithm browsers use) and must carry no event
handler, no dangerous URL, no script but the site's own and nothing that loads another
document. tests/test_browser_xss.py runs the same inputs in Chromium.

A batch of inputs makes one small site: each object k of a batch holds input k + n in its
n-th field, so that across the batch every field holds every input once.
"""

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import html5lib
import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from lxml import etree
from lxml import html as lxml_html

from blog import services
from blog.markdown import ID_PREFIX, render_markdown
from blog.models import (
    AuthorProfile,
    Image,
    Link,
    Page,
    Post,
    ProfileLink,
    Rendition,
    Section,
    Series,
    SiteSettings,
    Tag,
)
from blog.templatetags.bytepress import safe_url

from .conftest import image_bytes

CORPUS = Path(__file__).parent / "data" / "xss.json"


def load_corpus() -> dict[str, list[str]]:
    return json.loads(CORPUS.read_text(encoding="utf-8"))["categories"]


CATEGORIES = load_corpus()
PAYLOADS = [payload for inputs in CATEGORIES.values() for payload in inputs]
BATCH_SIZE = 52
BATCHES = [PAYLOADS[i : i + BATCH_SIZE] for i in range(0, len(PAYLOADS), BATCH_SIZE)]


# --- what must never be served ----------------------------------------------------------

C0_AND_SPACE = "".join(map(chr, range(0x21)))
SAFE_SCHEMES = {"", "http", "https", "mailto"}
# Attributes whose value a browser follows or loads as a URL (local names: an SVG
# xlink:href is checked as href).
URL_ATTRIBUTES = {
    "href", "src", "action", "formaction", "cite", "data", "poster", "background", "ping",
    "codebase", "longdesc", "lowsrc", "dynsrc", "manifest", "icon", "to", "from", "values",
    "xlink:href",
}  # fmt: skip
# Never in anything the site serves: they run script, load another document, or make the
# parser read what follows in another mode (the ground of mutation XSS).
NEVER_SERVED = {
    "iframe", "frame", "frameset", "object", "embed", "applet", "base", "portal", "svg",
    "math", "template", "xmp", "plaintext", "noembed", "noframes", "isindex", "video",
    "audio", "area", "map", "marquee", "noscript", "style", "param", "bgsound", "listing",
}  # fmt: skip
# The page's own structure and forms: never in content (stored or feed HTML).
NOT_IN_CONTENT = {
    "script", "meta", "link", "form", "input", "button", "textarea", "select", "option",
    "title", "head", "body", "html", "label", "dialog",
}  # fmt: skip


def browser_scheme(url: str) -> str:
    """The scheme a browser reads in an attribute's value (the parser has decoded its
    entities): C0 controls and spaces around it and tabs and newlines in it are ignored,
    as by the WHATWG URL parser; "" for a relative URL."""
    cleaned = re.sub(r"[\t\n\r]", "", url.strip(C0_AND_SPACE))
    scheme, colon, _ = cleaned.partition(":")
    if colon and re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*", scheme):
        return scheme.lower()
    return ""


def is_dangerous_url(url: str) -> bool:
    return browser_scheme(url) not in SAFE_SCHEMES


def parse_fragment(html: str):
    """An HTML fragment as a browser parses it (html5lib implements the WHATWG algorithm)."""
    return html5lib.parseFragment(html, treebuilder="etree", namespaceHTMLElements=False)


def parse_page(html: str):
    """A whole page, parsed by libxml2: some fifty times faster than html5lib, and what
    a page adds around the stored HTML (checked with html5lib) is Django's escaped
    output, which every parser reads alike."""
    return lxml_html.document_fromstring(html)


def local_name(name: str) -> str:
    return name.rsplit("}", 1)[-1].lower()


def elements(root):
    """The elements under root (comments and the fragment's own root left out)."""
    return [e for e in root.iter() if e is not root and isinstance(e.tag, str)]


def urls_in(attribute: str, value: str) -> list[str]:
    if attribute in URL_ATTRIBUTES:
        return [value]
    if attribute in {"srcset", "imagesrcset"}:
        return [candidate.split()[0] for candidate in value.split(",") if candidate.split()]
    return []


def element_problems(element) -> list[str]:
    tag = local_name(element.tag)
    problems = [f"<{tag}> element"] if tag in NEVER_SERVED else []
    for name, value in element.attrib.items():
        attr = local_name(name)
        if attr.startswith("on"):
            problems.append(f"<{tag} {name}={value!r}>: an event handler")
        elif any(map(is_dangerous_url, urls_in(attr, value))):
            problems.append(f"<{tag} {name}={value!r}>: a dangerous URL")
        elif attr in {"srcdoc", "http-equiv"}:
            problems.append(f"<{tag} {name}={value!r}>")
        elif attr == "style" and re.search(r"javascript:|expression\(|url\(", value, re.I):
            problems.append(f"<{tag} style={value!r}>")
    return problems


def fragment_problems(root) -> list[str]:
    """What must never be in stored HTML or in a feed's HTML."""
    problems = []
    for element in elements(root):
        problems += element_problems(element)
        if local_name(element.tag) in NOT_IN_CONTENT:
            problems.append(f"<{local_name(element.tag)}> in content")
    return problems


# The admin's own icons: Django's theme toggle and the sprite they use.
ADMIN_SVG_CLASSES = {
    "theme-icon-when-auto", "theme-icon-when-dark", "theme-icon-when-light", "base-svgs",
}  # fmt: skip


def is_own_script(element) -> bool:
    """A script of the site: a static file (or the admin's translations), or a JSON data
    block (JSON-LD, the admin's json_script) whose whole text is JSON, so that nothing
    broke out of it."""
    if element.get("src") is not None:
        src = element.get("src")
        own = src.startswith(settings.STATIC_URL) or src == reverse("admin:jsi18n")
        return own and not (element.text or "").strip()
    if element.get("type") not in {"application/ld+json", "application/json"}:
        return False
    try:
        json.loads(element.text or "")
    except ValueError:
        return False
    return True


def page_problems(root, *, reader: bool = True) -> list[str]:
    """What must never be in a served page: the element rules, scripts other than the
    site's own and, on reader pages, a page id taken twice or a fake preview banner."""
    problems = []
    found = elements(root)
    for element in found:
        if not reader and element.get("class") in ADMIN_SVG_CLASSES:
            continue  # its children are checked as any others
        problems += element_problems(element)
        if local_name(element.tag) == "script" and not is_own_script(element):
            attributes = dict(element.attrib)
            problems.append(f"a script not the site's: {attributes} {(element.text or '')[:200]!r}")
    if reader:
        own_ids = Counter(
            e.get("id") for e in found if e.get("id") and not e.get("id").startswith(ID_PREFIX)
        )
        problems += [f"id {name!r} taken {n} times" for name, n in own_ids.items() if n > 1]
        banners = [e for e in found if "preview-banner" in (e.get("class") or "").split()]
        problems += ["a preview banner on a public page"] if banners else []
    return problems


def assert_page_is_clean(response, *, reader: bool = True):
    assert response.status_code == 200, (response.request["PATH_INFO"], response.status_code)
    problems = page_problems(parse_page(response.content.decode()), reader=reader)
    assert problems == [], (response.request["PATH_INFO"], problems)


def assert_fragment_is_clean(html: str, where: str):
    problems = fragment_problems(parse_fragment(html))
    assert problems == [], (where, problems)


# --- a small site made of one batch of inputs --------------------------------------------

# Field n of object k holds input k + n (see the module's docstring).
FIELDS = [
    "post.title", "post.subtitle", "post.slug", "post.excerpt", "post.meta_description",
    "post.canonical_url", "post.body", "link.title", "link.url", "link.commentary",
    "link.group", "series.title", "series.description", "section.name",
    "section.description", "tag.name", "page.title", "page.body", "image.alt",
    "image.caption", "image.credit", "body.image_alt", "body.image_caption",
    "profile.label", "profile.url",
]  # fmt: skip
SLUG = re.compile(r"[-a-zA-Z0-9_]+")


def stored(model, name: str, text: str) -> str:
    """What an import could store in a field: PostgreSQL (like Django's forms) refuses
    NUL, which becomes U+FFFD; the text is cut to the column's length."""
    text = text.replace("\x00", "\ufffd")
    max_length = model._meta.get_field(name).max_length
    return text[:max_length] if max_length else text


@dataclass
class Site:
    inputs: list[str]
    profile: AuthorProfile
    posts: list[Post] = field(default_factory=list)
    pages: list[Page] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)
    series: list[Series] = field(default_factory=list)
    tags: list[Tag] = field(default_factory=list)
    images: list[Image] = field(default_factory=list)

    def pick(self, k: int, name: str) -> str:
        return self.inputs[(k + FIELDS.index(name)) % len(self.inputs)]


def shared_image_file() -> tuple[str, int]:
    """One small PNG in storage, which every library image of the site points at."""
    data = image_bytes()
    return default_storage.save("images/xss.png", ContentFile(data)), len(data)


def make_site_settings(profile: AuthorProfile, file_name: str, size: int) -> SiteSettings:
    # A social image with its card, so that no title card is drawn for each site title.
    social = Image.objects.create(file=file_name, width=64, height=48, file_size=size, alt="x")
    Rendition.objects.create(
        image=social, kind="social", format="png", width=1200, height=630, file=file_name, size=size
    )
    site = SiteSettings.load()
    site.owner, site.social_image, site.logo = profile, social, file_name
    site.posts_per_page, site.feed_length = 100, 200
    site.save()
    return site


def unique_tag_name(text: str, k: int, taken: set) -> str:
    name = stored(Tag, "name", text)
    if name.lower() in taken:  # names are unique regardless of case
        name = stored(Tag, "name", f"{k} {text}")
    taken.add(name.lower())
    return name


def build_site(inputs: list[str], user) -> Site:
    """One object of each kind per input, all published and public, with the inputs
    spread over their fields; the site's owner has one profile link per input."""
    profile = AuthorProfile.objects.create(user=user, display_name="Corpus Author")
    site = Site(inputs, profile)
    file_name, size = shared_image_file()
    make_site_settings(profile, file_name, size)
    tag_names: set[str] = set()
    now = timezone.now()
    for k in range(len(inputs)):
        ProfileLink.objects.create(
            profile=profile,
            label=stored(ProfileLink, "label", site.pick(k, "profile.label")),
            url=stored(ProfileLink, "url", site.pick(k, "profile.url")),
            position=k,
        )
        section = Section(
            name=stored(Section, "name", site.pick(k, "section.name")),
            slug=f"xss-{k}",
            description=stored(Section, "description", site.pick(k, "section.description")),
            nav_position=k,
        )
        services.save_section(section)
        series = Series(
            title=stored(Series, "title", site.pick(k, "series.title")),
            slug=f"xss-series-{k}",
            description=stored(Series, "description", site.pick(k, "series.description")),
        )
        services.save_series(series)
        tag = Tag(name=unique_tag_name(site.pick(k, "tag.name"), k, tag_names))
        services.save_tag(tag)
        image = Image.objects.create(
            file=file_name,
            width=64,
            height=48,
            file_size=size,
            alt=stored(Image, "alt", site.pick(k, "image.alt")),
            caption=stored(Image, "caption", site.pick(k, "image.caption")),
            credit=stored(Image, "credit", site.pick(k, "image.credit")),
        )
        page = Page(
            title=stored(Page, "title", site.pick(k, "page.title")),
            slug=f"xss-page-{k}",
            body=stored(Page, "body", site.pick(k, "page.body")),
            nav_position=100 + k,
        )
        services.save_page(page)
        post = make_post(site, k, section, series, tag, image, now - timedelta(minutes=k + 1))
        site.sections.append(section)
        site.series.append(series)
        site.tags.append(tag)
        site.images.append(image)
        site.pages.append(page)
        site.posts.append(post)
    add_every_link_to(site.posts[0], site)
    return site


def add_every_link_to(post: Post, site: Site) -> None:
    """The links of all the posts, once more under the first post: its admin form then
    shows every input in every field of the link rows."""
    for k in range(len(site.inputs)):
        Link.objects.create(
            post=post,
            title=stored(Link, "title", site.pick(k, "link.title")),
            url=stored(Link, "url", site.pick(k, "link.url")),
            commentary=stored(Link, "commentary", site.pick(k, "link.commentary")),
            group=stored(Link, "group", site.pick(k, "link.group")),
            position=2 + k,
        )


def make_post(site: Site, k: int, section, series, tag, image, published_at) -> Post:
    slug = site.pick(k, "post.slug")
    group = stored(Link, "group", site.pick(k, "link.group"))
    # The input first, as the author wrote it; then a slot for the link group and a
    # library image with a typed alt text and caption.
    body = "\n\n".join(
        [
            site.pick(k, "post.body"),
            f"[links: {group}]",
            f"![{site.pick(k, 'body.image_alt')}]({image.file.url} "
            f'"{site.pick(k, "body.image_caption")}")',
        ]
    )
    post = Post(
        title=stored(Post, "title", site.pick(k, "post.title")),
        slug=slug if SLUG.fullmatch(slug) else f"post-{k}",
        subtitle=stored(Post, "subtitle", site.pick(k, "post.subtitle")),
        section=section,
        author=site.profile,
        body=stored(Post, "body", body),
        excerpt=stored(Post, "excerpt", site.pick(k, "post.excerpt")),
        meta_description=stored(Post, "meta_description", site.pick(k, "post.meta_description")),
        canonical_url=stored(Post, "canonical_url", site.pick(k, "post.canonical_url")),
        cover=image,
        series=series,
        series_position=1,
        status=Post.Status.PUBLISHED,
        published_at=published_at,
    )

    def related():
        post.tags.set([tag])
        Link.objects.create(
            post=post,
            title=stored(Link, "title", site.pick(k, "link.title")),
            url=stored(Link, "url", site.pick(k, "link.url")),
            commentary=stored(Link, "commentary", site.pick(k, "link.commentary")),
            group=group,
            position=1,
        )

    services.save_post(post, related=related)
    return post


# --- the corpus itself -----------------------------------------------------------------


def test_the_corpus_has_150_distinct_inputs_in_every_category_the_issue_names():
    assert len(PAYLOADS) >= 150
    assert len(set(PAYLOADS)) == len(PAYLOADS), "each input once"
    assert set(CATEGORIES) == {
        "script_and_event_handlers",
        "dangerous_url_schemes",
        "svg_and_mathml",
        "noscript_and_template_mutation",
        "markdown_links_images_references_autolinks",
        "broken_and_nested_tags",
        "attribute_breakouts",
        "script_end_in_titles_and_meta_tags",
        "page_ids_classes_and_clobbering",
        "styles_frames_and_other_embeds",
    }
    assert all(len(inputs) >= 10 for inputs in CATEGORIES.values())
    variants = CATEGORIES["dangerous_url_schemes"]
    assert any("\t" in v for v in variants) and any("&#" in v for v in variants)
    assert any(ord(c) < 0x20 and c not in "\t\n\r" for v in variants for c in v)


# --- every input in every field --------------------------------------------------------


def staff_client(django_user_model) -> Client:
    user = django_user_model.objects.create_superuser(username="corpus-staff", password="pw")
    client = Client()
    client.force_login(user)
    return client


def reader_paths(site: Site) -> list[str]:
    first = site.posts[0]
    return [
        reverse("blog:home"),
        reverse("blog:series-list"),
        reverse("blog:tag-list"),
        reverse("blog:archive"),
        reverse("blog:archive-year", kwargs={"year": first.published_at.year}),
        reverse("blog:search") + "?q=alert",
        *(post.get_absolute_url() for post in site.posts),
        # A page's body is checked in the stored HTML, its title is in every page's nav.
        *(page.get_absolute_url() for page in site.pages[:2]),
        *(section.get_absolute_url() for section in site.sections[:2]),
        *(series.get_absolute_url() for series in site.series[:2]),
        *(tag.get_absolute_url() for tag in site.tags[:2]),
    ]


def admin_paths(site: Site) -> list[str]:
    changelists = ["post", "section", "series", "tag", "page", "image", "authorprofile"]
    firsts = {
        "section": site.sections[:2],
        "series": site.series[:2],
        "tag": site.tags[:2],
        "page": site.pages[:2],
        "image": site.images[:2],
        "authorprofile": [site.profile],
        "sitesettings": [SiteSettings.load()],
    }
    return [
        *(reverse(f"admin:blog_{name}_changelist") for name in changelists),
        # Django's forms escape every field alike; the first post carries every input in
        # its links (see build_site), and a few posts show their other fields.
        *(reverse("admin:blog_post_change", args=[post.pk]) for post in site.posts[:6]),
        *(
            reverse(f"admin:blog_{name}_change", args=[obj.pk])
            for name, objects in firsts.items()
            for obj in objects
        ),
    ]


def stored_html(site: Site) -> dict[str, str]:
    html = {}
    for post in Post.objects.all():
        html[f"post {post.pk} body"] = post.body_html
        html[f"post {post.pk} toc"] = post.toc_html
        html[f"post {post.pk} cover"] = post.cover_html
    for link in Link.objects.all():
        html[f"link {link.pk} commentary"] = link.commentary_html
    for series in Series.objects.all():
        html[f"series {series.pk}"] = series.description_html
    for page in Page.objects.all():
        html[f"page {page.pk}"] = page.body_html
    return html


@pytest.mark.parametrize("batch", range(len(BATCHES)))
def test_no_input_survives_as_script_in_stored_or_served_html(batch, client, django_user_model):
    staff = staff_client(django_user_model)
    site = build_site(BATCHES[batch], django_user_model.objects.create_user(username="author"))
    for where, html in stored_html(site).items():
        assert_fragment_is_clean(html, where)
    for path in reader_paths(site):
        assert_page_is_clean(client.get(path))
    assert_feeds_are_clean(client, site)
    for path in admin_paths(site):
        response = staff.get(path, follow=True)
        assert_page_is_clean(response, reader=False)
    for text in site.inputs:
        response = staff.post(reverse("markdownx_markdownify"), {"content": text})
        assert response.status_code == 200, text
        assert_fragment_is_clean(response.content.decode(), f"preview of {text!r}")


@pytest.mark.parametrize("batch", range(len(BATCHES)))
def test_site_settings_and_the_owner_name_serve_no_script(batch, client, django_user_model):
    """The site title, tagline and logo alt text and the owner's name are on every page
    (and the title in the JSON-LD): one page per input is enough."""
    inputs = BATCHES[batch]
    user = django_user_model.objects.create_user(username="owner")
    site = build_site(inputs[:1], user)
    settings_row = SiteSettings.load()
    path = site.posts[0].get_absolute_url()
    for k in range(len(inputs)):
        settings_row.title = stored(SiteSettings, "title", inputs[k])
        settings_row.tagline = stored(SiteSettings, "tagline", inputs[(k + 1) % len(inputs)])
        settings_row.logo_alt = stored(SiteSettings, "logo_alt", inputs[(k + 2) % len(inputs)])
        settings_row.save()
        site.profile.display_name = stored(
            AuthorProfile, "display_name", inputs[(k + 3) % len(inputs)]
        )
        site.profile.save()
        # The title is in the JSON-LD too, the tagline in the footer.
        assert_page_is_clean(client.get(path))


def test_search_reflects_no_input(client, db):
    """The query is shown back in the title, the heading and the search box; with no
    posts to find, each of them costs one cheap page."""
    for text in PAYLOADS:
        assert_page_is_clean(client.get(reverse("blog:search"), {"q": text}))


# --- feeds -----------------------------------------------------------------------------


def feed_paths(site: Site) -> list[str]:
    first = site.posts[0]
    section = {"section": first.section.slug}
    return [
        reverse("blog:feed-rss"),
        reverse("blog:feed-atom"),
        reverse("blog:feed-json"),
        reverse("blog:section-feed-rss", kwargs=section),
        reverse("blog:section-feed-atom", kwargs=section),
        reverse("blog:section-feed-json", kwargs=section),
        reverse("blog:series-feed-rss", kwargs={"slug": first.series.slug}),
        reverse("blog:tag-feed-atom", kwargs={"slug": site.tags[0].slug}),
    ]


ATOM = "{http://www.w3.org/2005/Atom}"
CONTENT_ENCODED = "{http://purl.org/rss/1.0/modules/content/}encoded"


def assert_feeds_are_clean(client, site: Site):
    for path in feed_paths(site):
        response = client.get(path)
        assert response.status_code == 200, path
        if path.endswith(".json"):
            items = assert_json_feed_is_clean(json.loads(response.content), path)
        else:
            items = assert_xml_feed_is_clean(etree.fromstring(response.content), path)
        assert items, path


def assert_xml_feed_is_clean(root, path: str) -> int:
    """RSS and Atom: item links are http(s), and the HTML that readers render (RSS
    description and content:encoded, Atom content of type html) is clean."""
    html = [e.text or "" for e in root.iter(CONTENT_ENCODED, "description")]
    html += [e.text or "" for e in root.iter(f"{ATOM}content") if e.get("type") == "html"]
    for fragment in html:
        assert_fragment_is_clean(fragment, path)
    urls = [e.text or "" for e in root.iter("link", f"{ATOM}id")]
    urls += [e.get("href", "") for e in root.iter(f"{ATOM}link")]
    urls += [e.get("url", "") for e in root.iter("enclosure")]
    assert [url for url in urls if browser_scheme(url) not in {"http", "https", "urn"}] == [], path
    return len(root.findall(".//item")) + len(root.findall(f".//{ATOM}entry"))


def assert_json_feed_is_clean(feed: dict, path: str) -> int:
    for item in feed["items"]:
        assert_fragment_is_clean(item["content_html"], path)
        urls = [item["url"], item.get("image", "")]
        urls += [attachment["url"] for attachment in item.get("attachments", [])]
        assert [url for url in urls if is_dangerous_url(url)] == [], path
    return len(feed["items"])


# --- URLs are checked where they are rendered --------------------------------------------

# The forms of javascript: that ran on click in Chromium when written through the ORM.
DANGEROUS_URLS = [
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    " javascript:alert(1)",
    "java\tscript:alert(1)",
    "\x01javascript:alert(1)",
    "vbscript:msgbox(1)",
    "data:text/html,<script>alert(1)</script>",
]


@pytest.mark.parametrize("url", DANGEROUS_URLS)
def test_safe_url_renders_no_dangerous_url(url):
    assert safe_url(url) == ""


@pytest.mark.parametrize(
    "url",
    [
        "https://example.org/a?b=c#d",
        "http://example.org",
        "mailto:me@example.org",
        "/bytes/post/",
        "#p-intro",
        "//cdn.example.org/x.png",
        "notes/today/",
    ],
)
def test_safe_url_keeps_http_https_mailto_and_relative_urls(url):
    assert safe_url(url) == url


@pytest.mark.parametrize("url", DANGEROUS_URLS)
def test_a_dangerous_link_canonical_or_profile_url_is_never_a_link(url, client, make_post):
    post = make_post(canonical_url=url)
    owner = post.author
    SiteSettings.objects.update_or_create(pk=1, defaults={"owner": owner})
    ProfileLink.objects.create(profile=owner, label="Home page", url=url)
    Link.objects.create(post=post, title="A reading", url=url, position=1)
    response = client.get(post.get_absolute_url())
    assert_page_is_clean(response)
    root = parse_page(response.content.decode())
    # The post's own address instead of a dangerous one.
    canonical = [e.get("href") for e in root.findall(".//link[@rel='canonical']")]
    assert canonical == ["http://testserver" + post.get_absolute_url()]
    titles = [e for e in root.iter("p") if e.get("class") == "link__title"]
    assert ["".join(e.itertext()).strip() for e in titles] == ["A reading"], "text, no link"
    assert not [a for a in root.iter("a") if a.text == "Home page"]
    assert "Home page" in response.content.decode()


def test_a_safe_canonical_url_is_kept(client, make_post):
    post = make_post(canonical_url="https://first.example.org/post/")
    root = parse_page(client.get(post.get_absolute_url()).content.decode())
    assert [e.get("href") for e in root.iter("link") if e.get("rel") == "canonical"] == [
        "https://first.example.org/post/"
    ]


@pytest.mark.parametrize("tag", ["q", "blockquote", "del", "ins"])
def test_cite_keeps_only_safe_urls(tag):
    html = render_markdown(
        f'<{tag} cite="javascript:alert(1)">a</{tag}> <{tag} cite=" java&#9;script:x">b</{tag}>'
        f' <{tag} cite="https://example.org/source">c</{tag}>'
    )
    cites = [e.get("cite") for e in parse_fragment(html).iter(tag)]
    assert cites == [None, None, "https://example.org/source"]


def test_ids_are_prefixed_and_links_within_the_text_follow():
    html = render_markdown(
        '## Intro\n\n<div id="Main">fake</div>\n\n[back](#intro) [top](#Main) [none](#)'
    )
    root = parse_fragment(html)
    ids = [e.get("id") for e in elements(root) if e.get("id")]
    assert ids == [f"{ID_PREFIX}intro", f"{ID_PREFIX}Main"]
    hrefs = [a.get("href") for a in root.iter("a")]
    assert hrefs == [f"#{ID_PREFIX}intro", f"#{ID_PREFIX}intro", f"#{ID_PREFIX}Main", "#"]


def test_a_post_cannot_fake_the_preview_banner_or_the_page_chrome(client, make_post):
    post = make_post(
        body='<p class="preview-banner" role="status">Preview</p>\n\n'
        '<div class="site-header skip-link" id="Main">x</div>'
    )
    root = parse_page(client.get(post.get_absolute_url()).content.decode())
    assert page_problems(root) == []
    assert [e.get("id") for e in elements(root) if e.get("id") == "Main"] == ["Main"]
    headers = [e for e in elements(root) if "site-header" in (e.get("class") or "").split()]
    assert len(headers) == 1, "the page's own header only"


def test_class_keeps_only_what_the_renderer_writes():
    html = render_markdown(
        '<span class="k evil preview-banner">x</span>\n\n```python\nx = 1\n```\n\n'
        '<p class="footnote-ref">y</p>'
    )
    classes = {c for e in elements(parse_fragment(html)) for c in (e.get("class") or "").split()}
    assert "evil" not in classes and "preview-banner" not in classes
    assert {"k", "highlight", "footnote-ref"} <= classes


def test_tables_are_boxed_once_and_code_tables_stay_balanced():
    source = (
        "| a |\n|---|\n| 1 |\n\n"
        '<table title="t"><tr><td>raw</td></tr></table>\n\n'
        '``` { .python linenums="1" }\nx = 1\n```'
    )
    html = render_markdown(source)
    root = parse_fragment(html)
    tables = list(root.iter("table"))
    assert len(tables) == 3
    boxes = [e for e in root.iter("div") if e.get("class") == "table-scroll"]
    assert len(boxes) == 3 and all(len(box) == 1 and box[0].tag == "table" for box in boxes)
    assert html.count("<div") == html.count("</div>"), "no stray end tag"


@pytest.mark.parametrize("href", ["//[x", "/\\[::1", "//[::1"])
def test_a_url_with_an_unparseable_host_renders_as_an_external_link(href):
    """Python's urlsplit cannot read such a host (ValueError), and the renderer raised."""
    html = render_markdown(f'<a href="{href}">b</a>')
    [link] = parse_fragment(html).iter("a")
    assert link.get("rel") == "noopener noreferrer", "another site to a browser"


def test_a_link_with_an_unparseable_host_still_renders_its_post(client, make_post):
    post = make_post()
    Link.objects.create(post=post, title="Broken", url="https://[x/", position=1)
    assert client.get(post.get_absolute_url()).status_code == 200
