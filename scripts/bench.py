"""Benchmark: the reader pages under gunicorn and wrk, against a static-file ceiling.

    make bench             # 10,000 posts, growth 1,000 → 100,000; about 15 min
    BENCH_POSTS=2000 BENCH_DURATION=3 BENCH_GROWTH_POSTS=10000 make bench   # ~6 min

Seeds a scratch SQLite database with the demo blog and long-form synthetic posts
(``seed_demo --posts N --long``), then, for the page cache off (cold,
``BYTEPRESS_PAGE_CACHE=0``) and on (warm, ``=1``), starts gunicorn (2 workers) and loads
each reader page with wrk at 8 connections: a warm-up, then a fixed duration. In the same
gunicorn, WhiteNoise serves a static file of the post page's size: the ceiling every page
is compared with. Queries per request are counted in a separate pass without a server
(Django's test client under ``CaptureQueriesContext``), so counting costs the measured
runs nothing. The same cold pages are then measured at two more archive sizes (the growth
table). Everything is written to ``bench/results.md``; wrk's own output goes to
``bench/raw/`` (ignored by git).

Traffic goes to 127.0.0.1 only; every load run is bounded by wrk's duration, and every
wait by a deadline.

Environment variables (defaults in brackets):
    BENCH_POSTS [10000]           posts in the main run
    BENCH_GROWTH_POSTS [100000]   the large size of the growth table (0 skips the table)
    BENCH_GROWTH_SMALL [1000]     its small size
    BENCH_DURATION [8]            seconds measured per page
    BENCH_WARMUP [2]              seconds of warm-up per page, not measured
    BENCH_CONNECTIONS [8]         wrk connections
    BENCH_WRK_THREADS [1]         wrk threads (one is plenty, and leaves the CPUs to gunicorn)
    BENCH_WORKERS [2]             gunicorn workers
    BENCH_DEEP_PAGE [500]         the deep section page (the last page if there are fewer)
    BENCH_PORT [8765]
    BENCH_KEEP [0]                1 keeps the scratch databases (their folder is printed)
"""

import cProfile
import json
import os
import platform
import pstats
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
RESULTS = ROOT / "bench" / "results.md"
RAW = ROOT / "bench" / "raw"
# The ceiling file sits in STATIC_ROOT, where WhiteNoise finds it when gunicorn starts;
# it is removed when the bench ends.
CEILING_DIR = ROOT / "staticfiles" / "bench-ceiling"
CEILING_PATH = "/static/bench-ceiling/post.html"


def _int(name, default):
    return int(os.environ.get(name, default))


POSTS = _int("BENCH_POSTS", 10_000)
GROWTH_POSTS = _int("BENCH_GROWTH_POSTS", 100_000)
GROWTH_SMALL = _int("BENCH_GROWTH_SMALL", 1_000)
DURATION = _int("BENCH_DURATION", 8)
WARMUP = _int("BENCH_WARMUP", 2)
CONNECTIONS = _int("BENCH_CONNECTIONS", 8)
WRK_THREADS = _int("BENCH_WRK_THREADS", 1)
WORKERS = _int("BENCH_WORKERS", 2)
DEEP_PAGE = _int("BENCH_DEEP_PAGE", 500)
PORT = _int("BENCH_PORT", 8765)
KEEP = os.environ.get("BENCH_KEEP", "0") == "1"
ORIGIN = f"http://127.0.0.1:{PORT}"
SEARCH_QUERY = "query planner"  # two words most long-form bodies contain

# Page keys in table order, with their names and the cold target (a fraction of
# the ceiling; None where there is none).
PAGES = {
    "home": ("home", 0.10),
    "section": ("section, page 1", 0.10),
    "section-deep": ("section, deep page", 0.10),
    "post": ("post (links, series)", 0.10),
    "series": ("series", 0.10),
    "tag": ("tag", 0.10),
    "search": ("search", 0.05),
    "rss": ("RSS feed", 0.05),
    "rss-304": ("RSS 304", 0.60),  # a 304 answer: the warm target applies, cache or not
    "sitemap": ("sitemap page", None),
    # Not a target: the least a Django request costs here (every middleware, a view that
    # renders no template and runs no query but the version's), to read the others by.
    "floor": ("Django floor (robots.txt)", None),
}
WARM_TARGET = 0.60
# Pages measured for reference only, under no target.
REFERENCE = {"floor"}
GROWTH_TARGET = 0.90
MAX_QUERIES = 8
RSS_TARGET_MIB = 150


# --- the probe: run in a subprocess against one database ------------------------------


