"""Long-form Markdown bodies for benchmarks, about 1,500 words each.

A real technical blog post has headings, lists, inline code, a code block and links, and
its rendered HTML is tens of kilobytes. Stub bodies a few lines long hide every cost that
grows with row size (reading whole rows, sorting them, sending them), so the bench seeds
these instead. The prose is assembled from the fragments below by a seeded generator:
the same seed always gives the same body, and different seeds give different bodies.
"""

import random

WORDS = 1500

_THINGS = [
    "the hot path", "the write-ahead log", "the connection pool", "the query planner",
    "the page cache", "a background worker", "the retry loop", "the request handler",
    "the build script", "a covering index", "the deploy pipeline", "the test suite",
    "the allocator", "the lock file", "the run queue", "the parser's lookahead",
    "the storage layer", "a bloom filter", "the hash table", "the flame graph",
    "the template loader", "the serialiser", "the garbage collector", "the socket backlog",
    "the job table", "the checksum pass", "the config loader", "the import graph",
]  # fmt: skip
_TOOLS = [
    "EXPLAIN QUERY PLAN", "perf stat", "py-spy top", "strace -c", "fsync()", "git bisect",
    "time.perf_counter()", "functools.lru_cache", "ANALYZE", "vmstat 1", "iostat -x 1",
    "ulimit -n", "SO_REUSEPORT", "epoll_wait()", "mmap()", "VACUUM", "tracemalloc",
    "cProfile", "PRAGMA journal_mode=WAL", "pg_stat_statements", "sys.getsizeof()",
    "select_related()", "prefetch_related()", "LIMIT 20", "Cache-Control",
]  # fmt: skip
_UNITS = ["milliseconds", "microseconds", "seconds", "megabytes", "queries", "requests"]
_REASONS = [
    "it was the only part that had changed that week",
    "every slow request in the logs went through it",
    "it was the easiest thing to rule out",
    "the profile pointed at it twice in a row",
    "nobody remembered why it was written that way",
    "the numbers got worse as the data grew, not as the traffic did",
]
_SENTENCES = [
    "The first thing I looked at was {thing}, because {reason}.",
    "It took {n} {unit} before {thing} showed up in the numbers at all.",
    "Running `{tool}` against {thing} made the problem obvious within a minute.",
    "Nobody expected {thing} to matter for {topic}, and for a long time it did not.",
    "A colleague suggested `{tool}`; I doubted it, and it turned {n} {unit} into noise.",
    "The honest summary is that {topic} is mostly about {thing}, and the rest is bookkeeping.",
    "If you take one idea from this post, let it be this: measure {thing} before you change it.",
    "{Thing} behaves well under light load and badly under heavy load, which is the "
    "worst combination to debug.",
    "I wrote every number down with the date, the commit and the exact command.",
    "At {n} {unit} per request the cost is invisible; over a busy afternoon it is not.",
    "The documentation of `{tool}` is short, and worth reading twice.",
    "There is a version of this story where {thing} is the villain, but the logs told another one.",
    "Every fix I tried made {thing} faster and {other} slower, until I stopped guessing.",
    "Looking back, the mistake was treating {topic} as a detail instead of a design decision.",
    "What changed my mind was a graph of {thing} over a week, not a benchmark over a minute.",
    "The cheap experiment was to turn {thing} off entirely and see what broke.",
    "Once {thing} was out of the way, {other} became the next bottleneck, as it always does.",
    "This is where most write-ups about {topic} stop, and where the useful part begins.",
    "I kept a small script around that reproduced the problem in under {n} seconds.",
    "Small, boring changes to {thing} beat the clever rewrite I had planned.",
    "The numbers here come from a small virtual machine, so read them as ratios.",
    "A rule of thumb held up: if `{tool}` does not show it, it is probably not {thing}.",
    "Caches hide problems until the day they are cold, and then they hide nothing.",
    "The change itself was {n} lines; the explanation of why took a page.",
    "I asked what would happen if {thing} grew tenfold, and the answer was not reassuring.",
    "Reading the source of {thing} was faster than searching for someone else's answer.",
    "For {topic}, the default settings are a reasonable start and a poor finish.",
    "The second measurement disagreed with the first by {n} percent, so I took a third.",
    "Half of the work was deleting code that {other} no longer needed.",
    "I still check `{tool}` first whenever {topic} comes up in a review.",
]
_LINK_SENTENCES = [
    "There is a good overview in [{text}]({url}), which I reread before starting.",
    "For background, [{text}]({url}) explains it better than I can here.",
    "I leaned on [{text}]({url}) for the details I kept forgetting.",
    "If you want the long version, start with [{text}]({url}).",
]
_LINKS = [
    ("https://www.sqlite.org/queryplanner.html", "how SQLite plans a query"),
    ("https://www.sqlite.org/eqp.html", "SQLite's notes on EXPLAIN QUERY PLAN"),
    ("https://www.postgresql.org/docs/current/using-explain.html", "PostgreSQL on EXPLAIN"),
    ("https://docs.python.org/3/library/profile.html", "the standard library's profilers"),
    ("https://docs.djangoproject.com/en/5.2/topics/db/optimization/", "Django on queries"),
    ("https://docs.djangoproject.com/en/5.2/topics/cache/", "Django's cache framework"),
    ("https://www.brendangregg.com/flamegraphs.html", "the flame graph page"),
    ("https://man7.org/linux/man-pages/man2/fsync.2.html", "the fsync manual page"),
    ("https://docs.gunicorn.org/en/stable/design.html", "gunicorn's design notes"),
    ("https://developer.mozilla.org/en-US/docs/Web/HTTP/Caching", "MDN on HTTP caching"),
    ("https://www.rfc-editor.org/rfc/rfc9110#name-conditional-requests", "RFC 9110"),
    ("https://github.com/wg/wrk", "wrk's README"),
]
_HEADINGS = [
    "Where the time went", "A first measurement", "What {topic} really costs",
    "The fix that did not work", "Reading the plan", "Trying it under load",
    "What I would do again", "Numbers, with caveats", "The boring fix", "Living with it",
    "Setting up the experiment", "When {thing} is the bottleneck", "A second look at {topic}",
    "Things I got wrong", "The part nobody tests", "Keeping it fast",
]  # fmt: skip
_BULLETS = [
    "Check `{tool}` before and after every change.",
    "Keep {thing} small enough to stay in memory.",
    "Write the command down, with all of its flags.",
    "Run each measurement three times and keep the median.",
    "Compare against a static file, not against last week's numbers.",
    "Turn {thing} off first, and add it back once you know what it costs.",
    "Put a limit on every loop that talks to {thing}.",
    "Log the slow cases with enough context to replay them.",
    "Prefer one query that returns twenty rows to twenty queries that return one.",
    "Read the plan for every query that touches {thing}.",
]
_STEPS = [
    "Reproduce the slow request with `{tool}`.",
    "Save the output next to the commit hash.",
    "Change exactly one thing in {thing}.",
    "Measure again under the same load, for the same time.",
    "Keep the change only if the median moved and the tail did not get worse.",
    "Write down what you learned, even when the answer was no.",
]
_CODE = [
    (
        "python",
        "import time\n\n\n"
        "def median_ms(fn, repeat={n}):\n"
        '    """Median wall time of fn() over several runs, in milliseconds."""\n'
        "    samples = []\n"
        "    for _ in range(repeat):\n"
        "        started = time.perf_counter()\n"
        "        fn()\n"
        "        samples.append((time.perf_counter() - started) * 1000)\n"
        "    samples.sort()\n"
        "    return samples[len(samples) // 2]\n",
    ),
    (
        "sql",
        "EXPLAIN QUERY PLAN\n"
        "SELECT id, title, published_at\n"
        "  FROM {name}_entry\n"
        " WHERE status = 'published' AND published_at <= :now\n"
        " ORDER BY published_at DESC, id DESC\n"
        " LIMIT {n};\n",
    ),
    (
        "sh",
        "for run in 1 2 3; do\n"
        "  wrk -t1 -c8 -d{n}s --latency http://127.0.0.1:8000/{name}/ \\\n"
        "    | grep -E 'Requests/sec|99%'\n"
        "done\n",
    ),
    (
        "python",
        "from functools import lru_cache\n\n\n"
        "@lru_cache(maxsize={n})\n"
        "def {name}_settings(version: str) -> dict:\n"
        "    # Keyed on the version, so an edit is seen on the next call.\n"
        "    return load_{name}_settings()\n",
    ),
    (
        "python",
        "def drain(queue, handle, *, limit={n}):\n"
        '    """Handle at most ``limit`` jobs, so one call can never run forever."""\n'
        "    done = 0\n"
        "    while done < limit and (job := queue.pop()) is not None:\n"
        "        try:\n"
        "            handle(job)\n"
        "        except TemporaryError:\n"
        "            queue.retry(job, delay=2**job.attempts)\n"
        "        done += 1\n"
        "    return done\n",
    ),
]


