"""Share-preview links: a signed URL that shows a draft or scheduled post to anyone who
holds it, until it expires or the author revokes it.

A token signs "<post uuid>.<post share_key>" with a ``TimestampSigner``. Its timestamp
sets the expiry (``BYTEPRESS_SHARE_PREVIEW_DAYS``); replacing the post's ``share_key``
revokes every link made before. Nothing is stored per link.
"""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core import signing
from django.urls import reverse

from .seo import absolute_url

# A salt of its own, so that no other value the site signs can pass for a share token.
SALT = "bytepress.sharing.preview"


@dataclass(frozen=True)
class ShareLink:
    url: str
    expires_at: datetime


@dataclass(frozen=True)
class Share:
    """What a valid token names: a post's UUID and the share key it had then."""

    post_uuid: uuid.UUID
    share_key: uuid.UUID
    expires_at: datetime


def lifetime() -> timedelta:
    return timedelta(days=settings.BYTEPRESS_SHARE_PREVIEW_DAYS)


def make_token(post) -> str:
    return _signer().sign(f"{post.uuid.hex}.{post.share_key.hex}")


def new_link(request, post) -> ShareLink:
    """A fresh share link to ``post``, absolute, and when it stops working."""
    token = make_token(post)
    path = reverse("blog:share-preview", kwargs={"token": token})
    return ShareLink(url=absolute_url(request, path), expires_at=_expires_at(token))


def read_token(token: str) -> Share | None:
    """The share a token names, or None when it is tampered with or expired.

    Whether a post still has that UUID and that key is the caller's query: a deleted
    post or a revoked key must look the same as a bad token.
    """
    try:
        value = _signer().unsign(token, max_age=lifetime())
        post_uuid, share_key = (uuid.UUID(part) for part in value.split("."))
    except (signing.BadSignature, ValueError):
        return None
    return Share(post_uuid=post_uuid, share_key=share_key, expires_at=_expires_at(token))


def revoke(post) -> None:
    """Give ``post`` a new share key: every link made before stops working."""
    post.share_key = uuid.uuid4()
    # update(), not save(): revoking changes no content, so nothing is re-rendered and
    # updated_at keeps its meaning.
    type(post).objects.filter(pk=post.pk).update(share_key=post.share_key)


def _signer() -> signing.TimestampSigner:
    return signing.TimestampSigner(salt=SALT)


def _expires_at(token: str) -> datetime:
    # A signed token reads "value:timestamp:signature"; the value holds no colon.
    stamp = token.rsplit(":", 2)[1]
    return datetime.fromtimestamp(signing.b62_decode(stamp), tz=UTC) + lifetime()
