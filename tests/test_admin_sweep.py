"""Every admin page of every registered model opens, and every add form saves.

The models come from the admin site's registry, so a model registered later is swept
without anyone adding it here. (Series > Add once answered 500 because no test had
ever opened it.)
"""

import itertools
from urllib.parse import urljoin

import pytest
from django import forms
from django.contrib import admin
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone
from lxml import html as lxml_html

from blog.models import ImportRecord, Post

from .conftest import image_bytes

pytestmark = pytest.mark.django_db

REGISTRY = sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label)
_serial = itertools.count(1)


def import_record():
    return ImportRecord.objects.create(
        kind=ImportRecord.Kind.MARKDOWN,
        source_id="_posts/2021-01-01-sweep.md",
        source_hash="0" * 64,
        post=Post.objects.first(),
        imported_at=timezone.now(),
    )


# Rows that only a command writes, which the admin shows read-only: made here instead of
# through an add form the admin does not offer.
WRITTEN_BY_PROGRAMS = {ImportRecord: import_record}


def url(model, view, *args, query=""):
    name = f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}"
    return reverse(name, args=args) + query


def request_for(user):
    request = RequestFactory().get("/")
    request.user = user
    return request


def get_ok(client, address):
    response = client.get(address)
    assert response.status_code == 200, f"GET {address} answered {response.status_code}"
    return response


def changelist_links(response, base):
    """The filter and date-drilldown links a change list offers, absolute."""
    doc = lxml_html.fromstring(response.content)
    hrefs = doc.xpath(
        "//*[@id='changelist-filter']//a/@href | //nav[contains(@class,'toplinks')]//a/@href"
    )
    return sorted({urljoin(base, href) for href in hrefs})


@pytest.mark.parametrize(
    ("model", "model_admin"), REGISTRY, ids=[m._meta.label for m, _ in REGISTRY]
)
def test_every_admin_page_of_a_registered_model_opens(demo, staff_client, model, model_admin):
    request = request_for(staff_client.user)
    changelist = url(model, "changelist")
    response = get_ok(staff_client, changelist)
    if model_admin.get_search_fields(request):
        get_ok(staff_client, changelist + "?q=a")
    for link in changelist_links(response, changelist):
        get_ok(staff_client, link)

    # The searchable selects (autocomplete_fields) of this model's form.
    for field_name in model_admin.get_autocomplete_fields(request):
        response = staff_client.get(
            reverse("admin:autocomplete"),
            {
                "term": "a",
                "app_label": model._meta.app_label,
                "model_name": model._meta.model_name,
                "field_name": field_name,
            },
        )
        assert response.status_code == 200, f"autocomplete of {field_name}"
        assert "results" in response.json()

    add_status = 200 if model_admin.has_add_permission(request) else 403
    for query in ("", "?_popup=1&_to_field=id"):
        address = url(model, "add", query=query)
        assert staff_client.get(address).status_code == add_status, address

    obj = model_admin.get_queryset(request).first()
    if obj is None and model in WRITTEN_BY_PROGRAMS:  # read-only in the admin
        obj = WRITTEN_BY_PROGRAMS[model]()
    elif obj is None:  # the demo has none (e.g. user groups): add one as a person would
        assert add_through_form(staff_client, model, model_admin).status_code == 302
        obj = model_admin.get_queryset(request).first()
    get_ok(staff_client, url(model, "change", obj.pk))
    get_ok(staff_client, url(model, "history", obj.pk))
    delete_status = 200 if model_admin.has_delete_permission(request, obj) else 403
    address = url(model, "delete", obj.pk)
    assert staff_client.get(address).status_code == delete_status, address


def form_data(response, form_class, files_into):
    """What a person would send: the form as the page shows it, with every empty text
    field and every empty required field filled in with something valid."""
    doc = lxml_html.fromstring(response.content)
    [form] = [f for f in doc.forms if f.get("id", "").endswith("_form")]
    data = {}
    for name, value in form.form_values():
        data.setdefault(name, value)
    n = next(_serial)
    for name, field in form_class.base_fields.items():
        if data.get(name, "").strip():  # an "empty" textarea holds a newline
            continue
        value = filler(name, field, n, required=field.required)
        if isinstance(value, SimpleUploadedFile):
            files_into[name] = value
        elif value is not None:
            data[name] = value
    return data


def filler(name, field, n, *, required):
    if isinstance(field, forms.FileField):
        if required:
            return SimpleUploadedFile(f"sweep-{n}.png", image_bytes("PNG"), "image/png")
        return None
    if isinstance(field, forms.SlugField):
        return f"sweep-{n}"
    if isinstance(field, forms.URLField):
        return f"https://example.org/sweep-{n}"
    if isinstance(field, forms.CharField):
        return "Correct-horse-battery-42" if "password" in name else f"sweep-{n}"
    if not required:
        return None
    if isinstance(field, forms.ModelChoiceField):
        # The newest object: for a one-to-one (a profile's user), the test's own user.
        return str(field.queryset.order_by("-pk").first().pk)
    if isinstance(field, forms.ChoiceField):
        return str(next(value for value, _ in field.choices if value not in ("", None)))
    if isinstance(field, forms.IntegerField):
        return "1"
    raise AssertionError(f"no test value for a required {type(field).__name__}")


def form_errors(response):
    """Each error on the page, with the classes of the row it sits in (the field)."""
    doc = lxml_html.fromstring(response.content)
    return [
        (li.getparent().getparent().get("class"), li.text_content())
        for li in doc.cssselect(".errorlist li")
    ]


def add_through_form(client, model, model_admin, *, popup=False):
    """Open the add page (or popup), fill it in and submit it; returns the response."""
    address = url(model, "add", query="?_popup=1&_to_field=id" if popup else "")
    page = get_ok(client, address)
    files = {}
    data = form_data(page, model_admin.get_form(request_for(client.user)), files)
    if popup:
        data.update({"_popup": "1", "_to_field": "id"})
    return client.post(address, {**data, **files})


@pytest.mark.parametrize(
    ("model", "model_admin"), REGISTRY, ids=[m._meta.label for m, _ in REGISTRY]
)
@pytest.mark.parametrize("popup", [False, True], ids=["page", "popup"])
def test_every_add_form_saves_valid_data(demo, staff_client, model, model_admin, popup):
    request = request_for(staff_client.user)
    before = model.objects.count()
    if not model_admin.has_add_permission(request):  # a singleton that exists already
        assert staff_client.post(url(model, "add"), {}).status_code == 403
        assert model.objects.count() == before
        return
    response = add_through_form(staff_client, model, model_admin, popup=popup)
    if popup:
        # The popup answers with the page that hands the new object to its opener.
        assert response.status_code == 200, form_errors(response)
        assert b"data-popup-response" in response.content, form_errors(response)
    else:
        assert response.status_code == 302, form_errors(response)
    assert model.objects.count() == before + 1
