"""Side effects of content changes: the search index and the cached site chrome."""

from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver

from . import chrome, search
from .models import AuthorProfile, Link, Post, ProfileLink, Section, SiteSettings


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
def index_post_of_link(sender, instance, raw=False, **kwargs):
    if not raw and Post.objects.filter(pk=instance.post_id).exists():
        search.index_post(instance.post_id)


@receiver([post_save, post_delete], sender=SiteSettings)
@receiver([post_save, post_delete], sender=Section)
@receiver([post_save, post_delete], sender=AuthorProfile)
@receiver([post_save, post_delete], sender=ProfileLink)
def refresh_site_chrome(sender, **kwargs):
    chrome.invalidate()
