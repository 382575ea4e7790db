"""The headers that limit what a browser may do with any response of this site.

Content-Security-Policy comes from django-csp (``settings.CONTENT_SECURITY_POLICY``), one
policy for every response, the admin's included: scripts, styles, fonts, frames and
connections from this origin only, images also from the media bucket or its CDN; no
inline script or style, no eval, no plugin, no framing, no other <base> or form target.
The admin needs nothing more: its scripts, django-markdownx's and our editor's are files
under STATIC_URL, the admin's inline <script> elements are JSON data blocks
(``json_script``), which browsers never execute, and Django 5.2's admin templates hold
no inline style but one that only a list with ``actions_on_top`` and
``actions_on_bottom`` both off shows. So no nonce is needed anywhere.

X-Content-Type-Options, Referrer-Policy and Cross-Origin-Opener-Policy come from Django's
SecurityMiddleware (settings.SECURE_*). The middleware here adds the rest.
"""

from pathlib import PurePosixPath

from django.conf import settings
from django.http import FileResponse

from config.media import media_headers

# Features a blog never uses; "()" allows them to no origin, this one included.
# interest-cohort (FLoC) is gone from browsers, browsing-topics (Topics) replaced it: both
# are listed, as browsers skip a feature they do not know.
DENIED_FEATURES = (
    "accelerometer",
    "browsing-topics",
    "camera",
    "display-capture",
    "geolocation",
    "gyroscope",
    "hid",
    "interest-cohort",
    "magnetometer",
    "microphone",
    "midi",
    "payment",
    "publickey-credentials-get",
    "serial",
    "usb",
    "xr-spatial-tracking",
)
PERMISSIONS_POLICY = ", ".join(f"{feature}=()" for feature in DENIED_FEATURES)


def _is_media_file(request, response) -> bool:
    # Only development serves media through Django (config/urls.py); nginx and the
    # bucket send the same headers in production.
    return (
        isinstance(response, FileResponse)
        and response.status_code == 200
        and request.path.startswith(settings.MEDIA_URL)
    )


class SecurityHeadersMiddleware:
    """Permissions-Policy and X-Frame-Options on every response, and the media headers
    of ``config.media.media_headers`` on files under MEDIA_URL.

    It sits outside WhiteNoise and the page cache, so that static files and kept pages,
    which never reach the inner middleware (XFrameOptionsMiddleware among them), get the
    headers too.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        if not getattr(response, "xframe_options_exempt", False):
            response.setdefault("X-Frame-Options", settings.X_FRAME_OPTIONS)
        if _is_media_file(request, response):
            for name, value in media_headers(PurePosixPath(request.path).name).items():
                response[name] = value
        return response