def probe(out_path: str, profile: bool, ceiling_file: str) -> None:
    """Pick the bench's URLs, count each page's queries and (optionally) profile it.

    Runs in its own process, under the environment of one database and one page-cache
    setting, because Django reads both once at start-up. Writes JSON to ``out_path``.
    """
    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from blog.models import Link, Post, Section, SiteSettings, Tag

    published = Post.objects.published()
    with_parts = published.filter(series__isnull=False, pk__in=Link.objects.values("post"))
    candidates = list(with_parts.order_by("-published_at").values_list("pk", flat=True)[:21])
    # Not the newest post: its prev/next and series neighbours are not typical.
    post = Post.objects.select_related("section", "series").get(pk=candidates[-1])
    tag = Tag.objects.filter(tagged_posts__content_object=post).order_by("pk").first()
    section = Section.objects.get(pk=post.section_id)
    per_page = SiteSettings.load().posts_per_page
    last_page = max(1, -(-published.filter(section=section).count() // per_page))
    deep = min(DEEP_PAGE, last_page)
    client = Client(HTTP_HOST=urlsplit(ORIGIN).netloc)

    urls = {
        "home": "/",
        "section": section.get_absolute_url(),
        "section-deep": f"{section.get_absolute_url()}?page={deep}",
        "post": post.get_absolute_url(),
        "series": post.series.get_absolute_url(),
        "tag": tag.get_absolute_url(),
        "search": "/search/?q=" + SEARCH_QUERY.replace(" ", "+"),
        "rss": "/feed/",
        "rss-304": "/feed/",
        "sitemap": sitemap_page(client.get("/sitemap.xml").content),
        "floor": "/robots.txt",
    }
    etag = client.get("/feed/").headers.get("ETag", "")
    headers = {"rss-304": {"If-None-Match": etag}}
    pages = {}
    for key, url in urls.items():
        extra = {
            f"HTTP_{name.upper().replace('-', '_')}": value
            for name, value in headers.get(key, {}).items()
        }
        client.get(url, **extra)  # fills per-process state (the site chrome), as in a worker
        timer = QueryTimer()
        with connection.execute_wrapper(timer), CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            response = client.get(url, **extra)
            elapsed = time.perf_counter() - started
        page = {
            "url": url,
            "status": response.status_code,
            "bytes": len(response.content),
            "queries": len(queries),
            "ms": elapsed * 1000,
            "sql_ms": sum(seconds for _sql, _params, seconds in timer.statements) * 1000,
        }
        if timer.statements:
            index, (sql, params, seconds) = max(
                enumerate(timer.statements), key=lambda item: item[1][2]
            )
            readable = queries.captured_queries
            # The debug cursor's copy has the parameters filled in, for a reader.
            shown = readable[index]["sql"] if len(readable) == len(timer.statements) else sql
            page["slowest"] = {"sql": shown, "ms": seconds * 1000, "plan": plan(sql, params)}
        if profile:
            page["profile"] = profile_requests(client, url, extra)
        pages[key] = page
        if key == "post" and ceiling_file:
            Path(ceiling_file).write_bytes(response.content)
    result = {
        "pages": pages,
        "deep_page": deep,
        "last_page": last_page,
        "published": published.count(),
    }
    Path(out_path).write_text(json.dumps(result))


def sitemap_page(xml: bytes) -> str:
    """The first sitemap an index lists, as a path; /sitemap.xml when it is no index."""
    root = ET.fromstring(xml)
    if root.tag.endswith("sitemapindex"):
        loc = root.find("{*}sitemap/{*}loc")
        if loc is not None and loc.text:
            parts = urlsplit(loc.text.strip())
            return parts.path + (f"?{parts.query}" if parts.query else "")
    return "/sitemap.xml"


class QueryTimer:
    """Times each statement to the microsecond (the debug cursor rounds to 1 ms)."""

    def __init__(self):
        self.statements = []

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.statements.append((sql, params, time.perf_counter() - started))


def plan(sql, params) -> list[str]:
    """How the database runs a statement, one line per step, nested steps indented."""
    from django.db import connection

    sqlite = connection.vendor == "sqlite"
    with connection.cursor() as cursor:
        cursor.execute(("EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN ") + sql, params)
        rows = cursor.fetchall()
    if not sqlite:
        return [row[0] for row in rows]
    depth, lines = {0: -1}, []
    for node, parent, _unused, detail in rows:
        depth[node] = depth.get(parent, -1) + 1
        lines.append("  " * depth[node] + detail)
    return lines


def profile_requests(client, url, extra, *, repeat=5, top=6) -> dict:
    """Where a page spends its time, per request, over ``repeat`` requests.

    The functions with the most own time, and Bytepress's own functions with the most
    total time (which say which part of the page is slow).
    """
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(repeat):
        client.get(url, **extra)
    profiler.disable()
    rows = [
        {
            "function": _short(filename, line, name),
            "own_ms": own * 1000 / repeat,
            "total_ms": total * 1000 / repeat,
            "ours": filename.startswith(str(ROOT / "blog")),
        }
        for (filename, line, name), (_cc, _nc, own, total, _callers) in (
            pstats.Stats(profiler).stats.items()
        )
    ]
    by_own = sorted(rows, key=lambda row: row["own_ms"], reverse=True)[:top]
    ours = sorted((r for r in rows if r["ours"]), key=lambda r: r["total_ms"], reverse=True)
    # Middleware and views that wrap the whole request say nothing about where it goes.
    whole = ours[0]["total_ms"] if ours else 0
    ours = [row for row in ours if row["total_ms"] < 0.9 * whole]
    return {"own": by_own, "ours": ours[:top]}


def _short(filename, line, name):
    for marker in ("site-packages/", str(ROOT) + "/"):
        if marker in filename:
            filename = filename.split(marker, 1)[1]
    return f"{filename}:{line} {name}" if line else name


# --- the bench: seeding, servers and wrk ---------------------------------------------


def base_env(workdir: Path) -> dict:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        # The canonical origin: absolute URLs (and the page cache's key) match wrk's Host.
        "SITE_URL": ORIGIN,
        "DJANGO_SECURE_SSL_REDIRECT": "0",
        "DJANGO_SECURE_COOKIES": "0",
        "DATABASE_URL": f"sqlite:///{workdir / 'bench.sqlite3'}",
        "MEDIA_ROOT": str(workdir / "media"),
        "DJANGO_LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
    }


def with_cache(env: dict, on: bool) -> dict:
    return {**env, "BYTEPRESS_PAGE_CACHE": "1" if on else "0"}


def manage(env, *args):
    subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, env=env, check=True)


