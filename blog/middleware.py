"""Old addresses keep working: where the site finds nothing, a Redirect answers 301."""

from django.http import HttpResponsePermanentRedirect
from django.utils.cache import patch_cache_control
from django.utils.encoding import iri_to_uri

from .models import Redirect

# A browser keeps a 301 without an expiry for good. A page can move back, and then a
# stale copy of the old redirect would send that browser round in a loop: a day bounds it.
REDIRECT_MAX_AGE = 24 * 60 * 60


class RedirectMiddleware:
    """Answer 301 from a Redirect's old path to its new one, query string kept.

    Only a 404 is looked up, so every page that exists runs no extra query and a live
    page always wins over a redirect from its address. Sits inside CommonMiddleware: a
    path without its trailing slash (or with one too many) is looked up both ways here
    and sent straight to the new page, not first to the slashed old one.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.status_code != 404:
            return response
        path = request.path
        other = path.removesuffix("/") if path.endswith("/") else path + "/"
        found = dict(
            Redirect.objects.filter(old_path__in=[path, other]).values_list("old_path", "new_path")
        )
        target = found.get(path) or found.get(other)
        if target is None:
            return response
        query = request.META.get("QUERY_STRING", "")
        if query:
            target = f"{target}?{iri_to_uri(query)}"
        redirect = HttpResponsePermanentRedirect(target)
        patch_cache_control(redirect, max_age=REDIRECT_MAX_AGE)
        return redirect


def head_without_body(get_response):
    """Send a HEAD answer without its body, and with its GET's Content-Length.

    Django leaves the body in; gunicorn then drops it itself and logs a warning for every
    HEAD request (feed readers and link checkers send many).
    """

    def middleware(request):
        response = get_response(request)
        if request.method == "HEAD" and not response.streaming and response.content:
            if not response.has_header("Content-Length"):
                response["Content-Length"] = str(len(response.content))
            response.content = b""
        return response

    return middleware
