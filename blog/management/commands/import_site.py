from functools import partial

from django.core.management.base import BaseCommand, CommandError

from blog import bundle
from blog.progress import progress


class Command(BaseCommand):
    help = (
        "Restore a bundle written by export_site into a database without content (run "
        "`manage.py migrate` first). The bundle is checked whole before anything is "
        "written, and the restore is one transaction: on any problem nothing is imported. "
        "Renditions, rendered HTML and the search index are rebuilt."
    )

    def add_arguments(self, parser):
        parser.add_argument("directory", help="The bundle's folder.")

    def handle(self, *args, directory, **options):
        try:
            result = bundle.import_site(directory, progress=partial(progress, stream=self.stderr))
        except bundle.BundleError as exc:
            problems = "\n".join(f"  {problem}" for problem in exc.problems)
            raise CommandError(
                f"Nothing was imported: the bundle in {directory} has problems:\n{problems}"
            ) from None
        except bundle.NotEmptyError as exc:
            raise CommandError(f"Nothing was imported: {exc}") from None
        self.stdout.write(
            self.style.SUCCESS(
                f"Imported {bundle.describe(result.counts)}; made {result.renditions} rendition(s)."
            )
        )
