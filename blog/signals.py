"""Side effects of content changes: the search index, the cached site chrome, and
redirects from the old addresses of moved pages."""

from django.core.files.storage import default_storage
from django.db.models import Q
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete, pre_save
from django.dispatch import receiver

from . import chrome, renditions, search, selectors, services
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
def refresh_post_of_link(sender, instance, raw=False, **kwargs):
    """A post's links are part of its search entry and of its reading time.

    The admin saves them after the post, whose own save could not count them yet.
    """
    if raw:
        return
    post = Post.objects.filter(pk=instance.post_id).only("pk", "body_text").first()
    if post is None:  # deleted with its links
        return
    search.index_post(post.pk)
    # update(): a changed link is not an edit of the post (updated_at stays).
    Post.objects.filter(pk=post.pk).update(reading_time=post.count_reading_time())


@receiver([post_save, post_delete], sender=SiteSettings)
@receiver([post_save, post_delete], sender=Section)
@receiver([post_save, post_delete], sender=AuthorProfile)
@receiver([post_save, post_delete], sender=ProfileLink)
def refresh_site_chrome(sender, **kwargs):
    chrome.invalidate()


@receiver(post_save, sender=Image)
def make_renditions(sender, instance, created, raw=False, update_fields=None, **kwargs):
    """New images get their renditions at once; a replaced file gets new ones."""
    if raw:
        return
    replaced = getattr(instance, "_replaced_file", None)
    if replaced:
        instance.renditions.all().delete()
        default_storage.delete(replaced)
    if created or replaced:
        renditions.ensure_renditions(instance)
    if not created:
        if SiteSettings.objects.filter(social_image=instance).exists():
            chrome.invalidate()  # the site's social card and its alt text
        # Posts show the image's alt text, caption and renditions: refresh them.
        users = Post.objects.filter(Q(cover=instance) | Q(body_images=instance)).distinct()
        for post in users:
            post.save()


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


# Redirects from moved addresses. Only an address the public could reach gets one: a
# draft's or a scheduled post's, or that of a series or tag with no published post,
# was never public. What was public is read from the stored row before the save.
PUBLIC_ROWS = {
    Post: (lambda: Post.objects.published().select_related("section"), {"slug", "section"}),
    Series: (selectors.public_series, {"slug"}),
    Tag: (selectors.tags_with_counts, {"slug"}),
}


@receiver(pre_save, sender=Post)
@receiver(pre_save, sender=Series)
@receiver(pre_save, sender=Tag)
def remember_public_url(sender, instance, raw=False, update_fields=None, **kwargs):
    instance._public_url_before_save = None
    public_rows, url_fields = PUBLIC_ROWS[sender]
    if raw or instance._state.adding:
        return
    # A save of other fields only (publish, unpublish) cannot move the page.
    if update_fields is not None and url_fields.isdisjoint(
        sender._meta.get_field(name).name for name in update_fields
    ):
        return
    stored = public_rows().filter(pk=instance.pk).first()
    if stored is not None:
        instance._public_url_before_save = stored.get_absolute_url()


@receiver(post_save, sender=Post)
@receiver(post_save, sender=Series)
@receiver(post_save, sender=Tag)
def redirect_moved_url(sender, instance, raw=False, **kwargs):
    old_url = instance.__dict__.pop("_public_url_before_save", None)
    if old_url is not None and not raw:
        services.record_move(old_path=old_url, new_path=instance.get_absolute_url())


@receiver([post_save, post_delete], sender=Page)
def refresh_nav_pages(sender, **kwargs):
    # Any save may add, move, rename or drop a navigation entry; the other pages are too
    # rarely edited to be worth telling apart.
    chrome.invalidate()
