from collections import Counter
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from blog.importers.common import SKIPPED, UNCHANGED, Importer, choose_author, find_section
from blog.importers.wordpress import BrokenExport, read_export, to_source, uploads_path
from blog.models import ImportRecord
from blog.progress import progress

CONTENT_TYPES = ("post", "page")


class Command(BaseCommand):
    help = (
        "Import a WordPress export (WXR, from Tools › Export): posts, pages, tags, "
        "categories as sections, images (with --media) and old addresses as redirects. "
        "Safe to run again: posts are updated, never duplicated."
    )

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="+", help="The export's XML file(s).")
        parser.add_argument(
            "--media",
            help="The wp-content/uploads folder copied from the old site: its images go "
            "into the library (without it, attachments are skipped).",
        )
        parser.add_argument(
            "--section",
            help="Slug of the section for posts whose categories name no section "
            "(without it, each category becomes a section).",
        )
        parser.add_argument("--author", help="Username of the posts' author (default: the owner).")
        parser.add_argument("--force", action="store_true", help="Overwrite posts edited here.")
        parser.add_argument("--dry-run", action="store_true", help="Report only; write nothing.")

    def handle(self, *args, files, media, section, author, force, dry_run, **options):
        self.verbosity = options["verbosity"]
        media = Path(media).resolve() if media else None
        if media is not None and not media.is_dir():
            raise CommandError(f"--media {media} is not a folder.")
        with transaction.atomic():
            try:
                importer = Importer(
                    kind=ImportRecord.Kind.WORDPRESS,
                    author=choose_author(author),
                    default_section=find_section(section),
                    force=force,
                    dry_run=dry_run,
                )
            except ValueError as exc:
                raise CommandError(str(exc)) from None
            for name in files:
                self.import_file(Path(name), importer, media)
            transaction.set_rollback(dry_run)
        self.stdout.write(self.style.SUCCESS(importer.tally.summary(dry_run=dry_run)))

    def import_file(self, path: Path, importer: Importer, media: Path | None) -> None:
        try:
            items = read_export(path)
        except BrokenExport as exc:
            self.show(importer.skip(f"{path.name}, line {exc.line}", str(exc)))
            return
        except OSError as exc:
            self.show(importer.skip(path.name, exc.strerror or str(exc)))
            return
        images, covers = self.import_attachments(items, importer, media)
        content = [item for item in items if item.type in CONTENT_TYPES]
        others = Counter(
            item.type for item in items if item.type not in (*CONTENT_TYPES, "attachment")
        )
        for item in progress(content, label=f"Importing {path.name}", stream=self.stderr):
            try:
                source = to_source(item, images=images, covers=covers)
            except ValueError as exc:
                self.show(importer.skip(item.name, str(exc)))
                continue
            self.show(importer.run(source))
        if others:
            kinds = ", ".join(f"{count} {kind}" for kind, count in sorted(others.items()))
            self.stdout.write(f"not content, left out: {kinds}")

    def import_attachments(self, items, importer: Importer, media: Path | None):
        """Library images from the attachments whose files are in ``media``: by uploads
        path (for the post bodies) and by attachment id (for covers)."""
        images, covers = {}, {}
        attachments = [item for item in items if item.type == "attachment"]
        for item in progress(attachments, label="Importing images", stream=self.stderr):
            relative = uploads_path(item)
            if media is None:
                self.show(importer.skip(item.name, "its file is not given (--media DIR)"))
                continue
            path = media / relative if relative else None
            if path is None or not path.is_file():
                self.show(importer.skip(item.name, f"file not found: {relative or '(none)'}"))
                continue
            result, image = importer.run_image(
                path,
                source_id=item.source_id,
                name=item.name,
                alt=item.meta.get("_wp_attachment_image_alt", ""),
                caption=item.fields.get("excerpt:encoded", "").strip(),
                title=item.fields.get("title", "").strip(),
            )
            self.show(result)
            if image is not None:
                images[relative] = covers[item.fields.get("wp:post_id", "")] = image
        return images, covers

    def show(self, result) -> None:
        style = self.style.WARNING if result.outcome == SKIPPED else (lambda text: text)
        if result.outcome != UNCHANGED or self.verbosity > 1:
            self.stdout.write(style(result.line()))
