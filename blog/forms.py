import json

from django import forms
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import models
from django.forms.models import BaseInlineFormSet
from django.forms.utils import flatatt
from django.urls import reverse
from django.utils import dateformat, timezone
from django.utils.html import format_html, format_html_join

from . import markdown, render_budget
from .images import ImageRejected, clean_image
from .models import Link, Post


class CleanImageField(forms.ImageField):
    """An image form field that applies Bytepress's upload rules (see blog/images.py).

    The file the model stores is the cleaned re-encoding: no EXIF or GPS metadata,
    orientation applied, only JPEG/PNG/WebP/GIF within the size and pixel limits.
    """

    def to_python(self, data):
        upload = super().to_python(data)
        if upload is None:
            return None
        try:
            image = clean_image(upload)
        except ImageRejected as exc:
            raise forms.ValidationError(str(exc), code="invalid_image") from None
        stem = (upload.name or "image").rsplit("/", 1)[-1].rsplit(".", 1)[0][:80] or "image"
        cleaned = SimpleUploadedFile(
            f"{stem}.{image.extension}", image.content, content_type=image.content_type
        )
        cleaned.image = getattr(upload, "image", None)
        return cleaned


# --- the Link inline: compact rows ------------------------------------------------------


def _heading_key(heading: str) -> str:
    # What a reader sees as "the same heading": case, spaces and punctuation aside.
    return "".join(ch for ch in heading.casefold() if ch.isalnum())


def _edit_distance(a: str, b: str) -> int:
    """Edits (insert, delete, substitute, swap two neighbours) that turn ``a`` into ``b``."""
    previous2, previous = None, list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            cost = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb))
            if previous2 is not None and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cost = min(cost, previous2[j - 2] + 1)
            current.append(cost)
        previous2, previous = previous, current
    return previous[-1]


def similar_heading(heading: str, headings) -> str | None:
    """The first of ``headings`` that ``heading`` probably misspells, else None.

    Two headings are alike when they are equal once case, spaces and punctuation are
    ignored, or within one edit (two for headings of eight characters or more). Headings
    of three characters or fewer are only compared the first way: "Go" is not a typo of
    "Io".
    """
    key = _heading_key(heading)
    if not key:
        return None
    for existing in headings:
        if existing == heading:
            continue
        other = _heading_key(existing)
        if other == key:
            return existing
        shorter = min(len(key), len(other))
        allowed = 0 if shorter <= 3 else 1 if shorter < 8 else 2
        close_in_length = abs(len(key) - len(other)) <= allowed
        if allowed and close_in_length and _edit_distance(key, other) <= allowed:
            return existing
    return None


class GroupPicker(forms.Widget):
    """A link's group heading: none, one of the post's headings, or a new one.

    Posts ``<name>`` (the heading picked in a select; "" for none) and ``<name>_new`` (a
    heading typed in; it wins). Without JavaScript both controls show; editor.js shows
    the text box only once "New heading…" is picked, and offers the headings typed in
    other rows. After a near-duplicate refusal, a ``<name>_confirm`` box lets the author
    keep the new heading.
    """

    NEW = "_new"
    CONFIRM = "_confirm"

    def __init__(self, attrs=None):
        super().__init__(attrs)
        self.groups = []  # set per form: the post's headings in order of first use
        self.confirm = ""  # set per form: a refused heading the author may confirm

    def value_from_datadict(self, data, files, name):
        return (data.get(name + self.NEW) or "").strip() or data.get(name, "")

    def value_omitted_from_data(self, data, files, name):
        return name not in data and name + self.NEW not in data

    def render(self, name, value, attrs=None, renderer=None):
        value = value or ""
        # Two controls share one column heading: each says what it is.
        attrs = self.build_attrs({"aria-label": "Group heading", **self.attrs}, attrs)
        is_new = bool(value) and value not in self.groups
        options = format_html_join(
            "",
            "<option{}>{}</option>",
            ((flatatt({"value": g, "selected": g == value}), g) for g in self.groups),
        )
        confirm = ""
        if self.confirm:
            confirm = format_html(
                '<label class="bytepress-group-confirm"><input type="checkbox" name="{}" '
                'value="{}"> Start the new group “{}” anyway</label>',
                name + self.CONFIRM,
                self.confirm,
                self.confirm,
            )
        return format_html(
            '<div class="bytepress-group-picker{}" data-groups="{}">'
            '<select name="{}"{}>'
            '<option value=""{}>No heading</option>{}'
            '<option value="" data-new{}>New heading…</option>'
            "</select>"
            '<input type="text" name="{}" id="{}" value="{}" maxlength="{}"'
            ' class="bytepress-group-new" placeholder="New heading" aria-label="New heading">'
            "{}</div>",
            " is-new" if is_new else "",
            json.dumps(self.groups),
            name,
            flatatt(attrs),
            flatatt({"selected": not value}),
            options,
            flatatt({"selected": is_new}),
            name + self.NEW,
            attrs.get("id", "") + self.NEW,
            value if is_new else "",
            Link._meta.get_field("group").max_length,
            confirm,
        )


