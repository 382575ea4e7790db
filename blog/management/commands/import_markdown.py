from functools import partial
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from blog.importers.common import SKIPPED, Importer, choose_author, find_section
from blog.importers.markdown_files import BrokenFile, discover, local_images, read_source
from blog.models import ImportRecord
from blog.progress import progress


class Command(BaseCommand):
    help = (
        "Import the Markdown posts of a Jekyll or Hugo site (or any folder of Markdown "
        "files with front matter). Safe to run again: posts are updated, never duplicated."
    )

    def add_arguments(self, parser):
        parser.add_argument("folder", help="The site's folder (with _posts/ or content/).")
        parser.add_argument(
            "--section",
            help="Slug of the section for posts whose categories name no section "
            "(without it, a section is made from a post's first category).",
        )
        parser.add_argument("--author", help="Username of the posts' author (default: the owner).")
        parser.add_argument("--force", action="store_true", help="Overwrite posts edited here.")
        parser.add_argument("--dry-run", action="store_true", help="Report only; write nothing.")

    def handle(self, *args, folder, section, author, force, dry_run, **options):
        self.verbosity = options["verbosity"]
        root = Path(folder).resolve()
        if not root.is_dir():
            raise CommandError(f"{folder} is not a folder.")
        files = discover(root)
        if not files:
            raise CommandError(f"No Markdown files under {folder}.")
        with transaction.atomic():
            try:
                importer = Importer(
                    kind=ImportRecord.Kind.MARKDOWN,
                    author=choose_author(author),
                    default_section=find_section(section),
                    force=force,
                    dry_run=dry_run,
                )
            except ValueError as exc:
                raise CommandError(str(exc)) from None
            sources = self.read_all(files, root, importer)
            for source in progress(sources, label="Importing posts", stream=self.stderr):
                self.show(importer.run(source))
            transaction.set_rollback(dry_run)
        self.stdout.write(self.style.SUCCESS(importer.tally.summary(dry_run=dry_run)))

    def read_all(self, files, root, importer) -> list:
        """Every readable source, oldest first (series parts are numbered in that order);
        a file that cannot be read is reported here."""
        sources = []
        for found in files:
            try:
                source = read_source(found, root)
            except BrokenFile as exc:
                self.show(importer.skip(f"{found.relative}, line {exc.line}", str(exc)))
                continue
            except ValueError as exc:
                self.show(importer.skip(found.relative, str(exc)))
                continue
            if source is not None:
                source.prepare = partial(local_images, found=found, root=root, importer=importer)
                sources.append(source)
        sources.sort(key=lambda s: (s.published_at is None, s.published_at or 0, s.name))
        return sources

    def show(self, result) -> None:
        style = self.style.WARNING if result.outcome == SKIPPED else (lambda text: text)
        if result.outcome != "unchanged" or self.verbosity > 1:
            self.stdout.write(style(result.line()))
