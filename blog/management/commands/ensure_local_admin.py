import os
import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.urls import reverse

CREDENTIALS_FILE = Path(settings.BASE_DIR) / ".local-admin"


class Command(BaseCommand):
    help = (
        "For local development: create an admin account with a generated password if no "
        "superuser exists, and print how to log in."
    )

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")
        parser.add_argument(
            "--origin",
            default="http://127.0.0.1:8000",
            help="Where the site runs; the login address is the admin's under it.",
        )

    def handle(self, *args, username, origin, **options):
        # The admin's address follows BYTEPRESS_ADMIN_PATH.
        url = origin.rstrip("/") + reverse("admin:index")
        users = get_user_model().objects
        if not users.filter(is_superuser=True).exists():
            password = secrets.token_urlsafe(12)
            users.create_superuser(username=username, email="", password=password)
            CREDENTIALS_FILE.write_text(f"{username}\n{password}\n")
            os.chmod(CREDENTIALS_FILE, 0o600)
            self._print(url, username, password, created=True)
            return
        saved = CREDENTIALS_FILE.read_text().split() if CREDENTIALS_FILE.exists() else []
        if len(saved) == 2 and users.filter(username=saved[0], is_superuser=True).exists():
            self._print(url, saved[0], saved[1], created=False)
        else:
            self.stdout.write(
                f"An admin account already exists. Log in at {url}; to reset a password run "
                "`.venv/bin/python manage.py changepassword <username>`."
            )

    def _print(self, url, username, password, *, created):
        line = "=" * 60
        what = "Created a local admin account" if created else "Local admin account"
        self.stdout.write(
            f"{line}\n{what}. Log in at {url}\n  user name: {username}\n"
            f"  password:  {password}\n(also saved in .local-admin, which git ignores)\n{line}"
        )
