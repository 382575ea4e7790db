from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models
from django.db.models import Count
from django.forms.models import BaseInlineFormSet
from django.http import Http404, HttpResponseNotAllowed
from django.shortcuts import redirect
from django.template.defaultfilters import pluralize
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from markdownx.models import MarkdownxField
from markdownx.widgets import AdminMarkdownxWidget
from taggit.models import Tag as TaggitTag

from . import dates, images, services, sharing
from .forms import (
    CleanImageField,
    LinkForm,
    LinkFormSet,
    PostAdminForm,
    describe_state,
    guard_against_stale_saves,
    latest_saved_revision,
)
from .models import (
    AuthorProfile,
    Image,
    ImportRecord,
    Link,
    Page,
    Post,
    ProfileLink,
    Redirect,
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


class StoresUploadsForm(forms.ModelForm):
    """Stores new files while the form is checked, not after it was accepted.

    A storage that fails (an S3 bucket out of reach) then shows as an error on the file
    field, with everything else the author typed still in the form, instead of a server
    error on save. Nothing is stored while any field has an error.
    """

    def _post_clean(self):
        super()._post_clean()
        if self._errors:
            return
        for field in self._meta.model._meta.fields:
            if isinstance(field, models.FileField) and field.name in self.changed_data:
                self._store(field.name)

    def _store(self, name):
        file = getattr(self.instance, name)
        if not file or file._committed:
            return
        try:
            with images.storage_errors_for_author():
                file.save(file.name, file.file, save=False)
        except images.StorageUnavailable as exc:
            self.add_error(name, str(exc))


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

    def save_model(self, request, obj, form, change):
        services.save_section(obj)  # a new slug redirects the section's old addresses

    def get_queryset(self, request):
        # A grouped query drops the model's default ordering: say it again, or the
        # autocomplete's paginator gets an unordered list.
        return (
            super()
            .get_queryset(request)
            .annotate(_post_count=Count("posts"))
            .order_by(*Section._meta.ordering)
        )

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
    # The submit buttons (Save draft, Publish now, …) decide the state (PostAdminForm);
    # admin/blog/post/submit_line.html shows them beside the state they change.
    form = PostAdminForm
    save_on_top = True  # the state and its buttons at the top of a long form, too
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
    readonly_fields = ["reading_time", "created_at", "updated_at", "share_link"]
    fieldsets = [
        (None, {"fields": ["title", "subtitle", "slug", "section", "author", "body", "tags"]}),
        ("Publishing", {"fields": ["status", "published_at"]}),
        ("Share a preview", {"fields": ["share_link"]}),
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

    def save_model(self, request, obj, form, change):
        """Nothing yet: the post is saved with its tags and links in save_related."""

    def save_related(self, request, form, formsets, change):
        # One write path (services.save_post): the post, then its tags and links, then
        # the revision of all of it.
        services.save_post(
            form.instance,
            user=request.user,
            related=lambda: super(PostAdmin, self).save_related(request, form, formsets, change),
        )
        services.spend_autosave(post=form.instance, user=request.user, was_new=not change)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        return guard_against_stale_saves(form, obj)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        context["autosave_config"] = self.autosave_config(request, obj)
        latest = latest_saved_revision(obj) if obj is not None else None
        context["opened_revision"] = latest.pk if latest else ""
        return super().render_change_form(request, context, add, change, form_url, obj)

    def autosave_config(self, request, post):
        """What static/blog/admin/autosave.js needs: where to save, the browser copy's
        key, when the post was last saved, and an autosave newer than that to offer."""
        offered = None
        if request.method == "GET":  # a form sent back with errors holds the text already
            revision = services.latest_autosave(post=post, user=request.user).first()
            if revision is not None:
                offered = {"savedAt": dates.iso(revision.created_at), **revision.data}
        return {
            "url": reverse("post-autosave"),
            "discardUrl": reverse("post-autosave-discard"),
            "postId": post.pk if post else "",
            "storageKey": f"bytepress:autosave:{request.user.pk}:{post.pk if post else 'new'}",
            "postSavedAt": dates.iso(post.updated_at) if post else None,
            "offered": offered,
        }

    # After a save, the browser's copy of the form is spent: this cookie tells
    # autosave.js which one to drop on the next post form it opens.
    SAVED_COOKIE = "bytepress_saved"

    def response_add(self, request, obj, post_url_continue=None):
        response = super().response_add(request, obj, post_url_continue)
        return self._mark_saved(request, response, None)

    def response_change(self, request, obj):
        return self._mark_saved(request, super().response_change(request, obj), obj)

    def _mark_saved(self, request, response, post):
        key = self.autosave_config(request, post)["storageKey"] if request.method == "POST" else ""
        if key and response.status_code in (301, 302):
            response.set_cookie(
                self.SAVED_COOKIE,
                key,
                max_age=86400,
                path="/",
                samesite="Lax",
                secure=request.is_secure(),
            )
        return response

    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        # The writer's own profile, else the site owner's.
        profile = AuthorProfile.objects.filter(user=request.user).first()
        author_id = profile.pk if profile else SiteSettings.load().owner_id
        if author_id:
            initial.setdefault("author", author_id)
        return initial

    def get_urls(self):
        revoke = self.admin_site.admin_view(self.revoke_share_view)
        # Before the default URLs, whose "<object_id>/" catch-all would take this path.
        return [
            path("<path:object_id>/revoke-share/", revoke, name="blog_post_revoke_share"),
            *super().get_urls(),
        ]

    def get_object(self, request, object_id, from_field=None):
        post = super().get_object(request, object_id, from_field)
        # Only for those who may change the post: a link shows a draft to anyone.
        if post is not None and self.has_change_permission(request, post):
            # On the post, not on this admin (shared by every request): the link is
            # absolute, and without SITE_URL only the request knows the host.
            post.share_preview = sharing.new_link(request, post)
        return post

    @admin.display(description="share link")
    def share_link(self, obj):
        link = getattr(obj, "share_preview", None)
        if link is None:
            if obj.pk is not None:
                return "Only those who may change the post can share it."
            return "Save the post to get a link that shows it before it is published."
        # The button belongs to a form of its own (change_form.html), outside the post's
        # form: inside it, Enter in any field would revoke instead of saving.
        revoke = format_html(
            '<button type="submit" form="{}" class="button">Revoke share links</button>',
            "share-revoke",
        )
        if obj.visibility == "published":
            return format_html(
                "The post is public: share its own address. {}"
                '<div class="help">Revoking stops links given before from showing it again '
                "if it goes back to draft.</div>",
                revoke,
            )
        expires = date_format(timezone.localtime(link.expires_at), "DATETIME_FORMAT")
        return format_html(
            '<input type="url" value="{}" readonly size="70" aria-label="Share link"> {}'
            '<div class="help">Anyone with this link can read the {} post, without an '
            "account, until {}. Revoking stops every link given so far (changes not yet "
            "saved on this page are lost).</div>",
            link.url,
            revoke,
            obj.visibility,
            expires,
        )

    def revoke_share_view(self, request, object_id):
        """Give the post a new share key, so that every share link given so far stops
        working; POST only, for staff who may change the post."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        post = self.get_object(request, unquote(object_id))
        if post is None:
            raise Http404("No such post.")
        if not self.has_change_permission(request, post):
            raise PermissionDenied
        sharing.revoke(post)
        self.log_change(request, post, "Revoked the share links.")
        self.message_user(
            request, f"Share links to “{post}” revoked: those given before no longer work."
        )
        return redirect(f"{self.admin_site.name}:blog_post_change", post.pk)

    @admin.display(description="series", ordering="series__title")
    def series_part(self, obj):
        if obj.series is None:
            return "—"
        return f"{obj.series} #{obj.series_position}"

    @admin.display(description="status", ordering="status")
    def status_label(self, obj):
        # The publication date has a column of its own; a scheduled one is worth repeating.
        if obj.visibility == "scheduled":
            return describe_state(obj)
        return obj.visibility.capitalize()

    @admin.display(description="tags")
    def tag_list(self, obj):
        # tags.all() uses the prefetch; tags.names() would query once per row.
        return join_tags(obj.tags.all())

    @admin.action(description="Publish selected posts now", permissions=["change"])
    def publish(self, request, queryset):
        result = services.publish_posts(
            queryset.select_related("section", "series"), user=request.user
        )
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
        count = services.unpublish_posts(queryset, user=request.user)
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

    def save_model(self, request, obj, form, change):
        services.save_series(obj)  # a public series that moves leaves a redirect

    def get_queryset(self, request):
        return (
            super().get_queryset(request).annotate(_part_count=Count("posts")).order_by("title")
        )  # ordered again: a grouped query drops the default ordering

    @admin.display(description="parts", ordering="_part_count")
    def part_count(self, obj):
        return obj._part_count


class ProfileLinkInline(admin.TabularInline):
    model = ProfileLink
    extra = 1
    formfield_overrides = FORMFIELD_OVERRIDES


@admin.register(AuthorProfile)
class AuthorProfileAdmin(admin.ModelAdmin):
    form = StoresUploadsForm  # the avatar
    list_display = ["display_name", "user"]
    inlines = [ProfileLinkInline]
    formfield_overrides = FORMFIELD_OVERRIDES


@admin.register(SiteSettings)
class SiteSettingsAdmin(admin.ModelAdmin):
    form = StoresUploadsForm  # the logo
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
    form = StoresUploadsForm
    inlines = [RenditionInline]

    def save_model(self, request, obj, form, change):
        if "file" in form.changed_data:
            obj.file_size = form.cleaned_data["file"].size  # the feeds' enclosure length
        services.save_image(obj)  # renditions, and the posts that show it

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
        return format_html('<img src="{}" alt="" width="80">', url)

    @admin.display(description="size")
    def dimensions(self, obj):
        return f"{obj.width}×{obj.height}"


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "post_count"]
    search_fields = ["name"]

    def save_model(self, request, obj, form, change):
        services.save_tag(obj)  # a public tag that moves leaves a redirect

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(_post_count=Count("tagged_posts"))
            .order_by(*Tag._meta.ordering)
        )  # ordered again: a grouped query drops the default ordering

    @admin.display(description="posts", ordering="_post_count")
    def post_count(self, obj):
        return obj._post_count


# Bytepress uses its own tag model (case-insensitive names, never-empty slugs); taggit's
# default one would only be an empty, confusing list in the admin.
if admin.site.is_registered(TaggitTag):
    admin.site.unregister(TaggitTag)


@admin.register(Page)
class PageAdmin(EditorAdmin):
    list_display = ["title", "slug", "nav_position", "updated_at"]
    list_editable = ["nav_position"]
    search_fields = ["title", "body"]
    prepopulated_fields = {"slug": ["title"]}
    fields = ["title", "slug", "nav_position", "body", "created_at", "updated_at"]
    readonly_fields = ["created_at", "updated_at"]

    def save_model(self, request, obj, form, change):
        services.save_page(obj)  # a new slug redirects the old address


class RedirectForm(forms.ModelForm):
    """Paths as an author pastes them (percent-encoded, or without the first “/”) are
    stored as requests spell them, so that the middleware finds them."""

    class Meta:
        model = Redirect
        fields = ["old_path", "new_path"]

    def clean_old_path(self):
        return services.site_path(self.cleaned_data["old_path"])

    def clean_new_path(self):
        return services.site_path(self.cleaned_data["new_path"])


@admin.register(Redirect)
class RedirectAdmin(admin.ModelAdmin):
    form = RedirectForm
    list_display = ["old_path", "new_path", "created_at"]
    search_fields = ["old_path", "new_path"]
    readonly_fields = ["created_at"]

    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        # A removed page's readers are best sent home, unless the author names a page.
        initial.setdefault("new_path", "/")
        return initial

    def save_model(self, request, obj, form, change):
        services.save_redirect(obj)
        asked_for = form.cleaned_data["new_path"]
        if obj.new_path != asked_for:  # Redirect.clean() went past a redirected target
            self.message_user(
                request,
                f"“{asked_for}” already redirects to “{obj.new_path}”, so “{obj.old_path}” "
                "now leads straight there.",
                messages.INFO,
            )


@admin.register(ImportRecord)
class ImportRecordAdmin(admin.ModelAdmin):
    """What the imports made of each source: read-only, written by import_markdown and
    import_wordpress (deleting a record makes the next import add its item again)."""

    list_display = ["source_id", "kind", "target", "imported_at"]
    list_filter = ["kind"]
    search_fields = ["source_id"]
    list_select_related = ["post__section", "page", "image"]
    readonly_fields = ["kind", "source_id", "source_hash", "post", "page", "image", "imported_at"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