def seed(workdir: Path, posts: int) -> dict:
    """A fresh database of the demo blog and ``posts`` long-form posts; how long it took."""
    workdir.mkdir(parents=True)
    env = base_env(workdir)
    print(f"\nSeeding {posts:,} long-form posts in {workdir} …", flush=True)
    manage(env, "migrate", "--noinput", "-v0")
    started = time.monotonic()
    manage(env, "seed_demo", "--posts", str(posts), "--long")
    seconds = time.monotonic() - started
    size = (workdir / "bench.sqlite3").stat().st_size
    return {"env": env, "posts": posts, "seed_seconds": seconds, "db_bytes": size}


def run_probe(env: dict, *, profile: bool = False, ceiling_file: str = "") -> dict:
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        args = [PYTHON, __file__, "--probe", out.name, "1" if profile else "0", ceiling_file]
        subprocess.run(args, cwd=ROOT, env=env, check=True)
        return json.loads(Path(out.name).read_text())


class TreeMemory:
    """Samples the resident memory of a process and its children from /proc.

    RSS counts the pages the workers share with the master once per process, as the
    target does; PSS splits shared pages between them, so its sum is what the tree
    really holds.
    """

    def __init__(self, pid: int, interval: float = 0.25):
        self.pid, self.interval = pid, interval
        self.peak_rss = self.peak_pss = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=5)

    def pids(self) -> list[int]:
        return [self.pid, *children(self.pid)]

    def _run(self):
        while not self._stop.wait(self.interval):
            rss = pss = 0
            for pid in self.pids():
                rss += _proc_kib(f"/proc/{pid}/status", "VmRSS:")
                pss += _proc_kib(f"/proc/{pid}/smaps_rollup", "Pss:")
            self.peak_rss, self.peak_pss = max(self.peak_rss, rss), max(self.peak_pss, pss)


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # the process ended while we looked
            continue
        # Fields after the command name (which may hold spaces) start with state, ppid.
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return found


def _proc_kib(path: str, field: str) -> int:
    try:
        with open(path) as lines:
            for line in lines:
                if line.startswith(field):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def cpu_ticks(pids) -> int:
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime + stime
    return total


