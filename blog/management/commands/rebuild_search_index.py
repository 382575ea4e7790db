from functools import partial

from django.core.management.base import BaseCommand

from blog.models import SiteVersion
from blog.progress import progress
from blog.search import rebuild_index


class Command(BaseCommand):
    help = "Rebuild the full-text search index from every post (after bulk database edits)."

    def handle(self, *args, **options):
        count = rebuild_index(progress=partial(progress, stream=self.stderr))
        SiteVersion.bump_content()  # search result pages may show other posts now
        self.stdout.write(self.style.SUCCESS(f"Search index rebuilt: {count} post(s) indexed."))
