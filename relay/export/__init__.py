"""``relay export``: a stream's messages to Parquet files, one per data type, for research.

Needs pyarrow (the ``export`` extra: ``pip install 'relay[export]'``). The
columns are described in :mod:`relay.export.tables`, the reading in
:mod:`relay.export.jetstream`; :func:`export` ties them together.

Output naming: ``--out trades.parquet`` writes ``trades.<data_type>.parquet``
beside it (``trades.trade.parquet``, ``trades.l2_orderbook.parquet``...), one
file per data type present in the window; the suffix ``.parquet`` is added
when missing. Messages are held in memory until written.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

PROGRESS_INTERVAL_S = 0.2
"""Least seconds between two redraws of the progress bar."""

BAR_WIDTH = 30


def output_path(out: Path, data_type: str) -> Path:
    """``trades.parquet`` + ``"trade"`` -> ``trades.trade.parquet`` (same directory)."""
    stem = out.name.removesuffix(".parquet")
    return out.with_name(f"{stem}.{data_type}.parquet")


class ProgressBar:
    """A one-line progress bar on a text stream (stderr), redrawn at most every 0.2 s.

    Args:
        stream: where it is drawn.
        clock: monotonic seconds (for tests).
    """

    def __init__(self, stream: TextIO, clock: Callable[[], float] = time.monotonic) -> None:
        self.stream = stream
        self.clock = clock
        self.last_draw_s = -PROGRESS_INTERVAL_S
        self.drawn = False

    def update(self, done: int, total: int) -> None:
        """Show ``done`` of ``total`` messages (skipped if drawn less than 0.2 s ago)."""
        now = self.clock()
        if now - self.last_draw_s < PROGRESS_INTERVAL_S and done < total:
            return
        self.last_draw_s = now
        fraction = min(1.0, done / total) if total else 1.0
        filled = int(fraction * BAR_WIDTH)
        bar = "#" * filled + "-" * (BAR_WIDTH - filled)
        self.stream.write(f"\rexport [{bar}] {done}/{total} messages {fraction:4.0%}")
        self.stream.flush()
        self.drawn = True

    def close(self) -> None:
        """End the bar's line."""
        if self.drawn:
            self.stream.write("\n")
            self.stream.flush()


def show_progress(flag: bool, stream: TextIO = sys.stderr) -> bool:
    """Whether to draw the bar: ``--progress`` given, or ``stream`` is a terminal."""
    return flag or stream.isatty()
