from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Count
from django.forms.models import BaseInlineFormSet
from django.template.defaultfilters import pluralize
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from markdownx.models import MarkdownxField
from markdownx.widgets import AdminMarkdownxWidget
from taggit.models import Tag as TaggitTag

from . import services
from .forms import CleanImageField, LinkForm, LinkFormSet
from .models import (
    AuthorProfile,
    Image,
    Link,
    Post,
    ProfileLink,
    Rendition,
    Section,
    Series,
    SiteSettings,
    Tag,
)
from .tags import join_tags

EDITOR_MEDIA = {"js": ["blog/admin/editor.js"], "css": {"all": ["blog/admin/editor.css"]}}
FORMFIELD_OVERRIDES = {
    MarkdownxField: {"widget": AdminMarkdownxWidget},
    models.ImageField: {"form_class": CleanImageField},
    # A URL typed without a scheme ("example.org") means https, as it will in Django 6.
    models.URLField: {"assume_scheme": "https"},
}


class EditorAdmin(admin.ModelAdmin):
    """Markdown fields get the live-preview editor; image fields the upload rules."""

    formfield_overrides = FORMFIELD_OVERRIDES

    class Media:
        js = EDITOR_MEDIA["js"]
        css = EDITOR_MEDIA["css"]


@admin.register(Section)
class SectionAdmin(admin.ModelAdmin):
    formfield_overrides = FORMFIELD_OVERRIDES
    list_display = ["name", "slug", "nav_position", "post_count"]
    list_editable = ["nav_position"]
    prepopulated_fields = {"slug": ["name"]}
    search_fields = ["name"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_post_count=Count("posts"))

    @admin.display(description="posts", ordering="_post_count")
    def post_count(self, obj):
        return obj._post_count


class LinkInline(admin.TabularInline):
    """A post's links, one table row each: a reading list of many links stays short.

    Commentary is a small textarea previewed on demand, and the group heading is picked
    from the post's headings (see LinkForm), so a typo cannot start a group unnoticed.
    """

    model = Link
    form = LinkForm
    formset = LinkFormSet
    extra = 0
    fields = ["position", "group", "title", "url", "commentary"]
    formfield_overrides = FORMFIELD_OVERRIDES
    ordering = ["position", "pk"]
    classes = ["bytepress-links"]


class VisibilityFilter(admin.SimpleListFilter):
    """Draft, scheduled or published, by the same queryset rules the site uses."""

    title = "status"
    parameter_name = "visibility"

    def lookups(self, request, model_admin):
        return [("draft", "Draft"), ("scheduled", "Scheduled"), ("published", "Published")]

    def queryset(self, request, queryset):
        if self.value() == "draft":
            return queryset.drafts()
        if self.value() == "scheduled":
            return queryset.scheduled()
        if self.value() == "published":
            return queryset.published()
        return queryset


@admin.register(Post)
class PostAdmin(EditorAdmin):
    list_display = [
        "title",
        "section",
        "series_part",
        "status_label",
        "published_at",
        "tag_list",
    ]
    list_filter = [
        VisibilityFilter,
        "section",
        "series",
        ("tags", admin.RelatedOnlyFieldListFilter),
    ]
    list_select_related = ["section", "series"]
    search_fields = ["title", "subtitle", "body", "slug"]
    date_hierarchy = "published_at"
    prepopulated_fields = {"slug": ["title"]}
    autocomplete_fields = ["series", "cover"]
    inlines = [LinkInline]
    actions = ["publish", "unpublish"]
    readonly_fields = ["reading_time", "created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["title", "subtitle", "slug", "section", "author", "body", "tags"]}),
        ("Publishing", {"fields": ["status", "published_at"]}),
        ("Series", {"fields": ["series", "series_position"]}),
        ("Cover image", {"fields": ["cover"]}),
        (
            "Summary and search engines",
            {"fields": ["excerpt", "meta_description", "canonical_url"], "classes": ["collapse"]},
        ),
        ("Record", {"fields": ["reading_time", "created_at", "updated_at"]}),
    ]

    def get_queryset(self, request):
        # Tags are prefetched so the change list runs the same queries for 5 or 5,000 posts.
        return super().get_queryset(request).prefetch_related("tags")

    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        # The writer's own profile, else the site owner's.
        profile = AuthorProfile.objects.filter(user=request.user).first()
        author_id = profile.pk if profile else SiteSettings.load().owner_id
        if author_id:
            initial.setdefault("author", author_id)
        return initial

    @admin.display(description="series", ordering="series__title")
    def series_part(self, obj):
        if obj.series is None:
            return "—"
        return f"{obj.series} #{obj.series_position}"

    @admin.display(description="status", ordering="status")
    def status_label(self, obj):
        return obj.visibility.capitalize()

    @admin.display(description="tags")
    def tag_list(self, obj):
        # tags.all() uses the prefetch; tags.names() would query once per row.
        return join_tags(obj.tags.all())

    @admin.action(description="Publish selected posts now", permissions=["change"])
    def publish(self, request, queryset):
        result = services.publish_posts(queryset.select_related("section", "series"))
        if result.published:
            count = len(result.published)
            self.message_user(
                request, f"Published {count} post{pluralize(count)}; readers can see them now."
            )
        for post, scheduled_for in result.brought_forward.items():
            when = date_format(timezone.localtime(scheduled_for), "DATETIME_FORMAT")
            self.message_user(
                request,
                f"“{post}” was scheduled for {when}; it is published now instead.",
                messages.WARNING,
            )
        for post, errors in result.refused.items():
            self.message_user(
                request, f"“{post}” was not published: {' '.join(errors)}", messages.ERROR
            )

    @admin.action(description="Unpublish selected posts (back to draft)", permissions=["change"])
    def unpublish(self, request, queryset):
        count = services.unpublish_posts(queryset)
        self.message_user(request, f"Moved {count} post{pluralize(count)} back to draft.")