class _Writer:
    """Fills the fragments' slots from one seeded random source."""

    def __init__(self, seed: int, topic: str):
        self.rng = random.Random(seed)
        self.topic = topic

    def fill(self, template: str) -> str:
        thing, other = self.rng.sample(_THINGS, 2)
        return template.format(
            topic=self.topic,
            thing=thing,
            Thing=thing[0].upper() + thing[1:],
            other=other,
            tool=self.rng.choice(_TOOLS),
            n=self.rng.choice([3, 5, 8, 12, 20, 40, 150, 400]),
            unit=self.rng.choice(_UNITS),
            reason=self.rng.choice(_REASONS),
        )

    def paragraph(self, *, link: bool = False) -> str:
        sentences = [self.fill(s) for s in self.rng.sample(_SENTENCES, self.rng.randint(4, 6))]
        if link:
            url, text = self.rng.choice(_LINKS)
            sentence = self.rng.choice(_LINK_SENTENCES).format(text=text, url=url)
            sentences.insert(self.rng.randint(1, len(sentences)), sentence)
        return " ".join(sentences)

    def bullets(self) -> str:
        items = self.rng.sample(_BULLETS, self.rng.randint(3, 6))
        return "\n".join(f"- {self.fill(item)}" for item in items)

    def steps(self) -> str:
        count = self.rng.randint(3, len(_STEPS))
        return "\n".join(f"{i}. {self.fill(step)}" for i, step in enumerate(_STEPS[:count], 1))

    def code(self) -> str:
        language, source = self.rng.choice(_CODE)
        name = self.topic.replace(" ", "_")
        text = source.format(n=self.rng.choice([5, 20, 128, 500]), name=name)
        return f"```{language}\n{text}```"


