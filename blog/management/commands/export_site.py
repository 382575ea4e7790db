from functools import partial

from django.core.management.base import BaseCommand, CommandError

from blog import bundle
from blog.progress import progress


class Command(BaseCommand):
    help = (
        "Write the whole site to DIR (new or empty) as a portable bundle: a Markdown file "
        "with YAML front matter per post and page, JSON for everything else, and the "
        "original media files. The same content always gives the same bytes."
    )

    def add_arguments(self, parser):
        parser.add_argument("directory", help="Where to write the bundle (new or empty).")

    def handle(self, *args, directory, **options):
        try:
            counts = bundle.export_site(directory, progress=partial(progress, stream=self.stderr))
        except bundle.ExportError as exc:
            raise CommandError(f"Nothing was exported: {exc}") from None
        self.stdout.write(self.style.SUCCESS(f"Exported {bundle.describe(counts)} to {directory}."))
