"""Side effects of content changes: the search index and the cached site chrome."""

from django.core.files.storage import default_storage
from django.db.models import Q
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete
from django.dispatch import receiver

from . import chrome, renditions, search
from .models import (
    AuthorProfile,
    Image,
    Link,
    Post,
    ProfileLink,
    Rendition,
    Section,
    SiteSettings,
)


@receiver(post_save, sender=Post)
def index_saved_post(sender, instance, raw=False, **kwargs):
    if not raw:
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