def body(seed: int, topic: str, *, words: int = WORDS) -> str:
    """A long-form Markdown body about ``topic`` of about ``words`` words.

    Every body has an introduction, then sections (``##``, sometimes with a ``###``)
    until the length is reached; together they hold lists, inline code, links and one
    code block.
    """
    writer = _Writer(seed, topic)
    headings = writer.rng.sample(_HEADINGS, len(_HEADINGS))
    blocks = [writer.paragraph(), writer.paragraph(link=True)]
    section = 0
    # A section adds about 250 words: stopping a little short centres the lengths on
    # ``words`` instead of always overshooting it.
    while sum(len(b.split()) for b in blocks) < words - 80 and section < len(headings):
        blocks.append("## " + writer.fill(headings[section]))
        blocks.append(writer.paragraph(link=section % 2 == 0))
        # One code block per post, in its second section: most real posts have one or two.
        kind = section % 4
        if section == 1:
            blocks += [writer.code(), writer.paragraph()]
        elif kind == 0:
            blocks += [writer.bullets(), writer.paragraph()]
        elif kind == 2:
            blocks += ["### " + writer.fill("Step by step with {thing}"), writer.steps()]
        else:
            blocks.append(writer.paragraph(link=True))
        section += 1
    return "\n\n".join(blocks) + "\n"


def pool(size: int, topics: list[str]) -> list[tuple[str, str]]:
    """``size`` distinct bodies as (topic, body) pairs, the topics taken in turn."""
    return [(topics[i % len(topics)], body(i, topics[i % len(topics)])) for i in range(size)]