class CommentaryWidget(forms.Textarea):
    """A link's Markdown commentary: a small textarea, previewed on demand (editor.js)."""

    def __init__(self, attrs=None):
        defaults = {"rows": 3, "class": "bytepress-commentary", "aria-label": "Commentary"}
        super().__init__({**defaults, **(attrs or {})})

    def render(self, name, value, attrs=None, renderer=None):
        return format_html(
            '<div class="bytepress-commentary-field">{}'
            '<button type="button" class="button bytepress-preview-button" data-url="{}" hidden>'
            "Preview</button>"
            '<div class="bytepress-commentary-preview" aria-live="polite" hidden></div></div>',
            super().render(name, value, attrs, renderer),
            reverse("markdownx_markdownify"),
        )


def _link_formfield(db_field, **kwargs):
    # As the admin's FORMFIELD_OVERRIDES: a URL typed without a scheme means https.
    if isinstance(db_field, models.URLField):
        kwargs.setdefault("assume_scheme", "https")
    return db_field.formfield(**kwargs)


class LinkForm(forms.ModelForm):
    """A row of a post's links, short enough that a reading list fits on a screen or two.

    A heading that is new to the post and close to one it already has ("storage",
    "Storgae" beside "Storage") is refused with the likely meant heading, unless the
    author confirms it: a silent typo would start a group of its own on the page.
    """

    class Meta:
        model = Link
        fields = ["position", "group", "title", "url", "commentary"]
        # markdownx's form field forces its own live-preview widget; a plain one is wanted.
        field_classes = {"commentary": forms.CharField}
        widgets = {
            "group": GroupPicker,
            # Not the admin's URL widget: its "Currently: <link>" line doubles the row.
            "url": forms.URLInput(attrs={"class": "vURLField"}),
            "commentary": CommentaryWidget,
        }
        formfield_callback = _link_formfield

    def __init__(self, *args, groups=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.groups = list(groups)
        self.fields["group"].widget.groups = self.groups

    def clean_group(self):
        heading = self.cleaned_data["group"]
        name = self.add_prefix("group")
        picked = (self.data.get(name) or "").strip()
        typed = (self.data.get(name + GroupPicker.NEW) or "").strip()
        if typed and picked and typed != picked:
            raise ValidationError("Pick a heading or type a new one, not both.")
        if heading and heading not in self.groups:
            self.refuse_near_duplicate(heading, self.groups)
        return heading

    def refuse_near_duplicate(self, heading, headings):
        """Raise if ``heading`` looks like a misspelling of one of ``headings``."""
        similar = similar_heading(heading, headings)
        confirmed = self.data.get(self.add_prefix("group") + GroupPicker.CONFIRM) == heading
        if similar is None or confirmed:
            return
        self.fields["group"].widget.confirm = heading
        raise ValidationError(
            "Did you mean “%(similar)s”? Pick it from the list, or confirm that “%(heading)s”"
            " starts a new group.",
            code="similar_heading",
            params={"similar": similar, "heading": heading},
        )


class LinkFormSet(BaseInlineFormSet):
    """A post's links; every row is offered the headings the post already uses."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.groups = []
        if self.instance.pk is not None:
            used = self.instance.links.order_by("position", "pk").values_list("group", flat=True)
            self.groups = list(dict.fromkeys(g for g in used if g))

    def get_form_kwargs(self, index):
        return {**super().get_form_kwargs(index), "groups": self.groups}

    def clean(self):
        super().clean()
        # Two rows may each type a new heading in one submission: those are compared
        # with each other too (the post's own headings were checked by each form).
        introduced = []
        for form in self.forms:
            heading = getattr(form, "cleaned_data", {}).get("group")
            if not heading or heading in self.groups or heading in introduced:
                continue
            if self.can_delete and self._should_delete_form(form):
                continue
            try:
                form.refuse_near_duplicate(heading, introduced)
            except ValidationError as error:
                form.add_error("group", error)
                continue
            introduced.append(heading)
        self.check_placed_groups()

    def check_placed_groups(self):
        """Every ``[links: Heading]`` line of the body names a heading these links have,
        once: a typo would otherwise leave a hole in the post, silently."""
        try:
            placed = markdown.placed_link_groups(markdown.render(self.instance.body).html)
        except markdown.MarkdownError:
            return  # the body field reports it
        headings = {
            form.cleaned_data.get("group", "")
            for form in self.forms
            if getattr(form, "cleaned_data", {}).get("title")
            and not (self.can_delete and self._should_delete_form(form))
        }
        errors = []
        for heading in dict.fromkeys(placed):
            if heading not in headings:
                known = ", ".join(f"“{h}”" for h in sorted(headings - {""})) or "none yet"
                errors.append(
                    f"The body places links under “{heading}”, but no link has that "
                    f"heading (headings: {known}). Correct the [links: …] line or a "
                    "link's heading."
                )
            elif placed.count(heading) > 1:
                errors.append(f"The body places the links under “{heading}” twice.")
        if errors:
            raise ValidationError(errors)


# --- the post form: publishing buttons --------------------------------------------------


def describe_state(post: Post) -> str:
    """The post's state in words, in the site's time zone: "Draft", "Scheduled for Thu 3
    Dec 2026, 09:00" or "Published Mon 30 Nov 2026"."""
    visibility = post.visibility
    if visibility == "draft":
        return "Draft"
    when = timezone.localtime(post.published_at)
    if visibility == "scheduled":
        return f"Scheduled for {dateformat.format(when, 'D j M Y, H:i')}"
    return f"Published {dateformat.format(when, 'D j M Y')}"


class PostAdminForm(forms.ModelForm):
    """The post form, whose submit buttons decide the post's state.

    The button pressed sets ``status`` and ``published_at`` in ``clean()``, before the
    model's checks run: a refused publication (an image without alt text, …) is a form
    error like any other, and everything the author typed is shown again. Without one of
    these buttons ("Save and continue editing"), the post keeps the state it has now:
    the posted (hidden) ``status`` is the state when the form was opened, and someone may
    have published or unpublished the post since.
    """

    # "Save draft" takes the plain Save's name, so the admin's redirect to the list (and
    # anything that presses Save) works as before.
    SAVE_DRAFT, PUBLISH, SCHEDULE, UNPUBLISH = "_save", "_publish", "_schedule", "_unpublish"
    LABELS = {
        SAVE_DRAFT: "Save draft",
        PUBLISH: "Publish now",
        SCHEDULE: "Schedule for…",
        UNPUBLISH: "Unpublish",
    }
    # Enter in a text field presses the first button: it is the one that keeps the
    # post's state (a scheduled post stays scheduled while its date is ahead).
    BUTTONS = {
        "draft": [SAVE_DRAFT, PUBLISH, SCHEDULE],
        "scheduled": [SCHEDULE, PUBLISH, UNPUBLISH],
        "published": [PUBLISH, SCHEDULE, UNPUBLISH],
    }

    class Meta:
        model = Post
        fields = ["status", "published_at"]
        widgets = {"status": forms.HiddenInput}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Read before a button changes the instance, so that a refused "Publish now"
        # still shows the state that is stored.
        self.visibility = self.instance.visibility
        self.state = describe_state(self.instance)
        if "body" in self.fields:
            # Said before the renderer refuses longer text (with the same figure).
            self.fields["body"].help_text += f" At most {render_budget.MAX_CHARS:,} characters."
        if "published_at" in self.fields:
            self.fields["published_at"].help_text = (
                "When the post goes live. “Schedule for…” needs a date in the future; "
                "“Publish now” keeps a date that has passed, and uses now otherwise."
            )

    @property
    def buttons(self) -> list[tuple[str, str]]:
        """(name, label) of the publishing buttons this post offers, in order."""
        return [(name, self.LABELS[name]) for name in self.BUTTONS[self.visibility]]

    @property
    def pressed(self) -> str | None:
        return next((name for name in self.LABELS if name in self.data), None)

    def clean(self):
        cleaned_data = super().clean()
        pressed = self.pressed
        if pressed is None:
            cleaned_data["status"] = self.instance.status  # as stored, read on this request
            if self.instance.status == Post.Status.PUBLISHED and not cleaned_data.get(
                "published_at"
            ):
                self.add_error(
                    "published_at",
                    "A published or scheduled post keeps its date: give one, or use “Unpublish”.",
                )
            return cleaned_data
        publishes = pressed in (self.PUBLISH, self.SCHEDULE)
        cleaned_data["status"] = Post.Status.PUBLISHED if publishes else Post.Status.DRAFT
        if "published_at" in self.errors:
            return cleaned_data  # a date that does not parse has its own error already
        when, now = cleaned_data.get("published_at"), timezone.now()
        if pressed == self.PUBLISH and (when is None or when > now):
            # As the publish action: a date that has passed is kept, so re-publishing a
            # corrected post does not move it to the top of the lists.
            cleaned_data["published_at"] = now
        elif pressed == self.SCHEDULE and when is None:
            self.add_error(
                "published_at", "To schedule the post, give the date and time it goes live."
            )
        elif pressed == self.SCHEDULE and when <= now:
            self.add_error(
                "published_at",
                "This moment has passed: schedule for a date and time in the future, "
                "or use “Publish now”.",
            )
        return cleaned_data


# --- two editors, one post ---------------------------------------------------------------

OPENED_FIELD = "_opened_revision"


def latest_saved_revision(post):
    return post.revisions.exclude(kind="autosave").select_related("created_by").first()


def guard_against_stale_saves(form_class, post):
    """``form_class``, refusing once a save of ``post`` that would overwrite a save made
    since the form was opened (the page carries the revision it showed).

    The form then shows who changed the post and when, keeps the author's text, and
    carries the new revision: saving again overwrites, knowingly.
    """
    if post is None:
        return form_class

    class StaleSaveGuard(form_class):
        def clean(self):
            cleaned = super().clean()
            opened = self.data.get(OPENED_FIELD)
            latest = latest_saved_revision(post)
            if opened is not None and latest is not None and opened != str(latest.pk):
                who = latest.created_by.get_username() if latest.created_by else "someone"
                when = dateformat.format(timezone.localtime(latest.created_at), "j M Y, H:i:s")
                raise ValidationError(
                    f"This post was changed by {who} at {when}, after you opened it. "
                    "Your text is kept below; compare it with the latest revision, then "
                    "save again to replace that version with yours."
                )
            return cleaned

    return StaleSaveGuard