@contextmanager
def gunicorn(env: dict):
    # Another server on the port would answer wrk instead of ours, and be measured.
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", PORT)) == 0:
            raise RuntimeError(f"something already listens on 127.0.0.1:{PORT} (BENCH_PORT)")
    server = subprocess.Popen(
        [
            PYTHON, "-m", "gunicorn", "config.wsgi", "--bind", f"127.0.0.1:{PORT}",
            "--workers", str(WORKERS), "--log-level", "warning",
            # A slow page is measured, not killed: wrk's own timeout is the same.
            "--timeout", "120",
        ],
        cwd=ROOT,
        env=env,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                get("/robots.txt")
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("gunicorn did not start") from None
                time.sleep(0.2)
        with TreeMemory(server.pid) as memory:
            yield server, memory
    finally:
        server.terminate()
        server.wait(timeout=30)


def get(path: str, headers=None) -> tuple[int, dict, bytes]:
    request = urllib.request.Request(ORIGIN + path, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:  # 304 and 404 arrive as errors
        return error.code, dict(error.headers), error.read()


def settle(memory: TreeMemory, deadline: float = 180):
    """Wait until gunicorn has finished what wrk left behind.

    wrk stops at its deadline with requests in flight; sync workers still answer them,
    and that work would be charged to the next page. Quiet is no CPU time for 0.3 s.
    """
    end = time.monotonic() + deadline
    previous = cpu_ticks(memory.pids())
    while time.monotonic() < end:
        time.sleep(0.3)
        now = cpu_ticks(memory.pids())
        if now == previous:
            return
        previous = now


def wrk(path: str, headers: dict, seconds: int, label: str) -> dict:
    args = [
        "wrk", f"-t{WRK_THREADS}", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency",
        "--timeout", "120s",
    ]  # fmt: skip
    for name, value in headers.items():
        args += ["-H", f"{name}: {value}"]
    output = subprocess.run(
        [*args, ORIGIN + path], capture_output=True, text=True, check=True, timeout=seconds + 180
    ).stdout
    RAW.mkdir(parents=True, exist_ok=True)
    (RAW / f"{label}.txt").write_text(" ".join(args) + f" {ORIGIN}{path}\n\n{output}")
    return parse_wrk(output)


_DURATION = re.compile(r"([\d.]+)(us|ms|s|m)\b")
_UNIT_MS = {"us": 0.001, "ms": 1, "s": 1000, "m": 60_000}


def parse_wrk(output: str) -> dict:
    def latency(percent):
        match = re.search(rf"^\s+{percent}%\s+(\S+)", output, re.M)
        value = match and _DURATION.match(match.group(1))
        return float(value.group(1)) * _UNIT_MS[value.group(2)] if value else None

    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    total = re.search(r"(\d+) requests in", output)
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    sockets = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    return {
        "rps": float(rate.group(1)) if rate else 0.0,
        "requests": int(total.group(1)) if total else 0,
        "p50": latency(50),
        "p99": latency(99),
        "errors": (int(bad.group(1)) if bad else 0)
        + (sum(map(int, sockets.groups())) if sockets else 0),
    }


def busy_seconds() -> float:
    """CPU time the whole machine has spent busy since it booted, from /proc/stat."""
    fields = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def own_seconds() -> float:
    """CPU time of this process and of the children it has waited for (wrk, gunicorn)."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def load_pages(env: dict, urls: dict, label: str) -> dict:
    """One gunicorn: the ceiling and each page, each after a warm-up, and peak memory.

    Also how much of the machine other processes took meanwhile: on a shared machine
    they slow every page, and a reader of the results must know.
    """
    measured = {}
    started, busy, own = time.monotonic(), busy_seconds(), own_seconds()
    with gunicorn(env) as (_server, memory):
        for key in ["ceiling", *urls]:
            path = CEILING_PATH if key == "ceiling" else urls[key]
            sent = {}
            if key == "rss-304":
                # The validator this server sends now, taken from a first GET.
                sent["If-None-Match"] = get(path)[1].get("ETag", "")
            status = get(path, sent)[0]
            expected = 304 if key == "rss-304" else 200
            if status != expected:
                measured[key] = {"rps": 0.0, "errors": f"answered {status}"}
                print(f"  {key:<14} answered {status}, not {expected}: skipped", flush=True)
                continue
            if WARMUP:
                wrk(path, sent, WARMUP, f"{label}-{key}-warmup")
                settle(memory)
            ticks = cpu_ticks(memory.pids())
            row = measured[key] = wrk(path, sent, DURATION, f"{label}-{key}")
            # The workers' CPU time per request barely depends on what else the machine
            # runs, unlike req/s: the measure to trust on a shared machine.
            used = (cpu_ticks(memory.pids()) - ticks) / os.sysconf("SC_CLK_TCK")
            row["cpu_ms"] = used * 1000 / row["requests"] if row["requests"] else None
            settle(memory)
            print(
                f"  {key:<14}{row['rps']:>9.0f} req/s  p50 {fmt_ms(row['p50'])}"
                f"  p99 {fmt_ms(row['p99'])}  CPU {fmt_ms(row['cpu_ms'])}/request",
                flush=True,
            )
    wall = time.monotonic() - started
    others = (busy_seconds() - busy) - (own_seconds() - own)
    measured["memory"] = {"rss_kib": memory.peak_rss, "pss_kib": memory.peak_pss}
    measured["machine"] = {"wall": wall, "others": max(0.0, others) / (wall * os.cpu_count())}
    return measured


def main():
    if not shutil.which("wrk"):
        sys.exit("wrk is missing: `make bench` installs it (apt-get install -y wrk, as root).")
    started = time.monotonic()
    scratch = Path(tempfile.mkdtemp(prefix="bytepress-bench-"))
    CEILING_DIR.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(RAW, ignore_errors=True)
    try:
        main_db = seed(scratch / "main", POSTS)
        manage(main_db["env"], "collectstatic", "--noinput", "-v0")
        print("Counting queries (test client, no server) …", flush=True)
        ceiling_file = str(CEILING_DIR / "post.html")
        cold_probe = run_probe(
            with_cache(main_db["env"], False), profile=True, ceiling_file=ceiling_file
        )
        warm_probe = run_probe(with_cache(main_db["env"], True))
        urls = {key: page["url"] for key, page in cold_probe["pages"].items()}
        runs = {}
        for mode, on in (("cold", False), ("warm", True)):
            print(f"\n{mode}: {POSTS:,} posts, page cache {'on' if on else 'off'}", flush=True)
            runs[mode] = load_pages(with_cache(main_db["env"], on), urls, mode)
        if not KEEP:
            shutil.rmtree(scratch / "main")

        growth = []
        if GROWTH_POSTS:
            for size in (GROWTH_SMALL, GROWTH_POSTS):
                db = seed(scratch / f"growth-{size}", size)
                env = with_cache(db["env"], False)
                found = run_probe(env)
                growth_urls = {key: page["url"] for key, page in found["pages"].items()}
                print(f"\ngrowth: {size:,} posts, page cache off", flush=True)
                measured = load_pages(env, growth_urls, f"growth-{size}")
                growth.append({**db, "probe": found, "runs": measured})
                if not KEEP:
                    shutil.rmtree(scratch / f"growth-{size}")
        elapsed = time.monotonic() - started
        RESULTS.parent.mkdir(exist_ok=True)
        RESULTS.write_text(
            report(main_db, cold_probe, warm_probe, runs, growth, elapsed, ceiling_file)
        )
        print(f"\nWrote {RESULTS.relative_to(ROOT)} ({elapsed / 60:.1f} min).")
    finally:
        shutil.rmtree(CEILING_DIR, ignore_errors=True)
        if KEEP:
            print(f"Scratch databases kept in {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)


# --- the report ----------------------------------------------------------------------


def fmt_ms(value):
    if value is None:
        return "–"
    return f"{value:.1f} ms" if value < 100 else f"{value:.0f} ms"


def pct(value):
    return f"{value * 100:.1f}%"


def rate_share(run, key):
    """A page's req/s as a fraction of its server's ceiling."""
    ceiling, page = run["ceiling"].get("rps"), run[key].get("rps")
    return page / ceiling if ceiling and page is not None else None


def cpu_share(run, key):
    """The ceiling's server CPU per request as a fraction of the page's."""
    ceiling, page = run["ceiling"].get("cpu_ms"), run[key].get("cpu_ms")
    return ceiling / page if ceiling and page else None


def verdict(value, target, *, most=False):
    """'met' or by how much it was missed, against a floor (or a ceiling with ``most``)."""
    if value is None:
        return "–"
    if most:
        return "met" if value <= target else f"**missed** by {value - target:g}"
    if value >= target:
        return "met"
    if not value:
        return "**missed** (no answer)"
    return f"**missed** by {(target - value) * 100:.1f} points (needs {target / value:.1f}×)"


def pct_or_dash(value):
    return "–" if value is None else pct(value)


def report(main_db, cold_probe, warm_probe, runs, growth, elapsed, ceiling_file) -> str:
    versions = tool_versions()
    ceiling_bytes = Path(ceiling_file).stat().st_size if Path(ceiling_file).exists() else 0
    lines = [
        "# Bytepress benchmark",
        "",
        f"Written by `make bench` (scripts/bench.py) on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, "
        f"at commit {versions['commit']}, in {elapsed / 60:.1f} minutes.",
        *notices(runs, growth),
        "",
        "## Set-up",
        "",
        f"- Machine: {os.cpu_count()} CPUs ({versions['cpu']}), Linux {platform.release()}; "
        f"Python {platform.python_version()}, Django {versions['django']}, "
        f"gunicorn {versions['gunicorn']}, {versions['wrk']}, SQLite {versions['sqlite']}.",
        f"- Content: the demo blog plus {main_db['posts']:,} long-form posts "
        "(`seed_demo --posts N --long`: about 1,500 words of Markdown each with headings, "
        "lists, inline code, a code block and links; 1-3 tags and 2 links each; one in five "
        f"in a series), seeded in {main_db['seed_seconds']:.0f} s into a "
        f"{main_db['db_bytes'] / 2**20:,.0f} MiB SQLite database.",
        f"- Server: gunicorn, {WORKERS} sync workers, production settings, on 127.0.0.1; "
        "one gunicorn with the page cache off (*cold*, `BYTEPRESS_PAGE_CACHE=0`) and "
        "another with it on (*warm*, `BYTEPRESS_PAGE_CACHE=1`).",
        f"- Load: wrk, {WRK_THREADS} thread, {CONNECTIONS} connections, {WARMUP} s warm-up "
        f"then {DURATION} s measured per page; p50 and p99 from `--latency`. wrk runs on "
        "the same machine, so it takes some CPU from the workers.",
        f"- Ceiling: `{CEILING_PATH}`, the post page's HTML ({ceiling_bytes:,} bytes), "
        "served by WhiteNoise in the same gunicorn, measured in each server run; each "
        "page's share is of its own server's ceiling.",
        "- Server CPU per request: the CPU time of the gunicorn tree during a page's "
        "measured run (from /proc), divided by the requests wrk completed. Other processes "
        "on the machine barely change it, unlike req/s, so *% of ceiling by CPU* (the "
        "ceiling's CPU per request over the page's) is close to the req/s share a quiet "
        "machine would give.",
        "- Queries per request: counted in a separate pass without a server, through "
        "Django's test client under `CaptureQueriesContext`, on the second request of each "
        "page (the first fills per-process state such as the site chrome, as a worker's "
        "first request does); page cache off for *cold*, on for *warm*. The same pass "
        "times that one cold request: what a page costs with nothing else running.",
        f"- RSS 304: `If-None-Match` set to the ETag of a first GET of `/feed/`. Sitemap "
        f"page: the first sitemap `/sitemap.xml` lists when it is an index, else "
        f"`/sitemap.xml` itself (this run: `{cold_probe['pages']['sitemap']['url']}`). "
        f"Deep section page: page {DEEP_PAGE}, or the last page when there are fewer "
        f"(this run: page {cold_probe['deep_page']} of {cold_probe['last_page']}).",
    ]
    lines += pages_section(main_db, cold_probe, warm_probe, runs, ceiling_bytes)
    memory_runs = [(f"{mode}, {main_db['posts']:,} posts", runs[mode]) for mode in ("cold", "warm")]
    memory_runs += [(f"cold, {g['posts']:,} posts (growth)", g["runs"]) for g in growth]
    lines += [
        "",
        "## Servers: memory, and the machine",
        "",
        "Peak resident memory of the gunicorn tree (master and workers), sampled from /proc "
        "every 0.25 s while its server ran. RSS counts shared pages in every process; PSS "
        "shares them out. *Other processes* is the share of the machine's CPU time that "
        "processes other than the bench, gunicorn and wrk used meanwhile (from /proc/stat).",
        "",
        "| server | peak RSS | peak PSS | time | other processes |",
        "|---|---:|---:|---:|---:|",
    ]
    for label, run in memory_runs:
        lines.append(
            f"| {label} | {run['memory']['rss_kib'] / 1024:.0f} MiB "
            f"| {run['memory']['pss_kib'] / 1024:.0f} MiB | {run['machine']['wall']:.0f} s "
            f"| {pct(run['machine']['others'])} |"
        )
    lines += growth_section(growth)
    lines += targets_section(main_db, cold_probe, runs, growth, memory_runs)
    lines += profile_section(cold_probe, runs, growth)
    return "\n".join(lines) + "\n"


def pages_section(main_db, cold_probe, warm_probe, runs, ceiling_bytes):
    lines = []
    for mode, probe in (("cold", cold_probe), ("warm", warm_probe)):
        run = runs[mode]
        cache = "off" if mode == "cold" else "on"
        ceiling = run["ceiling"]
        lines += [
            "",
            f"## {mode.capitalize()} pages (page cache {cache}), {main_db['posts']:,} posts",
            "",
            "| page | URL | req/s | p50 | p99 | % of ceiling | server CPU per request "
            "| % of ceiling by CPU | queries | one request, no load | bytes |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
            f"| *ceiling: static file* | `{CEILING_PATH}` | {ceiling['rps']:,.0f} "
            f"| {fmt_ms(ceiling.get('p50'))} | {fmt_ms(ceiling.get('p99'))} | 100% "
            f"| {fmt_ms(ceiling.get('cpu_ms'))} | 100% | – | – | {ceiling_bytes:,} |",
        ]
        for key, (name, _target) in PAGES.items():
            row, page = run[key], probe["pages"][key]
            lines.append(
                f"| {name} | `{page['url']}` | {row['rps']:,.0f} | {fmt_ms(row.get('p50'))} "
                f"| {fmt_ms(row.get('p99'))} | {pct_or_dash(rate_share(run, key))} "
                f"| {fmt_ms(row.get('cpu_ms'))} | {pct_or_dash(cpu_share(run, key))} "
                f"| {page['queries']} | {fmt_ms(page['ms'])} | {page['bytes']:,} |"
            )
        failures = [
            f"{key}: {row['errors']}"
            for key, row in run.items()
            if key not in ("memory", "machine") and row.get("errors")
        ]
        lines += [
            "",
            "Errors (non-2xx/3xx answers, socket errors, or a wrong status before the run): "
            + ("; ".join(failures) if failures else "none."),
        ]
    return lines


def notices(runs, growth) -> list[str]:
    """What a reader must know before trusting the numbers: a reduced run, a busy machine."""
    settings = {name: os.environ[name] for name in sorted(os.environ) if name.startswith("BENCH_")}
    lines = []
    if settings:
        given = ", ".join(f"`{name}={value}`" for name, value in settings.items())
        lines.append(
            f"**Not the default run**: {given} (`make bench` alone runs 10,000 posts, "
            "8 s per page, growth from 1,000 to 100,000)."
        )
    servers = [runs["cold"], runs["warm"], *(g["runs"] for g in growth)]
    busiest = max(run["machine"]["others"] for run in servers)
    if busiest > 0.10:
        lines.append(
            f"**The machine was shared**: other processes used up to {pct(busiest)} of its "
            "CPU while a server ran (see *Servers*). Every page, and the ceiling, is slower "
            "than on a quiet machine, and req/s ratios between separate server runs (the "
            "growth table) are noisy: read the *by CPU* columns first."
        )
    return [part for line in lines for part in ("", line)]


def growth_ratios(growth):
    """Per page: the share of its req/s, and of its CPU per request, kept at the larger size."""
    small, large = growth[0]["runs"], growth[1]["runs"]
    ratios = {}
    for key in ["ceiling", *PAGES]:
        rate = large[key]["rps"] / small[key]["rps"] if small[key]["rps"] else None
        before, after = small[key].get("cpu_ms"), large[key].get("cpu_ms")
        ratios[key] = (rate, before / after if before and after else None)
    return ratios


def growth_section(growth):
    if not growth:
        return ["", "## Growth", "", "Not run (`BENCH_GROWTH_POSTS=0`)."]
    small, large = growth
    ratios = growth_ratios(growth)
    lines = [
        "",
        f"## Growth: cold pages at {small['posts']:,} and {large['posts']:,} posts",
        "",
        f"The same pages, page cache off, each size in its own database and gunicorn. "
        f"Seeding took {small['seed_seconds']:.0f} s ({small['db_bytes'] / 2**20:,.0f} MiB) "
        f"and {large['seed_seconds']:.0f} s ({large['db_bytes'] / 2**20:,.0f} MiB). "
        "*Kept* is the larger size's req/s over the smaller's; *kept by CPU* the smaller "
        "size's CPU per request over the larger's.",
    ]
    if large["posts"] != 100_000:
        lines += [
            "",
            f"**This run used {large['posts']:,} posts, not the default 100,000** "
            f"(`BENCH_GROWTH_POSTS`); the ratios are over {large['posts'] / small['posts']:g}×, "
            "not 100×.",
        ]
    a, b = f"{small['posts']:,}", f"{large['posts']:,}"
    lines += [
        "",
        f"| page | req/s at {a} | req/s at {b} | kept | CPU per request at {a} | at {b} "
        f"| kept by CPU | queries at {a} / {b} |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for key in ["ceiling", *PAGES]:
        label = "*ceiling*" if key == "ceiling" else PAGES[key][0]
        if key == "section-deep":
            label += f" (page {small['probe']['deep_page']} → {large['probe']['deep_page']})"
        queries = (
            "–"
            if key == "ceiling"
            else f"{small['probe']['pages'][key]['queries']} / "
            f"{large['probe']['pages'][key]['queries']}"
        )
        rate, cpu = ratios[key]
        lines.append(
            f"| {label} | {small['runs'][key]['rps']:,.0f} | {large['runs'][key]['rps']:,.0f} "
            f"| {pct_or_dash(rate)} | {fmt_ms(small['runs'][key].get('cpu_ms'))} "
            f"| {fmt_ms(large['runs'][key].get('cpu_ms'))} | {pct_or_dash(cpu)} | {queries} |"
        )
    return lines


def targets_section(main_db, cold_probe, runs, growth, memory_runs):
    lines = [
        "",
        "## Targets",
        "",
        "Judged on req/s, as the targets are stated; the *by CPU* columns judge the same "
        "ratios on server CPU per request, which a shared machine distorts far less.",
        "",
        "| target | page | result | verdict | by CPU | verdict by CPU |",
        "|---|---|---:|---|---:|---|",
    ]

    def ratio_row(target, name, value, by_cpu, floor):
        lines.append(
            f"| {target} | {name} | {pct_or_dash(value)} | {verdict(value, floor)} "
            f"| {pct_or_dash(by_cpu)} | {verdict(by_cpu, floor)} |"
        )

    for key, (name, _floor) in PAGES.items():
        if key in REFERENCE:
            continue
        run = runs["warm"]
        target = f"warm ≥ {pct(WARM_TARGET)} of ceiling"
        ratio_row(target, name, rate_share(run, key), cpu_share(run, key), WARM_TARGET)
    for key, (name, floor) in PAGES.items():
        if floor is None:
            continue
        run = runs["cold"]
        target = f"{'304' if key == 'rss-304' else 'cold'} ≥ {pct(floor)} of ceiling"
        ratio_row(target, name, rate_share(run, key), cpu_share(run, key), floor)
    if growth:
        target = f"cold kept from {growth[0]['posts']:,} to {growth[1]['posts']:,} posts"
        for key, (rate, cpu) in growth_ratios(growth).items():
            if key != "ceiling" and key not in REFERENCE:
                ratio_row(
                    f"{target} ≥ {pct(GROWTH_TARGET)}", PAGES[key][0], rate, cpu, GROWTH_TARGET
                )
    probes = [(f"{main_db['posts']:,}", cold_probe)] + [
        (f"{g['posts']:,}", g["probe"]) for g in growth
    ]
    for key, (name, _target) in PAGES.items():
        if key in REFERENCE:
            continue
        worst_size, worst = max(
            ((size, probe["pages"][key]["queries"]) for size, probe in probes),
            key=lambda item: item[1],
        )
        lines.append(
            f"| ≤ {MAX_QUERIES} queries, cold, at every size | {name} "
            f"| {worst} (at {worst_size}) | {verdict(worst, MAX_QUERIES, most=True)} | – | – |"
        )
    for label, run in memory_runs:
        mib = run["memory"]["rss_kib"] / 1024
        met = "met" if mib < RSS_TARGET_MIB else f"**missed** by {mib - RSS_TARGET_MIB:.0f} MiB"
        lines.append(
            f"| peak RSS < {RSS_TARGET_MIB} MiB | gunicorn tree, {label} | {mib:.0f} MiB "
            f"| {met} | – | – |"
        )
    lines.append(
        "| no reader query plan scans or sorts the posts table | – | not measured here "
        "| pinned by `tests/test_query_plans.py` | – | – |"
    )
    return lines


def profile_section(cold_probe, runs, growth):
    """For every page under a cold or growth target, where its time goes."""

    def below(values, floor):
        return any(value is not None and value < floor for value in values)

    cold = runs["cold"]
    missed = [
        key
        for key, (_name, floor) in PAGES.items()
        if floor is not None and below((rate_share(cold, key), cpu_share(cold, key)), floor)
    ]
    if growth:
        ratios = growth_ratios(growth)
        missed += [
            key
            for key in PAGES
            if below(ratios[key], GROWTH_TARGET) and key not in missed and key not in REFERENCE
        ]
    lines = [
        "",
        "## Profiles of the pages that miss a cold or growth target",
        "",
        f"At {cold_probe['published']:,} published posts, page cache off, through the test "
        "client (no server): the request's time and its SQL time, the slowest statement "
        "with its plan, then a cProfile of 5 requests (per request; the profiler inflates "
        "Python time, not SQL time): the functions with the most own time, and Bytepress's "
        "functions with the most total time (leaving out those wrapped around the whole "
        "request).",
    ]
    if not missed:
        return [*lines, "", "No page missed a cold or growth target."]
    for key in missed:
        page = cold_probe["pages"][key]
        lines += [
            "",
            f"### {PAGES[key][0]} (`{page['url']}`)",
            "",
            f"{fmt_ms(page['ms'])} per request, of which {fmt_ms(page['sql_ms'])} in "
            f"{page['queries']} SQL statements.",
        ]
        slowest = page.get("slowest")
        if slowest:
            lines += [
                "",
                f"Slowest statement, {fmt_ms(slowest['ms'])}:",
                "",
                "```sql",
                short_sql(slowest["sql"]),
                "```",
                "",
                "Its plan:",
                "",
                "```",
                *slowest["plan"],
                "```",
            ]
        profile = page.get("profile")
        for group, heading in (("own", "most own time"), ("ours", "Bytepress, most total time")):
            if not profile or not profile[group]:
                continue
            lines += ["", f"| function ({heading}) | own | total |", "|---|---:|---:|"]
            lines += [
                f"| `{row['function']}` | {fmt_ms(row['own_ms'])} | {fmt_ms(row['total_ms'])} |"
                for row in profile[group]
            ]
    return lines


def short_sql(sql: str, limit: int = 900) -> str:
    """The statement with its outer column list elided: FROM, WHERE and ORDER BY matter."""
    depth = 0
    for index, char in enumerate(sql):
        depth += (char == "(") - (char == ")")
        if depth == 0 and sql.startswith(" FROM ", index):
            if sql.startswith("SELECT ") and index > 80:
                sql = "SELECT … " + sql[index + 1 :]
            break
    return sql if len(sql) <= limit else sql[:limit] + " …"


def tool_versions() -> dict:
    def run(*args):
        try:
            result = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=30)
        except OSError:
            return ""
        return (result.stdout or result.stderr).strip()

    def git(*args):
        # Outside a git checkout, git's complaint is no commit name: only an answer counts.
        try:
            result = subprocess.run(
                ["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=30
            )
        except OSError:
            return ""
        return result.stdout.strip() if result.returncode == 0 else ""

    import sqlite3

    import django
    import gunicorn as gunicorn_package

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    if git("status", "--porcelain", "--untracked-files=no"):
        commit += " with uncommitted changes"
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.machine(),
    )
    return {
        "commit": commit,
        "cpu": cpu,
        "django": django.get_version(),
        "gunicorn": gunicorn_package.__version__,
        "wrk": run("wrk", "--version").splitlines()[0].split(" [")[0]
        if shutil.which("wrk")
        else "wrk",
        "sqlite": sqlite3.sqlite_version,
    }


if __name__ == "__main__":
    if sys.argv[1:2] == ["--probe"]:
        probe(sys.argv[2], sys.argv[3] == "1", sys.argv[4])
    else:
        main()
