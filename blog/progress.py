"""Progress bars for long management commands.

Every long command (seed, import, export, rerender, build_renditions,
rebuild_search_index) wraps its main loop in ``progress()`` and ends with one summary
line on stdout. The bar goes to stderr, so that stdout stays a clean record of what was
done, and it draws only on a terminal: in CI logs and cron mails a bar is noise.
"""

import sys
from collections.abc import Iterable, Iterator
from typing import TypeVar

from tqdm import tqdm

T = TypeVar("T")


def progress(
    items: Iterable[T], *, total: int | None = None, label: str, stream=None
) -> Iterator[T]:
    """Yield ``items`` while drawing a bar labelled ``label`` on ``stream`` (stderr).

    ``total`` defaults to ``len(items)`` when items has a length; without one the bar
    counts up with no percentage.
    """
    if total is None and hasattr(items, "__len__"):
        total = len(items)
    # A command's self.stderr (an OutputWrapper) ends every write with a newline, which
    # would break the bar's in-place redraw: draw on the stream it wraps.
    stream = getattr(stream, "_out", stream) if stream is not None else sys.stderr
    enabled = hasattr(stream, "isatty") and stream.isatty()
    yield from tqdm(
        items,
        total=total,
        desc=label,
        unit="",
        file=stream,
        disable=not enabled,
        leave=False,  # the command's summary line replaces the bar
        dynamic_ncols=True,
    )
