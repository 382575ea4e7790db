"""What a serving process loads: only the drivers its settings use.

psycopg (blog/fields.py) and the S3 SDK (blog/images.storage_errors) are each about
11 MB of resident memory in every gunicorn process: a SQLite site with media on its own
disk holds neither.
"""

import os
import subprocess
import sys

from django.conf import settings

LOADS_THE_SITE = (
    "import sys, django\n"
    "django.setup()\n"
    "import config.urls, config.wsgi\n"
    "from blog import admin, feeds, models, search, sitemaps, views\n"
    "drivers = {'psycopg', 'psycopg2', 'boto3', 'botocore'}\n"
    "print(sorted({name.split('.')[0] for name in sys.modules} & drivers))\n"
)


def loaded_drivers(database_url: str, **more) -> str:
    env = {key: value for key, value in os.environ.items() if not key.startswith("DJANGO_")}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings", DJANGO_DEBUG="1", DATABASE_URL=database_url
    )
    env.update(more)
    result = subprocess.run(
        [sys.executable, "-c", LOADS_THE_SITE],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_a_sqlite_site_on_its_own_disk_loads_neither_driver(tmp_path):
    assert loaded_drivers(f"sqlite:///{tmp_path / 'db.sqlite3'}", MEDIA_STORAGE="local") == "[]"


def test_a_postgresql_site_loads_its_search_support():
    # Settings only: no connection is made, so no server is needed.
    assert loaded_drivers("postgres://nobody@127.0.0.1:5432/nothing", MEDIA_STORAGE="local") == (
        "['psycopg']"
    )
