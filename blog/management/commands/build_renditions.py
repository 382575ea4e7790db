from django.core.management.base import BaseCommand

from blog import services
from blog.images import storage_errors
from blog.models import Image
from blog.progress import progress
from blog.renditions import drop_missing, ensure_renditions


class Command(BaseCommand):
    help = (
        "Make the renditions that library images are missing (also those whose files are "
        "gone from storage). Safe to run at any time, as often as you like."
    )

    def handle(self, *args, **options):
        images = made = dropped = 0
        library = Image.objects.order_by("pk")
        rows = progress(
            library.iterator(), total=library.count(), label="Images", stream=self.stderr
        )
        for image in rows:
            try:
                dropped += drop_missing(image)
                new = ensure_renditions(image)
            # An unreadable original, or a storage that fails, must not stop the others.
            except storage_errors() as exc:
                self.stderr.write(f"Image {image.pk} ({image.file.name}): {exc}")
                continue
            finally:
                images += 1
            if new:
                made += len(new)
                # Posts store their <picture> markup: give them the new renditions (not an
                # edit of theirs: no revision, no "Updated" date).
                services.refresh_posts_showing(image)
        self.stdout.write(
            self.style.SUCCESS(
                f"{images} image(s) checked: {made} rendition(s) made, "
                f"{dropped} with missing files replaced."
            )
        )
