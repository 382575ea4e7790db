from django.core.management.base import BaseCommand

from blog.services import rerender_all


class Command(BaseCommand):
    help = "Re-render the stored HTML of every post body, series description and link."

    def handle(self, *args, **options):
        counts = rerender_all()
        summary = ", ".join(f"{count} {name}" for name, count in counts.items())
        self.stdout.write(self.style.SUCCESS(f"Re-rendered {summary}."))
