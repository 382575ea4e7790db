import time

from django.core.management.base import BaseCommand, CommandError

from blog.demo.seed import seed_demo, seed_synthetic


class Command(BaseCommand):
    help = (
        "Load the demo blog (safe to run again: nothing that exists is changed). "
        "With --posts N, also add N synthetic published posts in bulk."
    )

    def add_arguments(self, parser):
        parser.add_argument("--posts", type=int, default=0, help="How many synthetic posts to add.")

    def handle(self, *args, posts, **options):
        if posts < 0:
            raise CommandError("--posts must be zero or more.")
        created = seed_demo()
        if created:
            self.stdout.write(self.style.SUCCESS(f"Demo content: created {created} objects."))
        else:
            self.stdout.write("Demo content already present; nothing changed.")
        if posts:
            started = time.monotonic()
            count = seed_synthetic(posts)
            elapsed = time.monotonic() - started
            self.stdout.write(
                self.style.SUCCESS(f"Added {count} synthetic posts in {elapsed:.1f} s.")
            )
