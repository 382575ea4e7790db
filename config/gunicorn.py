"""Gunicorn's settings for Bytepress: `gunicorn -c config/gunicorn.py` (what `make serve`
and deploy/bytepress.service run).

Environment:
- BYTEPRESS_BIND: where to listen (default 127.0.0.1:8000: nginx in front, never the
  world); a unix socket is written unix:/run/bytepress/gunicorn.sock.
- WEB_CONCURRENCY: worker processes (default 2 x CPUs + 1, at most MAX_DEFAULT_WORKERS).
- GUNICORN_TIMEOUT: seconds a request may take before its worker is replaced (default 30).

Logs, access and errors alike, go to stdout one line per event, through the same
formatter as Django's (config.settings.OneLineFormatter).
"""

import os
import sys

# Each sync worker holds a whole Django process (about 60-100 MB); past this many, a big
# machine is better used by more instances behind the load balancer than by one.
MAX_DEFAULT_WORKERS = 12


def _positive_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    if not value.isdigit() or int(value) < 1:
        # One line and no traceback, as config/settings.py refuses a bad variable.
        sys.exit(f"Bytepress configuration error: {name} must be a whole number above 0.")
    return int(value)


def default_workers() -> int:
    """Two per CPU plus one: a sync worker spends much of a request waiting on the
    database or Redis, so a CPU can keep about two busy."""
    return min(2 * (os.cpu_count() or 1) + 1, MAX_DEFAULT_WORKERS)


wsgi_app = "config.wsgi:application"
bind = [os.environ.get("BYTEPRESS_BIND", "").strip() or "127.0.0.1:8000"]
workers = _positive_int("WEB_CONCURRENCY", default_workers())
worker_class = "sync"

timeout = _positive_int("GUNICORN_TIMEOUT", 30)
# A restart or deploy lets requests in flight finish for this long.
graceful_timeout = 30
# nginx keeps connections to the upstream open; a little longer than its idle timeout
# would be wasted, so keep it short.
keepalive = 5
# Recycle each worker after a while, so that a slow leak never grows without bound; the
# jitter keeps them from restarting all at once.
max_requests = 2000
max_requests_jitter = 200

# Gunicorn 25+ opens a control socket at a fixed path in $HOME or $XDG_RUNTIME_DIR: two
# instances on one machine would fight over it, and systemd already controls the process.
control_socket_disable = True

accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
# Behind nginx the peer is always 127.0.0.1: log the client nginx saw as well.
access_log_format = '%(h)s %({x-forwarded-for}i)s "%(r)s" %(s)s %(B)s %(M)sms "%(f)s" "%(a)s"'
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"one_line": {"()": "config.settings.OneLineFormatter"}},
    "handlers": {
        "stdout": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stdout",
            "formatter": "one_line",
        },
    },
    "root": {"level": "INFO", "handlers": ["stdout"]},
    "loggers": {
        "gunicorn.error": {"level": loglevel.upper(), "handlers": ["stdout"], "propagate": False},
        "gunicorn.access": {"level": "INFO", "handlers": ["stdout"], "propagate": False},
    },
}
