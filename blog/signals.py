"""Side effects of content changes, and only these: the search index, the content
version that cached pages and validators follow (with the site chrome's), and the files
of deleted images. Writes live in blog.services.

The content version moves on any change a reader can see, and only then: editing a
draft that never went public leaves every page's ETag alone (it would tell that
something hidden changed).
"""

from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete, pre_save
from django.dispatch import receiver

from . import chrome, search
from .models import (
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
    SiteVersion,
    Tag,
)

# What the search index reads of a post itself (tags and links have signals of their
# own). The index holds every post, whatever its state, so publishing needs no update.
INDEXED_FIELDS = frozenset({"title", "subtitle", "body", "body_text"})


@receiver(post_save, sender=Post)
def index_saved_post(sender, instance, raw=False, update_fields=None, **kwargs):
    if raw or (update_fields is not None and not INDEXED_FIELDS & set(update_fields)):
        return
    search.index_post(instance.pk)


@receiver(post_delete, sender=Post)
def unindex_deleted_post(sender, instance, **kwargs):
    search.unindex_post(instance.pk)


# The admin saves tags after the post (save_related), so post_save sees the old ones;
# the m2m signal sees the new.
@receiver(m2m_changed, sender=Post.tags.through)
def index_retagged_post(sender, instance, action, reverse, pk_set, **kwargs):
    if not action.startswith("post_"):
        return
    if reverse:  # a tag's posts changed
        for post_id in pk_set or ():
            search.index_post(post_id)
    else:
        search.index_post(instance.pk)


@receiver([post_save, post_delete], sender=Link)
def index_post_of_link(sender, instance, raw=False, **kwargs):
    """A post's links are part of its search entry (its reading time is counted again
    by services.save_post, which saves them)."""
    if not raw and Post.objects.filter(pk=instance.post_id).exists():
        search.index_post(instance.post_id)


def seen_by_readers(post) -> bool:
    """Whether a change to this post shows, now or when it goes live: it is published
    or scheduled, or was until this save (an unpublish)."""
    return post.visibility != "draft" or getattr(post, "_was_published", False)


@receiver(pre_save, sender=Post)
def note_an_unpublish(sender, instance, raw=False, **kwargs):
    instance._was_published = (
        not raw
        and instance.pk is not None
        and instance.status != Post.Status.PUBLISHED
        and Post.objects.published_or_scheduled().filter(pk=instance.pk).exists()
    )


@receiver([post_save, post_delete], sender=Post)
def post_changed(sender, instance, raw=False, **kwargs):
    if not raw and seen_by_readers(instance):
        SiteVersion.bump_content()


@receiver(m2m_changed, sender=Post.tags.through)
def tags_changed(sender, instance, action, reverse, **kwargs):
    if action.startswith("post_") and (reverse or seen_by_readers(instance)):
        SiteVersion.bump_content()


@receiver([post_save, post_delete], sender=Link)
def link_changed(sender, instance, raw=False, **kwargs):
    if not raw and Post.objects.published_or_scheduled().filter(pk=instance.post_id).exists():
        SiteVersion.bump_content()


# Shown on public pages whatever the posts: tag and series names, images. (Pages, as
# part of the navigation, move the chrome's version, which moves the content's.)
@receiver([post_save, post_delete], sender=Tag)
@receiver([post_save, post_delete], sender=Series)
@receiver([post_save, post_delete], sender=Image)
def shown_content_changed(sender, raw=False, **kwargs):
    if not raw:
        SiteVersion.bump_content()


@receiver([post_save, post_delete], sender=SiteSettings)
@receiver([post_save, post_delete], sender=Section)
@receiver([post_save, post_delete], sender=AuthorProfile)
@receiver([post_save, post_delete], sender=ProfileLink)
def refresh_site_chrome(sender, **kwargs):
    chrome.invalidate()


@receiver(post_delete, sender=Rendition)
def delete_rendition_file(sender, instance, **kwargs):
    instance.file.delete(save=False)


@receiver(pre_delete, sender=Image)
def forget_deleted_social_image(sender, instance, **kwargs):
    # The settings' reference is cleared by SET_NULL, an UPDATE that sends no signal.
    if SiteSettings.objects.filter(social_image=instance).exists():
        chrome.invalidate()


@receiver(post_delete, sender=Image)
def delete_original_file(sender, instance, **kwargs):
    instance.file.delete(save=False)


@receiver([post_save, post_delete], sender=Page)
def refresh_nav_pages(sender, **kwargs):
    # Any save may add, move, rename or drop a navigation entry; the other pages are too
    # rarely edited to be worth telling apart.
    chrome.invalidate()
