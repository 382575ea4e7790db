import time
from functools import partial

from django.core.management.base import BaseCommand, CommandError

from blog.demo.seed import seed_demo, seed_synthetic
from blog.progress import progress


class Command(BaseCommand):
    help = (
        "Load the demo blog (safe to run again: nothing that exists is changed). "
        "With --posts N, also add N synthetic published posts in bulk; with --long, "
        "those posts are long-form (about 1,500 words each), as the bench uses."
    )

    def add_arguments(self, parser):
        parser.add_argument("--posts", type=int, default=0, help="How many synthetic posts to add.")
        parser.add_argument(
            "--long",
            action="store_true",
            help="Make the synthetic posts long-form: about 1,500 words of Markdown each, "
            "1-3 tags, one in five in a series.",
        )

    def handle(self, *args, posts, long, **options):
        if posts < 0:
            raise CommandError("--posts must be zero or more.")
        if long and not posts:
            raise CommandError("--long needs --posts N.")
        created = seed_demo()
        if created:
            summary = f"Demo content: created {created} objects"
        else:
            summary = "Demo content already present, nothing changed"
        if posts:
            started = time.monotonic()
            count = seed_synthetic(posts, long=long, progress=partial(progress, stream=self.stderr))
            elapsed = time.monotonic() - started
            kind = "long-form synthetic" if long else "synthetic"
            summary += f"; added {count} {kind} posts in {elapsed:.1f} s"
        self.stdout.write(self.style.SUCCESS(f"{summary}."))
