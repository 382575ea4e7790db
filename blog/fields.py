"""Model fields that keep PostgreSQL's driver out of a SQLite site's processes.

``django.contrib.postgres`` imports psycopg, about 11 MB of resident memory in every
process; a site on SQLite never talks to PostgreSQL, and its gunicorn tree holds that
memory once per worker for nothing.
"""

from django.conf import settings
from django.db import models


def uses_postgres() -> bool:
    return "postgresql" in settings.DATABASES["default"]["ENGINE"]


class _TsVectorColumn(models.Field):
    """The column of Django's ``SearchVectorField``, for a database that only carries it.

    It deconstructs as Django's field, so migrations are the same on every database.
    """

    def db_type(self, connection):
        return "tsvector"

    def deconstruct(self):
        name, _path, args, kwargs = super().deconstruct()
        return name, "django.contrib.postgres.search.SearchVectorField", args, kwargs


def search_vector_field(**kwargs) -> models.Field:
    """Django's ``SearchVectorField`` on PostgreSQL, where queries use its ``@@`` lookup;
    elsewhere a plain column of the same type, which nothing queries (SQLite searches its
    FTS5 table)."""
    if uses_postgres():
        from django.contrib.postgres.search import SearchVectorField

        return SearchVectorField(**kwargs)
    return _TsVectorColumn(**kwargs)
