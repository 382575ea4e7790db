"""Load with publishing: concurrent readers against the production profile while a writer
publishes and edits posts, on PostgreSQL.

    make loadtest                                       # 50 clients for 60 s
    LOADTEST_SECONDS=10 LOADTEST_CLIENTS=10 make loadtest   # a quick run

It creates a scratch PostgreSQL database, migrates it and seeds it (``seed_demo`` and
synthetic posts), then starts gunicorn with config/gunicorn.py (debug off, SITE_URL, the
page cache on, Redis). Reader threads, each with its own connections, fetch a mix of
pages and feeds (home, sections, posts, tags, series, archive, feeds, search) and follow
the links they find. A writer process publishes a new post and edits an earlier one
every second through blog.services; it never unpublishes, so a post, once listed, must
never answer 404.

The run fails (exit status 1) on any 5xx or other error, any post that a reader saw
listed and then got a 404 for, any edit missing from the database (each save records a
revision, which must hold it) and any post whose page does not show its last edit at the
end. The figures go to bench/load.md. The database is dropped and the Redis database
emptied at the end, whatever happened.

Environment variables (defaults in brackets):
    LOADTEST_SECONDS [60]      how long readers and writer run
    LOADTEST_CLIENTS [50]      concurrent reader threads
    LOADTEST_POSTS [300]       synthetic posts seeded besides the demo's
    LOADTEST_WORKERS []        gunicorn workers (empty: config/gunicorn.py's default)
    LOADTEST_PORT [8766]
    LOADTEST_POSTGRES [postgres://postgres@127.0.0.1:5432]   the server (no database)
    LOADTEST_DB_PREFIX [bytepress_load]   the scratch database is <prefix>_<random>
    LOADTEST_REDIS_URL [redis://127.0.0.1:6379/11]   emptied before and after the run
    LOADTEST_OUTPUT [bench/load.md]

Traffic goes to 127.0.0.1 only, and every wait has a deadline.
"""

import http.client
import json
import os
import platform
import random
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html import escape as html_escape
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


def _int(name, default):
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


SECONDS = _int("LOADTEST_SECONDS", 60)
CLIENTS = _int("LOADTEST_CLIENTS", 50)
POSTS = _int("LOADTEST_POSTS", 300)
WORKERS = os.environ.get("LOADTEST_WORKERS", "").strip()
PORT = _int("LOADTEST_PORT", 8766)
POSTGRES = os.environ.get("LOADTEST_POSTGRES", "postgres://postgres@127.0.0.1:5432").rstrip("/")
DB_PREFIX = os.environ.get("LOADTEST_DB_PREFIX", "bytepress_load")
REDIS_URL = os.environ.get("LOADTEST_REDIS_URL", "redis://127.0.0.1:6379/11")
OUTPUT = ROOT / os.environ.get("LOADTEST_OUTPUT", "bench/load.md")
HOST = "127.0.0.1"
ORIGIN = f"http://{HOST}:{PORT}"
REQUEST_TIMEOUT = 30  # gunicorn's own timeout: a request that takes longer is an error
WRITE_EVERY = 1.0  # seconds between the writer's rounds (one publish and one edit each)

# Path prefixes that are not a post's or a section's; the rest of /<a>/<b>/ are posts.
NOT_SECTIONS = {"tags", "series", "archive", "search", "feed", "preview", "admin", "static"}
SEARCH_WORDS = ["queue", "cache", "python", "load post", "edit", "database", "design"]
# How often each kind of page is asked for (weights, not percentages).
MIX = {
    "home": 14,
    "section": 10,
    "post": 34,
    "tag": 9,
    "series": 7,
    "archive": 4,
    "feed": 12,
    "search": 6,
    "list-page": 4,
}
_HREF = re.compile(rb'href="([/?][^"#]*)"')  # site paths, and "?page=2" on a list


# --- the writer: a separate process, through blog.services ------------------------------


