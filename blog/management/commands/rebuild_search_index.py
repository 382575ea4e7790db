from django.core.management.base import BaseCommand

from blog.search import rebuild_index


class Command(BaseCommand):
    help = "Rebuild the full-text search index from every post (after bulk database edits)."

    def handle(self, *args, **options):
        rebuild_index()
        self.stdout.write(self.style.SUCCESS("Search index rebuilt."))
