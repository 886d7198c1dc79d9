"""Synthetic sessions: one recorded venue session repeated until the relay publishes N events.

A recorded session (relay-capture version 1, ``shared/captures/FORMAT.md``)
is read by the reader of its venue (:data:`READERS`: Binance's combined
streams with REST depth snapshots in :mod:`relay.bench.binance`, OKX v5 with
WebSocket book snapshots in :mod:`relay.bench.okx`); the reader knows which
frames the relay publishes and how to shift a frame's ids and times for a
later repetition so that no message id repeats and every book stays valid
(update ids chained from one repetition to the next, checksums right).
:func:`write_synthetic_capture` then writes the repetitions as a new capture
that ``relay simulate`` serves under ``/`` :data:`SERVED_VENUE`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import orjson

from relay.bench.binance import BinanceSession
from relay.bench.errors import BenchError
from relay.bench.okx import OkxSession
from relay.sim.captures import Capture, read_capture

WARMUP_S = 0.5
"""At maximum load, the first frames (at most :data:`WARMUP_FRAMES`) are spread over this
many seconds, so the books' snapshots are in before the flood; the throughput window starts
after them."""
WARMUP_FRAMES = 2_000

SERVED_VENUE = "bench"
"""Path prefix the simulator serves the synthetic capture under. Not a venue id on
purpose: the simulator then runs no simulated venue side (no indexing of every depth
diff for book-accurate snapshots, which the benchmark never asks for)."""


class RecordedSession(Protocol):
    """One recorded venue session, analysed for repetition (a venue's reader).

    Attributes:
        venue: the venue id the relay is configured with (``"binance-usdm"``).
        ws_path: the path of the venue's WebSocket URL (``"/stream"``).
        data_types: what every instrument is subscribed to (``("trade", ...)``).
        instruments: the recorded instruments with a book, in recorded order.
        recorded_at: ``t`` of the first record, Unix seconds.
    """

    venue: str
    ws_path: str
    data_types: tuple[str, ...]
    instruments: tuple[str, ...]
    recorded_at: float

    def frame_events(self, repetition: int) -> list[int]:
        """Events each frame of one repetition publishes; -1 for a frame left out of it."""
        ...

    def frame_instrument(self, index: int) -> str:
        """The recorded instrument of frame ``index``."""
        ...

    def shifted(self, index: int, repetition: int, instrument: str) -> dict[str, Any]:
        """Frame ``index`` as sent in ``repetition`` for ``instrument`` (a copy, JSON-ready)."""
        ...

    def snapshot_responses(self, instrument: str, name: str) -> list[tuple[str, str]]:
        """REST snapshot responses to serve for ``name`` (a copy of ``instrument``):
        ``[(path and query, body)]``; empty for a venue whose books come on the WebSocket."""
        ...

    def renamed(self, instrument: str, copy: int, copies: int) -> str:
        """The name of copy ``copy`` of ``copies`` (unchanged with one copy)."""
        ...

    def canonical_symbol(self, instrument: str) -> str:
        """The relay-wide name of an instrument (a renamed copy included)."""
        ...


READERS: tuple[type[BinanceSession] | type[OkxSession], ...] = (BinanceSession, OkxSession)
"""The readers; each names the venue ids it reads in ``VENUES``."""


def benchable_venues() -> tuple[str, ...]:
    """Venue ids a synthetic session can be built from (``relay bench --venue``)."""
    return tuple(venue for reader in READERS for venue in reader.VENUES)


def open_session(path: Path) -> RecordedSession:
    """Read a recorded session with its venue's reader.

    Raises:
        BenchError: a venue without a reader, or a session the reader cannot repeat.
        CaptureError: not a valid capture.
    """
    capture: Capture = read_capture(path)
    for reader in READERS:
        if capture.header.venue in reader.VENUES:
            return reader(capture)
    raise BenchError(
        f"{path}: venue {capture.header.venue!r} has no bench reader "
        f"(readers: {', '.join(benchable_venues())})"
    )


@dataclass(frozen=True, slots=True)
class SyntheticCapture:
    """A capture file written by :func:`write_synthetic_capture`.

    Attributes:
        path: the file.
        venue: the venue id the relay must be configured with (the source's, e.g.
            ``"binance-usdm"``); the simulator serves it under ``/<SERVED_VENUE>``.
        ws_path: the WebSocket path below ``/<SERVED_VENUE>`` (``"/stream"``).
        data_types: what every instrument is subscribed to.
        instruments: the instruments in it, e.g. ``("SUSHIUSDT", ...)``.
        symbols: their canonical symbols, same order (``("SUSHI/USDT", ...)``).
        frames: ``recv`` records written.
        events: messages the relay publishes from it (one per trade, ticker, candle
            and book message, plus one snapshot per book).
        warmup_events: of those, the events of the paced warm-up frames (0 at a
            fixed load).
    """

    path: Path
    venue: str
    ws_path: str
    data_types: tuple[str, ...]
    instruments: tuple[str, ...]
    symbols: tuple[str, ...]
    frames: int
    events: int
    warmup_events: int


def _plan(
    per_repetition: Sequence[list[int]], copies: int, events: int
) -> Iterator[tuple[int, int, int, int]]:
    """``(repetition, frame index, copy, events)`` of every frame to write, until ``events``."""
    total = 0
    repetition = 0
    while True:
        counts = per_repetition[min(repetition, 1)]
        for index, count in enumerate(counts):
            if count < 0:
                continue
            for copy in range(copies):
                yield repetition, index, copy, count
                total += count
                if total >= events:
                    return
        repetition += 1


def write_synthetic_capture(
    source: Path,
    destination: Path,
    events: int,
    rate_per_s: float | None,
    copies: int = 1,
) -> SyntheticCapture:
    """Write a capture whose replay makes the relay publish at least ``events`` events.

    The source's ``recv`` frames that the relay publishes from are repeated;
    repetition ``k`` shifts ids and times as the venue's reader says
    (:class:`relay.bench.binance.BinanceSession`, :class:`relay.bench.okx.OkxSession`):
    event times by ``k`` times the recording's span rounded up to whole minutes,
    trade and ticker ids by ``k`` times their recorded range, and each book's update
    ids so that repetition ``k+1``'s first update chains onto repetition ``k``'s
    last. Repetitions after the first leave out what came before each book's
    snapshot (and the snapshot itself when it came on the WebSocket), and their
    first update of each book also carries the levels that turn the book back into
    its state at the snapshot, so every repetition walks the recorded books again
    (the recorded checksums stay right, the book uncrossed) instead of applying old
    updates to a later book. Each book is synced once.

    With ``copies`` > 1 every instrument is served ``copies`` times under new names
    (``SUSHIUSDT`` -> ``SUSHI000USDT`` ... ``SUSHI049USDT``; ``BTC-USDT`` ->
    ``BTC000-USDT``), each with its own snapshot; frames of the copies follow each
    other.

    Pacing (each ``recv`` record's ``t``, served with ``--speed realtime``): at a
    fixed load, frame ``i`` is due ``i / rate_per_s`` seconds after the first; at
    maximum load (``rate_per_s`` None) the first frames (at most
    :data:`WARMUP_FRAMES`, at most one repetition) are spread over
    :data:`WARMUP_S` and every later one is due at once.

    Args:
        source: a recorded session of a venue in :func:`benchable_venues`
            (``binance-usdm.jsonl``, ``okx.jsonl``).
        destination: the file to write.
        events: how many events the relay must publish (>= 1).
        rate_per_s: offered events (frames) per second, or None for maximum load.
        copies: how many times each instrument is served, renamed.

    Returns:
        What was written; ``events`` is exact (it may exceed the asked number by
        one, when the last frame is a book's first update).

    Raises:
        BenchError: an unusable source (see :func:`open_session`).
        CaptureError: the source is not a valid capture.
    """
    session = open_session(source)
    per_repetition = [session.frame_events(0), session.frame_events(1)]
    plan = list(_plan(per_repetition, copies, events))
    first_repetition = sum(1 for step in plan if step[0] == 0)
    warmup = 0 if rate_per_s is not None else min(WARMUP_FRAMES, first_repetition)
    names = {
        instrument: tuple(session.renamed(instrument, copy, copies) for copy in range(copies))
        for instrument in session.instruments
    }
    responses = [
        response
        for instrument in session.instruments
        for name in names[instrument]
        for response in session.snapshot_responses(instrument, name)
    ]
    t0 = session.recorded_at
    url = f"wss://bench.invalid{session.ws_path}"
    header = {
        "capture": 1,
        "venue": SERVED_VENUE,
        "recorded": "synthetic",
        "source": f"relay bench: {source.name} repeated, ids and times shifted per repetition",
        "records": 1 + len(responses) + len(plan),
    }
    total_events = 0
    warmup_events = 0
    with destination.open("wb") as out:
        out.write(orjson.dumps(header) + b"\n")
        out.write(orjson.dumps({"t": t0, "kind": "connect", "conn": "ws-1", "url": url}) + b"\n")
        for target, body in responses:
            out.write(
                orjson.dumps(
                    {
                        "t": t0,
                        "kind": "http",
                        "method": "GET",
                        "status": 200,
                        "data": body,
                        "url": f"https://bench.invalid{target}",
                    }
                )
                + b"\n"
            )
        for position, (repetition, index, copy, count) in enumerate(plan):
            if rate_per_s is not None:
                offset_s = position / rate_per_s
            elif position < warmup:
                offset_s = WARMUP_S * position / warmup
            else:
                offset_s = WARMUP_S
            if position < warmup:
                warmup_events += count
            total_events += count
            name = names[session.frame_instrument(index)][copy]
            frame = session.shifted(index, repetition, name)
            out.write(
                orjson.dumps(
                    {
                        "t": t0 + offset_s,
                        "kind": "recv",
                        "conn": "ws-1",
                        "data": orjson.dumps(frame).decode(),
                    }
                )
                + b"\n"
            )
    instruments = tuple(name for instrument in session.instruments for name in names[instrument])
    return SyntheticCapture(
        destination,
        session.venue,
        session.ws_path,
        session.data_types,
        instruments,
        tuple(session.canonical_symbol(name) for name in instruments),
        len(plan),
        total_events,
        warmup_events,
    )
