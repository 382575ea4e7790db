from functools import partial

from django.core.management.base import BaseCommand

from blog.progress import progress
from blog.services import rerender_all


class Command(BaseCommand):
    help = "Re-render the stored HTML of every post body, series description and link."

    def handle(self, *args, **options):
        counts = rerender_all(progress=partial(progress, stream=self.stderr))
        summary = ", ".join(f"{count} {name}" for name, count in counts.items())
        self.stdout.write(self.style.SUCCESS(f"Re-rendered {summary}; search index rebuilt."))
