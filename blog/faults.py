"""What the site does when something under it fails.

The database out of reach: readers, feeds, search and the admin get a styled 503 page
with ``Retry-After`` (templates/503.html, made without the database), the log gets one
line, and the site recovers by itself when the database returns: a connection that broke
is found unusable and closed at the end of the request (``CONN_MAX_AGE`` with health
checks), and the next request opens a new one. A page kept by the page cache is not
served during an outage either: its key holds the content version, which only the
database knows, and a guessed version could serve a page the author has since changed.

Files stored by a transaction that does not commit: an upload's original and its
renditions are written to storage before their rows are. ``delete_unless_committed``
registers such a file; ``atomic_with_files`` deletes the files registered inside it when
it rolls back, and the files left by a rolled-back outer transaction are deleted at the
end of the request. A file is only ever deleted when no row points at it.
"""

import itertools
import logging
import sys
from contextlib import contextmanager
from dataclasses import dataclass

from asgiref.local import Local
from django.core.signals import got_request_exception, request_finished
from django.db import Error, InterfaceError, OperationalError, connection, transaction
from django.dispatch import receiver
from django.http import HttpResponse
from django.template.loader import render_to_string
from django.utils.cache import add_never_cache_headers

logger = logging.getLogger(__name__)

# Seconds a client (or a proxy) is asked to wait before trying again.
RETRY_AFTER = 30

# PostgreSQL's SQLSTATEs that mean "no usable connection": class 08 (connection
# exception), the server shutting down or starting up, and every connection slot taken.
# Other server errors (a cancelled statement, a deadlock) are a query's, not the
# database's absence.
_UNAVAILABLE_SQLSTATES = {"57P01", "57P02", "57P03", "53300"}
# SQLite has no server: a database it cannot open is the only way for it to be "down".
_SQLITE_UNAVAILABLE = ("unable to open database file",)


# --- the database out of reach --------------------------------------------------------


def means_database_unavailable(exc: BaseException | None) -> bool:
    """Whether a database error means the database cannot be reached (the connection
    could not be made, or was lost), as opposed to a bad or unlucky query."""
    if isinstance(exc, InterfaceError):
        return True  # used a connection that is already closed
    if not isinstance(exc, OperationalError):
        return False
    driver_error = exc.__cause__
    if type(driver_error).__module__.startswith("psycopg"):
        # psycopg gives no SQLSTATE to what happens on the client's side: a connection
        # refused, timed out or closed by the server under a query.
        sqlstate = getattr(driver_error, "sqlstate", None) or getattr(driver_error, "pgcode", None)
        return sqlstate is None or sqlstate.startswith("08") or sqlstate in _UNAVAILABLE_SQLSTATES
    message = str(exc).lower()
    return any(text in message for text in _SQLITE_UNAVAILABLE)


def unavailable_response() -> HttpResponse:
    """The styled 503 page; it needs no database (the site chrome lives there)."""
    response = HttpResponse(render_to_string("503.html"), status=503)
    response["Retry-After"] = str(RETRY_AFTER)
    # XFrameOptionsMiddleware sits inside this middleware and never sees this page.
    response["X-Frame-Options"] = "DENY"
    # Neither a browser nor a proxy may keep the outage once the database is back.
    add_never_cache_headers(response)
    # Logged here in one line: Django's own "Service Unavailable" line would repeat it.
    response._has_been_logged = True
    return response


def _log_unavailable(request, exc: BaseException) -> None:
    first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    logger.error(
        "Database unavailable, answered 503 to %s %s: %s", request.method, request.path, first_line
    )


class _SkipLoggedDatabaseOutage(logging.Filter):
    """Drops django.request's traceback for an outage this module has logged in one line."""

    def filter(self, record):
        exc = record.exc_info[1] if record.exc_info else None
        return not means_database_unavailable(exc)