def writer(log_path: str, seconds: float) -> None:
    """Publish a new post and edit an earlier one every second; append one JSON line per
    write, once it has committed, to ``log_path``."""
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from blog import services
    from blog.models import AuthorProfile, Post, Section, Tag

    author = AuthorProfile.objects.order_by("pk").first()
    sections = list(Section.objects.order_by("pk"))
    tags = list(Tag.objects.order_by("pk")[:20])
    run = secrets.token_hex(3)
    rng = random.Random(run)
    mine: list[int] = []
    edits: Counter = Counter()
    print("ready", flush=True)
    deadline = time.monotonic() + seconds
    number = 0
    with open(log_path, "a") as log:

        def record(kind, post, marker):
            entry = {
                "kind": kind,
                "id": post.pk,
                "path": post.get_absolute_url(),
                "title": post.title,
                "marker": marker,
                "at": time.time(),
            }
            log.write(json.dumps(entry) + "\n")
            log.flush()

        while time.monotonic() < deadline:
            round_started = time.monotonic()
            number += 1
            marker = f"mark{run}p{number}e0"
            post = Post(
                title=f"Load post {number} of run {run}",
                slug=f"load-{run}-{number}",
                section=rng.choice(sections),
                author=author,
                body=f"Published under load ({marker}).\n\nA paragraph about queues and caches.",
                status=Post.Status.DRAFT,
            )
            chosen = rng.sample(tags, k=min(2, len(tags)))
            services.save_post(post, related=lambda p=post, t=chosen: p.tags.set(t))
            result = services.publish_posts([post])
            if result.refused:
                raise SystemExit(f"the writer's post was refused: {result.refused}")
            mine.append(post.pk)
            record("publish", post, marker)
            if len(mine) > 1:
                target = Post.objects.get(pk=rng.choice(mine[:-1]))
                edits[target.pk] += 1
                marker = f"mark{run}p{target.pk}e{edits[target.pk]}"
                target.title = f"{target.title.split(' (edit')[0]} (edit {edits[target.pk]})"
                target.body = f"Edited under load ({marker}).\n\nStill about queues."
                services.save_post(target)
                record("edit", target, marker)
            time.sleep(max(0.0, WRITE_EVERY - (time.monotonic() - round_started)))


def verify(log_path: str) -> None:
    """Check the writer's log against the database; print a JSON report."""
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.conf import settings

    from blog.models import Post

    entries = [json.loads(line) for line in Path(log_path).read_text().splitlines() if line]
    by_post = defaultdict(list)
    for entry in entries:
        by_post[entry["id"]].append(entry)
    problems = []
    checked = 0
    public = set(Post.objects.published().filter(pk__in=by_post).values_list("pk", flat=True))
    for post_id, writes in by_post.items():
        post = Post.objects.get(pk=post_id)
        last = writes[-1]
        if post.title != last["title"] or last["marker"] not in post.body:
            problems.append(f"post {post_id}: the last edit ({last['marker']}) is not stored")
        if post_id not in public:
            problems.append(f"post {post_id} is not public")
        stored = [json.dumps(revision.data) for revision in post.revisions.all()]
        # Revisions beyond the limit are pruned (the first public one is kept): only the
        # most recent writes can be looked for.
        for write in writes[-(settings.BYTEPRESS_MAX_REVISIONS - 1) :]:
            checked += 1
            if not any(write["marker"] in text for text in stored):
                problems.append(f"post {post_id}: no revision holds {write['marker']}")
    print(json.dumps({"posts": len(by_post), "writes_checked": checked, "problems": problems}))


# --- readers: threads, each request on its own connection --------------------------------


