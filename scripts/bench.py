"""Benchmark: requests per second and latency per page type under gunicorn.

Seeds a throw-away SQLite database with the demo blog plus 10,000 synthetic posts, starts
gunicorn on 127.0.0.1 with production settings, and requests each page type from a few
client threads, next to a static file served by WhiteNoise as the baseline.

    make bench                      # defaults below
    BENCH_POSTS=2000 BENCH_REQUESTS=200 make bench

Traffic goes to 127.0.0.1 only, and every loop is bounded by a request count.
"""

import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
PORT = int(os.environ.get("BENCH_PORT", "8765"))
POSTS = int(os.environ.get("BENCH_POSTS", "10000"))
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "400"))
CLIENTS = int(os.environ.get("BENCH_CLIENTS", "4"))
WORKERS = int(os.environ.get("BENCH_WORKERS", "2"))


def manage(env, *args):
    subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, env=env, check=True)


def fetch(url):
    started = time.perf_counter()
    with urllib.request.urlopen(url, timeout=30) as response:
        response.read()
        status = response.status
    return status, time.perf_counter() - started


def hammer(url, total, clients):
    """Send ``total`` GETs from ``clients`` threads; return latencies and wall time."""
    latencies, errors = [], []
    lock = threading.Lock()
    per_client = total // clients

    def run():
        for _ in range(per_client):
            try:
                status, seconds = fetch(url)
            except Exception as exc:  # a failed request is reported, not retried
                with lock:
                    errors.append(repr(exc))
                continue
            with lock:
                (latencies if status == 200 else errors).append(seconds)

    threads = [threading.Thread(target=run) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, errors, time.perf_counter() - started


def main():
    workdir = Path(tempfile.mkdtemp(prefix="bytepress-bench-"))
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DJANGO_SECURE_SSL_REDIRECT": "0",
        "DJANGO_SECURE_COOKIES": "0",
        "DATABASE_URL": f"sqlite:///{workdir / 'bench.sqlite3'}",
        "MEDIA_ROOT": str(workdir / "media"),
        "DJANGO_LOG_LEVEL": "WARNING",
    }
    print(f"Seeding {POSTS} posts in {workdir} …", flush=True)
    manage(env, "migrate", "--noinput", "-v0")
    manage(env, "seed_demo", "--posts", str(POSTS))
    manage(env, "collectstatic", "--noinput", "-v0")

    sys.path.insert(0, str(ROOT))
    import django

    os.environ.update(env)
    django.setup()
    from blog.models import Post, Series, Tag

    post = Post.objects.published().select_related("section").order_by("-published_at")[100]
    series = Series.objects.filter(slug__startswith="synthetic-").order_by("pk").first()
    tag = Tag.objects.get(name__iexact="caching")
    from django.templatetags.static import static

    pages = {
        "static file (baseline)": static("css/site.css"),
        "home": "/",
        "section": post.section.get_absolute_url(),
        "section, page 50": post.section.get_absolute_url() + "?page=50",
        "post": post.get_absolute_url(),
        "series": series.get_absolute_url(),
        "tag": tag.get_absolute_url(),
        "tag index": "/tags/",
        "archive": "/archive/",
        "search": "/search/?q=caching+measured",
        "feed (RSS)": "/feed/",
        "feed (JSON)": "/feed.json",
        "sitemap": "/sitemap.xml",
    }
    server = subprocess.Popen(
        [
            PYTHON, "-m", "gunicorn", "config.wsgi", "--bind", f"127.0.0.1:{PORT}",
            "--workers", str(WORKERS), "--log-level", "warning",
        ],
        cwd=ROOT,
        env=env,
    )  # fmt: skip
    try:
        base = f"http://127.0.0.1:{PORT}"
        for _ in range(100):
            try:
                fetch(base + "/robots.txt")
                break
            except OSError:
                time.sleep(0.2)
        print(
            f"\n{POSTS} posts · gunicorn {WORKERS} workers · {CLIENTS} clients · "
            f"{REQUESTS} requests per page\n"
        )
        print(f"{'page':<24}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}")
        for name, path in pages.items():
            hammer(base + path, CLIENTS * 5, CLIENTS)  # warm caches and connections
            latencies, errors, wall = hammer(base + path, REQUESTS, CLIENTS)
            if not latencies:
                print(f"{name:<24}{'-':>9}{'-':>9}{'-':>9}{len(errors):>8}")
                continue
            ordered = sorted(latencies)
            p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
            print(
                f"{name:<24}{len(latencies) / wall:>9.0f}"
                f"{statistics.median(ordered) * 1000:>9.1f}{p99 * 1000:>9.1f}{len(errors):>8}"
            )
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
