from django.utils.functional import SimpleLazyObject

from . import chrome


def site(request):
    """The site chrome (settings, sections, owner links) for templates, loaded when used."""
    site_chrome = SimpleLazyObject(lambda: chrome.get(request))
    return {
        "site_chrome": site_chrome,
        "site_settings": SimpleLazyObject(lambda: site_chrome.settings),
    }
