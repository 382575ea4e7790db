from django.core.management.base import BaseCommand
from django.db.models import Q

from blog.models import Image, Post
from blog.renditions import drop_missing, ensure_renditions


class Command(BaseCommand):
    help = (
        "Make the renditions that library images are missing (also those whose files are "
        "gone from storage). Safe to run at any time, as often as you like."
    )

    def handle(self, *args, **options):
        images = made = dropped = 0
        for image in Image.objects.order_by("pk").iterator():
            try:
                dropped += drop_missing(image)
                new = ensure_renditions(image)
            except OSError as exc:  # an unreadable original must not stop the others
                self.stderr.write(f"Image {image.pk} ({image.file.name}): {exc}")
                continue
            finally:
                images += 1
            if new:
                made += len(new)
                # Posts store their <picture> markup: give them the new renditions.
                for post in Post.objects.filter(Q(cover=image) | Q(body_images=image)).distinct():
                    post.save()
        self.stdout.write(
            self.style.SUCCESS(
                f"{images} image(s) checked: {made} rendition(s) made, "
                f"{dropped} with missing files replaced."
            )
        )
