from django.utils.functional import SimpleLazyObject

from .models import Section, SiteSettings


def site(request):
    """Site settings and navigation sections for templates; queried only when used."""
    return {
        "site_settings": SimpleLazyObject(SiteSettings.load),
        "nav_sections": SimpleLazyObject(lambda: list(Section.objects.all())),
    }
