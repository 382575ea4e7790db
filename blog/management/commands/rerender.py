from functools import partial

from django.core.management.base import BaseCommand, CommandError

from blog.progress import progress
from blog.services import rerender_all


class Command(BaseCommand):
    help = (
        "Re-render the stored HTML of every post body, series description and link. One "
        "that fails is reported and keeps its HTML; the others are re-rendered all the same."
    )

    def handle(self, *args, **options):
        result = rerender_all(progress=partial(progress, stream=self.stderr))
        for failure in result.failures:
            self.stderr.write(f"Could not re-render {failure}")
        summary = ", ".join(f"{count} {name}" for name, count in result.counts.items())
        if not result.failures:
            self.stdout.write(self.style.SUCCESS(f"Re-rendered {summary}; search index rebuilt."))
            return
        self.stdout.write(
            f"Re-rendered {summary}; {len(result.failures)} failed; search index rebuilt."
        )
        # A non-zero exit status, so that a deploy script or cron notices.
        raise CommandError(f"{len(result.failures)} object(s) could not be re-rendered (above).")