class SeriesPartsFormSet(BaseInlineFormSet):
    """The parts of a series, renumbered together.

    Part numbers are checked across the whole set (so two parts can swap numbers), and
    saved in one step by services.reorder_series; one by one, a swap would collide.
    """

    def _construct_form(self, i, **kwargs):
        form = super()._construct_form(i, **kwargs)
        form.instance.series_position_checked_elsewhere = True
        return form

    def clean(self):
        seen = {}
        for form in self.forms:
            position = form.cleaned_data.get("series_position")
            if position is None:
                form.add_error("series_position", "Every part needs a part number.")
            elif position in seen:
                form.add_error("series_position", f"Part {position} is given twice.")
            else:
                seen[position] = form.instance
        if any(form.errors for form in self.forms):
            return
        super().clean()
        if self.instance.pk is None:
            return  # a series being created has no parts yet
        # Parts not shown in this form keep their numbers; new ones must not clash.
        others = Post.objects.filter(series=self.instance).exclude(
            pk__in=[form.instance.pk for form in self.forms]
        )
        for taken in others.filter(series_position__in=seen):
            raise ValidationError(f"Part {taken.series_position} is already “{taken}”.")

    def save(self, commit=True):
        positions = {
            form.instance.pk: form.cleaned_data["series_position"]
            for form in self.forms
            if form.has_changed()
        }
        if positions:
            services.reorder_series(series=self.instance, positions=positions)
        # What the admin's change message and history read.
        self.new_objects, self.deleted_objects = [], []
        self.changed_objects = [
            (form.instance, ["series_position"]) for form in self.forms if form.has_changed()
        ]
        return []


class SeriesPostInline(admin.TabularInline):
    model = Post
    fk_name = "series"
    formset = SeriesPartsFormSet
    fields = ["series_position", "title", "status_label", "published_at"]
    readonly_fields = ["title", "status_label", "published_at"]
    ordering = ["series_position"]
    extra = 0
    can_delete = False
    show_change_link = True
    verbose_name = "part"
    verbose_name_plural = "parts, in order"

    def has_add_permission(self, request, obj=None):
        return False

    @admin.display(description="status")
    def status_label(self, obj):
        return obj.visibility.capitalize()


@admin.register(Series)
class SeriesAdmin(EditorAdmin):
    list_display = ["title", "slug", "part_count"]
    search_fields = ["title"]
    prepopulated_fields = {"slug": ["title"]}
    inlines = [SeriesPostInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_part_count=Count("posts"))

    @admin.display(description="parts", ordering="_part_count")
    def part_count(self, obj):
        return obj._part_count


class ProfileLinkInline(admin.TabularInline):
    model = ProfileLink
    extra = 1
    formfield_overrides = FORMFIELD_OVERRIDES


@admin.register(AuthorProfile)
class AuthorProfileAdmin(admin.ModelAdmin):
    list_display = ["display_name", "user"]
    inlines = [ProfileLinkInline]
    formfield_overrides = FORMFIELD_OVERRIDES


@admin.register(SiteSettings)
class SiteSettingsAdmin(admin.ModelAdmin):
    formfield_overrides = FORMFIELD_OVERRIDES

    def has_add_permission(self, request):
        return not SiteSettings.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False


class RenditionInline(admin.TabularInline):
    model = Rendition
    fields = ["kind", "format", "width", "height", "size", "file"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Image)
class ImageAdmin(admin.ModelAdmin):
    list_display = ["thumbnail", "__str__", "dimensions", "decorative", "created_at"]
    list_filter = ["decorative"]
    search_fields = ["alt", "caption", "credit", "file"]
    fields = ["file", "alt", "decorative", "caption", "credit"]
    formfield_overrides = FORMFIELD_OVERRIDES
    inlines = [RenditionInline]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("renditions")

    @admin.display(description="image")
    def thumbnail(self, obj):
        small = min(
            (r for r in obj.renditions.all() if r.kind == "width" and r.format == "webp"),
            key=lambda r: r.width,
            default=None,
        )
        url = small.file.url if small else obj.file.url
        return format_html('<img src="{}" alt="" width="80" style="height:auto">', url)

    @admin.display(description="size")
    def dimensions(self, obj):
        return f"{obj.width}×{obj.height}"


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "post_count"]
    search_fields = ["name"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_post_count=Count("tagged_posts"))

    @admin.display(description="posts", ordering="_post_count")
    def post_count(self, obj):
        return obj._post_count


# Bytepress uses its own tag model (case-insensitive names, never-empty slugs); taggit's
# default one would only be an empty, confusing list in the admin.
if admin.site.is_registered(TaggitTag):
    admin.site.unregister(TaggitTag)