class DatabaseUnavailableMiddleware:
    """Turn "cannot reach the database" into the 503 page, wherever it is raised.

    A view's error comes to ``process_exception``. An error in another middleware (the
    page cache reads the site's version before any view runs) has already been made
    into a 500 by Django when it gets here: the ``got_request_exception`` receiver below
    marks the request, and the 500 is replaced. Sits outside every middleware that may
    query the database (after SecurityMiddleware, whose headers the 503 keeps).
    """

    def __init__(self, get_response):
        self.get_response = get_response
        request_logger = logging.getLogger("django.request")
        if not any(isinstance(f, _SkipLoggedDatabaseOutage) for f in request_logger.filters):
            request_logger.addFilter(_SkipLoggedDatabaseOutage())

    def __call__(self, request):
        response = self.get_response(request)
        lost = getattr(request, "_bytepress_database_unavailable", None)
        if lost is not None and response.status_code >= 500:
            _log_unavailable(request, lost)
            return unavailable_response()
        return response

    def process_exception(self, request, exception):
        if not means_database_unavailable(exception):
            return None
        _log_unavailable(request, exception)
        return unavailable_response()


@receiver(got_request_exception)
def note_database_unavailable(sender, request=None, **kwargs):
    exc = sys.exc_info()[1]
    if request is not None and means_database_unavailable(exc):
        request._bytepress_database_unavailable = exc


# --- files of transactions that do not commit -------------------------------------------


@dataclass(frozen=True)
class _StoredFile:
    storage: object
    name: str
    model: type
    field: str


_local = Local()
_tokens = itertools.count()


def _pending() -> dict[int, _StoredFile]:
    """This thread's stored files whose transaction has not committed yet."""
    if not hasattr(_local, "files"):
        _local.files = {}
    return _local.files


def delete_unless_committed(file) -> None:
    """Register a file just stored for a row of the transaction in progress (a
    FieldFile: ``image.file``, ``rendition.file``): it is deleted if that transaction
    does not commit, since no row will ever point at it.

    Call it inside the atomic block that writes the row; outside any, the row is taken
    as written already and nothing is registered.
    """
    if not connection.in_atomic_block:
        return
    pending = _pending()
    token = next(_tokens)
    pending[token] = _StoredFile(file.storage, file.name, type(file.instance), file.field.name)
    transaction.on_commit(lambda: pending.pop(token, None), robust=True)


@contextmanager
def atomic_with_files():
    """``transaction.atomic()`` for a write that stores files: the files registered in
    it are deleted if it rolls back; as the outermost block, it also deletes those that
    earlier rolled-back transactions of this thread left behind."""
    first = next(_tokens)
    try:
        with transaction.atomic():
            yield
    except BaseException:
        pending = _pending()
        _delete_unreferenced([pending.pop(t) for t in list(pending) if t > first])
        raise
    finally:
        if not connection.in_atomic_block:
            delete_files_of_rolled_back_transactions()


@receiver(request_finished)
def delete_files_of_rolled_back_transactions(**kwargs) -> None:
    """Delete the registered files whose transaction ended without committing (an outer
    block that rolled back after the one that stored them had finished)."""
    pending = _pending()
    if not pending or connection.in_atomic_block:
        return
    left = list(pending.values())
    pending.clear()
    _delete_unreferenced(left)


def _delete_unreferenced(files: list[_StoredFile]) -> None:
    """Delete the files that no row points at. A commit hook that did not run (an
    earlier hook raised) must never cost a live file, so the rows are asked first."""
    by_column: dict[tuple[type, str], list[_StoredFile]] = {}
    for stored in files:
        by_column.setdefault((stored.model, stored.field), []).append(stored)
    for (model, field), group in by_column.items():
        try:
            used = set(
                model._default_manager.filter(
                    **{f"{field}__in": [f.name for f in group]}
                ).values_list(field, flat=True)
            )
        except Error as exc:  # the database is gone too: better an orphan than a loss
            logger.warning("Could not check %d stored file(s), kept: %s", len(group), exc)
            continue
        for stored in group:
            if stored.name not in used:
                _delete_quietly(stored)


def _delete_quietly(stored: _StoredFile) -> None:
    # Called while another error is on its way up: a storage that fails here (the same
    # bucket that just failed, say) is logged, never raised over the first error.
    try:
        stored.storage.delete(stored.name)
    except Exception as exc:  # any storage backend's error
        logger.warning("Could not delete the unused file %s: %s", stored.name, exc)