@dataclass
class Shared:
    """What the readers have found, and what they saw."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    links: dict = field(default_factory=lambda: defaultdict(set))  # kind -> paths
    listed_at: dict = field(default_factory=dict)  # post path -> first time seen listed
    results: list = field(default_factory=list)  # (kind, status or error, seconds)
    failed: list = field(default_factory=list)  # (path, status or error) of each error
    violations: list = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)


def classify(path: str) -> str | None:
    """The kind of a linked page, or None for what readers do not follow."""
    bare, _, query = path.partition("?")
    parts = [p for p in bare.split("/") if p]
    if "feed" in bare or bare.endswith(".xml") or bare.startswith(("/static/", "/media/")):
        return None
    if query:
        return "list-page" if query.startswith("page=") else None
    if not parts or parts[0] in {"admin", "preview", "search", "accounts"}:
        return None
    if parts[0] in {"tags", "series"}:
        return {"tags": "tag", "series": "series"}[parts[0]] if len(parts) == 2 else None
    if parts[0] == "archive":
        return "archive"
    if len(parts) == 1:
        return "section"
    if len(parts) == 2 and parts[0] not in NOT_SECTIONS:
        return "post"
    return None


def get(path: str) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection(HOST, PORT, timeout=REQUEST_TIMEOUT)
    try:
        connection.request("GET", path, headers={"Accept-Encoding": "identity"})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def note_links(shared: Shared, page: str, body: bytes, seen: float) -> None:
    found = defaultdict(set)
    for match in _HREF.finditer(body):
        path = match.group(1).decode("utf-8", "replace").replace("&amp;", "&")
        if path.startswith("?"):
            path = page.partition("?")[0] + path
        kind = classify(path)
        if kind:
            found[kind].add(path)
    with shared.lock:
        for kind, paths in found.items():
            shared.links[kind] |= paths
        for path in found.get("post", ()):
            shared.listed_at.setdefault(path, seen)


def pick(shared: Shared, rng: random.Random) -> tuple[str, str]:
    kind = rng.choices(list(MIX), weights=list(MIX.values()))[0]
    if kind == "home":
        return kind, "/"
    if kind == "feed":
        return kind, rng.choice(["/feed/", "/feed/atom/", "/feed.json", *feeds_of(shared, rng)])
    if kind == "search":
        return kind, "/search/?q=" + rng.choice(SEARCH_WORDS).replace(" ", "+")
    with shared.lock:
        known = shared.links.get(kind)
        path = rng.choice(tuple(known)) if known else None
    return (kind, path) if path else ("home", "/")


def feeds_of(shared: Shared, rng: random.Random) -> list[str]:
    """A section's or a tag's feed. Sections are told from pages (/about/ has no feed) by
    the posts under them."""
    with shared.lock:
        sections = {"/" + path.split("/")[1] + "/" for path in shared.links.get("post", ())}
        scopes = [*sections, *shared.links.get("tag", ())]
    return [rng.choice(scopes) + "feed/"] if scopes else []


def reader(shared: Shared, number: int) -> None:
    rng = random.Random(number)
    while not shared.stop.is_set():
        kind, path = pick(shared, rng)
        started = time.monotonic()
        try:
            status, body = get(path)
        except TimeoutError:
            status, body = "timeout", b""
        except OSError as exc:
            status, body = f"connection: {type(exc).__name__}", b""
        elapsed = time.monotonic() - started
        shared.results.append((kind, status, elapsed))  # list.append is atomic
        if status != 200:
            shared.failed.append((path, status))
        if isinstance(status, str):
            time.sleep(0.05)  # the server is not answering: do not spin
            continue
        if status == 200 and kind not in {"feed", "search"}:
            note_links(shared, path, body, time.monotonic())
        elif status == 404 and kind == "post":
            listed = shared.listed_at.get(path)
            if listed is not None and listed < started:
                shared.violations.append(
                    f"{path} answered 404 {started - listed:.2f} s after a reader saw it listed"
                )


# --- the run ---------------------------------------------------------------------------


@contextmanager
def scratch_database():
    import psycopg

    name = f"{DB_PREFIX}_{secrets.token_hex(4)}"
    with psycopg.connect(f"{POSTGRES}/postgres", autocommit=True, connect_timeout=5) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{POSTGRES}/{name}"
    finally:
        with psycopg.connect(f"{POSTGRES}/postgres", autocommit=True, connect_timeout=5) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def empty_redis():
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    client.flushdb()
    try:
        yield
    finally:
        client.flushdb()


def production_env(database_url: str, media: Path) -> dict:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "DATABASE_", "REDIS_", "BYTEPRESS_", "AWS_", "MEDIA_"))
        and key not in {"SITE_URL", "WEB_CONCURRENCY", "GUNICORN_TIMEOUT"}
    }
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_ALLOWED_HOSTS=HOST,
        SITE_URL=ORIGIN,
        # Plain HTTP on 127.0.0.1: no TLS proxy in front.
        DJANGO_SECURE_SSL_REDIRECT="0",
        DJANGO_SECURE_COOKIES="0",
        DATABASE_URL=database_url,
        REDIS_URL=REDIS_URL,
        BYTEPRESS_PAGE_CACHE="1",
        MEDIA_ROOT=str(media),
        DJANGO_LOG_LEVEL="WARNING",
        BYTEPRESS_BIND=f"{HOST}:{PORT}",
        PYTHONUNBUFFERED="1",
    )
    if WORKERS:
        env["WEB_CONCURRENCY"] = WORKERS
    return env


def manage(env, *args) -> None:
    result = subprocess.run(
        [PYTHON, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=900
    )
    if result.returncode:
        raise SystemExit(f"manage.py {args[0]} failed:\n{result.stdout}{result.stderr}")


@contextmanager
def running(args, env, log: Path):
    with log.open("w") as output:
        process = subprocess.Popen(args, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)
        try:
            yield process
        finally:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=5)


def wait_until_up(process, seconds=60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"gunicorn exited with {process.returncode}")
        try:
            if get("/")[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise SystemExit(f"{ORIGIN} did not answer within {seconds} s")


def discover(shared: Shared) -> None:
    """The links readers start from: the home page, the tag and series lists, the archive."""
    for path in ("/", "/tags/", "/series/", "/archive/"):
        status, body = get(path)
        if status != 200:
            raise SystemExit(f"{path} answered {status} before the load started")
        note_links(shared, path, body, time.monotonic())


def final_check(entries: list[dict]) -> tuple[int, list[str]]:
    """Every post the writer touched shows its last edit to an anonymous reader."""
    last = {}
    for entry in entries:
        last[entry["id"]] = entry
    problems = []
    for entry in last.values():
        status, body = get(entry["path"])
        if status != 200:
            problems.append(f"{entry['path']} answered {status} at the end")
            continue
        text = body.decode()
        if entry["marker"] not in text or html_escape(entry["title"], quote=False) not in text:
            problems.append(f"{entry['path']} does not show its last edit ({entry['marker']})")
    # The site feed lists the newest posts: the writer's last one, under its last title.
    published = [entry for entry in entries if entry["kind"] == "publish"]
    if published:
        newest = last[published[-1]["id"]]
        status, feed = get("/feed/")
        if status != 200 or html_escape(newest["title"], quote=False).encode() not in feed:
            problems.append(f"the site feed does not list {newest['path']} as last edited")
    return len(last), problems


def percentile(sorted_values: list[float], fraction: float) -> float:
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, round(fraction * (len(sorted_values) - 1)))
    return sorted_values[index]


def run() -> int:
    loads_before = os.getloadavg()
    started_at = datetime.now(UTC)
    tmp = Path(tempfile.mkdtemp(prefix="bytepress-loadtest-"))
    try:
        with scratch_database() as database_url, empty_redis():
            env = production_env(database_url, tmp / "media")
            (tmp / "media").mkdir()
            print(f"Seeding {database_url.rsplit('/', 1)[-1]} ({POSTS} synthetic posts)…")
            manage(env, "migrate", "--noinput", "-v0")
            manage(env, "collectstatic", "--noinput", "-v0")
            manage(env, "seed_demo", "--posts", str(POSTS))
            log = tmp / "writes.jsonl"
            gunicorn = [PYTHON, "-m", "gunicorn", "-c", "config/gunicorn.py"]
            with running(gunicorn, env, tmp / "gunicorn.log") as server:
                wait_until_up(server)
                shared = Shared()
                discover(shared)
                figures = load(shared, env, log)
                entries = [json.loads(x) for x in log.read_text().splitlines() if x]
                shown, http_problems = final_check(entries)
            verified = subprocess.run(
                [PYTHON, __file__, "verify", str(log)],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                timeout=300,
            )
            if verified.returncode:
                raise SystemExit(f"the database check failed:\n{verified.stderr}")
            db_check = json.loads(verified.stdout.strip().splitlines()[-1])
            server_log = (tmp / "gunicorn.log").read_text()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    report = Report(
        started_at=started_at,
        loads=(loads_before, os.getloadavg()),
        figures=figures,
        entries=entries,
        shown=shown,
        http_problems=http_problems,
        db_check=db_check,
        server_errors=[line for line in server_log.splitlines() if " ERROR " in line][:20],
    )
    OUTPUT.write_text(report.markdown())
    print(report.summary())
    print(f"Written to {OUTPUT}.")
    return 0 if report.passed else 1


def load(shared: Shared, env: dict, log: Path) -> dict:
    """Readers and the writer together for SECONDS; returns the raw figures."""
    writer_args = [PYTHON, __file__, "writer", str(log), str(SECONDS)]
    writer_output = log.with_suffix(".out")
    with running(writer_args, env, writer_output) as writing:
        deadline = time.monotonic() + 60
        while "ready" not in writer_output.read_text():
            if writing.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the writer did not start:\n{writer_output.read_text()}")
            time.sleep(0.1)
        threads = [
            threading.Thread(target=reader, args=(shared, n), daemon=True) for n in range(CLIENTS)
        ]
        began = time.monotonic()
        for thread in threads:
            thread.start()
        time.sleep(SECONDS)
        shared.stop.set()
        for thread in threads:
            thread.join(timeout=REQUEST_TIMEOUT + 5)
        elapsed = time.monotonic() - began
        writing.wait(timeout=REQUEST_TIMEOUT + 10)
        if writing.returncode:
            raise SystemExit(f"the writer failed:\n{writer_output.read_text()}")
    return {
        "elapsed": elapsed,
        "results": list(shared.results),
        "failed": list(shared.failed),
        "violations": shared.violations,
    }


@dataclass
class Report:
    started_at: datetime
    loads: tuple
    figures: dict
    entries: list
    shown: int
    http_problems: list
    db_check: dict
    server_errors: list

    @property
    def results(self):
        return self.figures["results"]

    @property
    def errors(self) -> Counter:
        kinds = Counter()
        for _kind, status, _ in self.results:
            if status != 200:
                kinds[str(status)] += 1  # a status, "timeout" or "connection: …"
        return kinds

    @property
    def problems(self) -> list[str]:
        return [*self.figures["violations"], *self.http_problems, *self.db_check["problems"]]

    @property
    def passed(self) -> bool:
        return not self.errors and not self.problems

    def summary(self) -> str:
        count = len(self.results)
        rate = count / self.figures["elapsed"]
        verdict = "PASSED" if self.passed else "FAILED"
        lines = [
            f"{verdict}: {count} requests in {self.figures['elapsed']:.0f} s ({rate:.0f}/s) "
            f"from {CLIENTS} clients; errors: {dict(self.errors) or 'none'}; "
            f"{self.edits} edits and {self.publishes} publishes, "
            f"{self.db_check['writes_checked']} writes checked in the database.",
        ]
        lines += [f"  - {problem}" for problem in self.problems[:20]]
        return "\n".join(lines)

    @property
    def publishes(self) -> int:
        return sum(1 for e in self.entries if e["kind"] == "publish")

    @property
    def edits(self) -> int:
        return sum(1 for e in self.entries if e["kind"] == "edit")

    def markdown(self) -> str:
        times = sorted(seconds for _, status, seconds in self.results if status == 200)
        count = len(self.results)
        elapsed = self.figures["elapsed"]
        by_kind = defaultdict(list)
        for kind, status, seconds in self.results:
            by_kind[kind].append((status, seconds))
        before, after = self.loads
        cpus = os.cpu_count()
        lines = [
            "# Load with publishing (`make loadtest`)",
            "",
            f"Run {self.started_at:%Y-%m-%d %H:%M} UTC, {'passed' if self.passed else 'FAILED'}. "
            f"{CLIENTS} concurrent clients for {SECONDS} s against gunicorn "
            f"(config/gunicorn.py, {WORKERS or 'default'} workers, debug off, page cache on, "
            f"Redis) on PostgreSQL, {POSTS} synthetic posts besides the demo's, while a writer "
            "published a post and edited an earlier one every second through blog.services. "
            "Every write moves the content version, and with it every page cache key: with "
            "two writes a second, most requests find no kept page and are rendered.",
            "",
            f"Machine: {cpus} CPUs, {platform.python_implementation()} "
            f"{platform.python_version()}; load average (1/5/15 min) "
            f"{before[0]:.2f}/{before[1]:.2f}/{before[2]:.2f} before the run and "
            f"{after[0]:.2f}/{after[1]:.2f}/{after[2]:.2f} after it. The clients run on the "
            "same machine as the server and share its CPUs.",
            "",
            "| | |",
            "|---|---|",
            f"| requests | {count} |",
            f"| requests per second | {count / elapsed:.0f} |",
            f"| latency p50 | {percentile(times, 0.50) * 1000:.0f} ms |",
            f"| latency p90 | {percentile(times, 0.90) * 1000:.0f} ms |",
            f"| latency p99 | {percentile(times, 0.99) * 1000:.0f} ms |",
            f"| latency max | {(times[-1] if times else 0) * 1000:.0f} ms |",
            f"| errors (5xx, 4xx, timeouts, connections) | {sum(self.errors.values())} |",
            f"| posts listed, then 404 | {len(self.figures['violations'])} |",
            f"| publishes / edits | {self.publishes} / {self.edits} |",
            f"| writes found in the database (revisions) | "
            f"{self.db_check['writes_checked'] - self._missing_writes()} of "
            f"{self.db_check['writes_checked']} |",
            f"| posts showing their last edit at the end | "
            f"{self.shown - len(self.http_problems)} of {self.shown} |",
            "",
            "Errors by kind: "
            + (", ".join(f"{k}: {v}" for k, v in sorted(self.errors.items())) or "none")
            + ".",
            "",
            "| page kind | requests | p50 | p99 |",
            "|---|---:|---:|---:|",
        ]
        for kind in MIX:
            samples = sorted(s for status, s in by_kind.get(kind, []) if status == 200)
            p50, p99 = (percentile(samples, f) * 1000 for f in (0.5, 0.99))
            lines.append(f"| {kind} | {len(by_kind.get(kind, []))} | {p50:.0f} ms | {p99:.0f} ms |")
        if self.problems:
            lines += ["", "Problems:", "", *[f"- {p}" for p in self.problems[:50]]]
        if self.figures["failed"]:
            failed = Counter(f"{path}: {status}" for path, status in self.figures["failed"])
            lines += [
                "",
                "Failed requests:",
                "",
                *[f"- {k} (×{n})" for k, n in failed.most_common(20)],
            ]
        if self.server_errors:
            lines += ["", "Server log errors:", "", *[f"    {e}" for e in self.server_errors]]
        lines += [
            "",
            "Latencies are of 200 answers, measured by the clients (connection included). "
            "Re-run with `make loadtest`; `LOADTEST_SECONDS` and `LOADTEST_CLIENTS` shorten it.",
            "",
        ]
        return "\n".join(lines)

    def _missing_writes(self) -> int:
        return sum(1 for p in self.db_check["problems"] if "no revision holds" in p)


def main(argv: list[str]) -> int:
    if argv[1:2] == ["writer"]:
        writer(argv[2], float(argv[3]))
        return 0
    if argv[1:2] == ["verify"]:
        verify(argv[2])
        return 0
    return run()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
