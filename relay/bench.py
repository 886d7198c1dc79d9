"""``relay bench``: sustained replay through simulator -> relay -> nats-server, with baselines.

What one ``relay bench`` run does, on this machine (method and figures in
``docs/performance.md``):

1. Builds synthetic capture files (relay-capture version 1) from one recorded
   Binance session (``binance-usdm.jsonl`` by default): its ``recv`` frames
   repeated until the relay will publish the asked number of events. Each
   repetition shifts event times, trade ids, ticker update ids and depth update
   ids, so that no message id repeats and every order book stays valid (see
   :func:`write_synthetic_capture`).
2. Starts one nats-server (JetStream, file storage, :class:`EmbeddedNats`) and,
   for each offered load, ``relay simulate`` and ``relay run --stats-file`` as
   child processes: fixed loads (5,000 and 20,000 events/s by default, each
   ``load_seconds`` long) and maximum load (``events`` events, as fast as the
   relay takes them). A run ends when the stream holds every expected event;
   the relay is then stopped with SIGTERM and its stats file read.
3. Reads the relay's encoded messages back from JetStream and publishes the
   same payloads, with the same ``Nats-Msg-Id`` and ``Content-Type`` headers,
   to a fresh stream of the same configuration: with nats-py
   ``js.publish_async`` (every ack awaited) and with core ``nc.publish``
   (then ``flush``, and the stream polled until it holds them).
4. Runs the relay once more with ``subscriptions`` instruments subscribed
   (renamed copies of the recorded ones) and reports its peak RSS.

Throughput of a relay run: acked events per second, from stream-count polls
every :data:`POLL_S`: events stored between the first poll after the paced
warm-up (see :data:`WARMUP_S`) and the first poll that saw every event, over
the time between those polls. Latency: the relay's own frame-read-to-ack
nanoseconds (``relay run --stats-file``), percentiles by nearest rank.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import math
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import parse_qsl, urlsplit

import nats
import orjson
from nats.js.api import AckPolicy, ConsumerConfig
from nats.js.errors import NotFoundError

from relay.config.loader import parse_config
from relay.config.model import PipelineConfig, StreamConfig
from relay.domain.errors import RelayError
from relay.infrastructure.captures import RecordKind, read_capture
from relay.infrastructure.embedded_nats import EmbeddedNats, nats_server_binary
from relay.infrastructure.nats.streams import js_stream_config
from relay.infrastructure.process_stats import cpu_seconds
from relay.infrastructure.venues.registry import supported_data_types
from relay.serialization.formats import codec_for

PROJECT_CAPTURE = Path(__file__).resolve().parents[2] / "shared" / "captures" / "binance-usdm.jsonl"
"""The recorded session benchmarks are built from, when the project's ``shared/`` is there."""

SHIPPED_CAPTURE = Path(__file__).resolve().parent / "demo" / "binance-usdm.jsonl"
"""The same recording as shipped in the package (used when ``shared/`` is not there)."""

DEFAULT_EVENTS = 1_000_000
DEFAULT_RATES_PER_S = (5_000.0, 20_000.0)
DEFAULT_LOAD_S = 15.0
"""Seconds of events offered at each fixed load (fewer when ``events`` is smaller)."""
DEFAULT_SUBSCRIPTIONS = 200
SUBSCRIPTIONS_LABEL = "subscriptions"
SUBSCRIPTION_RUN_MAX_EVENTS = 100_000
"""Events replayed in the many-subscriptions RSS run (fewer when ``events`` is smaller)."""

MAX_IN_FLIGHT = 1024
"""``[nats] max_in_flight`` of the relay, and ``publish_async_max_pending`` of the baseline."""
MAX_QUEUE_EVENTS = PipelineConfig().max_queue_events
"""``[pipeline] max_queue_events`` of the relay under test: the shipped default."""

WARMUP_S = 0.5
"""At maximum load, the first frames (at most :data:`WARMUP_FRAMES`) are spread over this
many seconds, so the REST snapshots are in before the flood; the throughput window starts
after them."""
WARMUP_FRAMES = 2_000

POLL_S = 0.05
"""Interval of the stream-count polls that time a run."""
STALL_S = 30.0
"""A run whose stream count does not grow for this long is abandoned (BenchError)."""
READBACK_BATCH = 5_000

SERVED_VENUE = "bench"
"""Path prefix the simulator serves the synthetic capture under. Not a Binance name on
purpose: the simulator then skips indexing every depth diff for book-accurate REST
snapshots, which the benchmark never asks for (it would only slow the start)."""
STREAM = "MARKET"
DATA_TYPES = ("trade", "ticker", "l2_orderbook", "candle")
QUOTES = ("USDT", "BUSD", "USDC", "BTC", "ETH", "BNB", "EUR", "USD")
"""Quote currencies recognised when naming renamed instruments (``SUSHIUSDT`` -> ``SUSHI/USDT``)."""
CANDLE_ALIGN_MS = 60_000
PERCENTILES = (("p50", 0.50), ("p99", 0.99), ("p999", 0.999))


class BenchError(RelayError):
    """The benchmark could not run: an unusable capture, a child process that died or stalled."""


# --------------------------------------------------------------------------- synthetic events


@dataclass(frozen=True, slots=True)
class SyntheticCapture:
    """A capture file written by :func:`write_synthetic_capture`.

    Attributes:
        path: the file.
        venue: the venue id the relay must be configured with (the source's, e.g.
            ``"binance-usdm"``); the simulator serves it under ``/<SERVED_VENUE>``.
        instruments: the instruments in it, e.g. ``("SUSHIUSDT", ...)``.
        frames: ``recv`` records written.
        events: messages the relay publishes from it (one per trade, ticker, candle
            and depth diff after the book's snapshot, plus one snapshot per book).
        warmup_events: of those, the events of the paced warm-up frames (0 at a
            fixed load).
    """

    path: Path
    venue: str
    instruments: tuple[str, ...]
    frames: int
    events: int
    warmup_events: int


@dataclass(slots=True)
class _Frame:
    """One recorded frame, decoded: ``stream`` and ``data`` of the combined-stream wrapper."""

    stream: str
    data: dict[str, Any]
    kind: str
    symbol: str


@dataclass(slots=True)
class _Book:
    """A book's recorded snapshot and where its depth diffs chain from."""

    snapshot: dict[str, Any]
    path: str
    """The recorded REST path (``/fapi/v1/depth``)."""
    straddle: int = -1
    """Frame index of the first diff kept after the snapshot."""
    first: int = -1
    """Frame index of the first depth diff kept in every later repetition (== straddle)."""
    shift: int = 0
    """Update-id shift per repetition: the next repetition's first diff chains onto the
    previous one's last."""
    reset_bids: list[list[str]] = field(default_factory=list)
    reset_asks: list[list[str]] = field(default_factory=list)


def _levels(raw: Any) -> dict[Decimal, tuple[str, str]]:
    return {Decimal(price): (price, quantity) for price, quantity in raw}


def _apply(side: dict[Decimal, tuple[str, str]], levels: Sequence[Sequence[str]]) -> None:
    for price, quantity in levels:
        if Decimal(quantity) == 0:
            side.pop(Decimal(price), None)
        else:
            side[Decimal(price)] = (price, quantity)


def _reset_levels(
    start: dict[Decimal, tuple[str, str]],
    end: dict[Decimal, tuple[str, str]],
    overridden: set[Decimal],
) -> list[list[str]]:
    """Levels that turn the book side ``end`` back into ``start`` (prices in ``overridden``,
    which the diff itself sets, left out)."""
    reset: list[list[str]] = []
    for price in sorted(set(start) | set(end)):
        if price in overridden:
            continue
        before, after = start.get(price), end.get(price)
        if before is None:
            assert after is not None
            reset.append([after[0], "0"])
        elif after is None or Decimal(after[1]) != Decimal(before[1]):
            reset.append(list(before))
    return reset


def _split_symbol(symbol: str) -> tuple[str, str]:
    for quote in QUOTES:
        if symbol.endswith(quote) and len(symbol) > len(quote):
            return symbol[: -len(quote)], quote
    return symbol, ""


def canonical_symbol(instrument: str) -> str:
    """The relay-wide name of a bench instrument: ``"SUSHI007USDT"`` -> ``"SUSHI007/USDT"``."""
    base, quote = _split_symbol(instrument)
    return f"{base}/{quote}" if quote else base


def _renamed(symbol: str, copy: int, copies: int) -> str:
    """``SUSHIUSDT`` as copy 7 of 50 -> ``SUSHI007USDT``; unchanged with one copy."""
    if copies == 1:
        return symbol
    base, quote = _split_symbol(symbol)
    return f"{base}{copy:03d}{quote}"


class _Source:
    """One recorded Binance combined-stream session, analysed for repetition.

    Raises:
        BenchError: not a Binance combined-stream session with REST depth snapshots,
            or a book whose recorded diffs do not chain from its snapshot.
    """

    def __init__(self, path: Path) -> None:
        capture = read_capture(path)
        self.venue = capture.header.venue
        self.recorded_at = capture.records[0].t if capture.records else 0.0
        conns = [r.conn for r in capture.records if r.kind is RecordKind.CONNECT]
        if not conns:
            raise BenchError(f"{path}: no WebSocket connection recorded")
        self.books: dict[str, _Book] = {}
        for record in capture.records:
            if record.kind is RecordKind.HTTP and record.status == 200 and record.url:
                parts = urlsplit(record.url)
                params = dict(parse_qsl(parts.query))
                if "symbol" in params and record.data is not None:
                    self.books[params["symbol"]] = _Book(orjson.loads(record.data), parts.path)
        if not self.books:
            raise BenchError(f"{path}: no REST depth snapshot recorded")
        self.frames: list[_Frame] = []
        for record in capture.records:
            if record.kind is not RecordKind.RECV or record.conn != conns[0]:
                continue
            assert record.data is not None
            message = orjson.loads(record.data)
            data = message.get("data") if isinstance(message, dict) else None
            if not isinstance(data, dict):
                continue
            kind = data.get("e")
            symbol = data.get("s")
            if kind not in ("aggTrade", "bookTicker", "kline", "depthUpdate"):
                continue
            if not isinstance(symbol, str) or symbol not in self.books:
                continue
            self.frames.append(_Frame(str(message["stream"]), data, kind, symbol))
        self.futures = any("pu" in f.data for f in self.frames if f.kind == "depthUpdate")
        self._analyse_books(path)
        self._analyse_ids()

    def _analyse_books(self, path: Path) -> None:
        for symbol, book in self.books.items():
            snapshot_id = int(book.snapshot["lastUpdateId"])
            diffs = [i for i, f in enumerate(self.frames)
                     if f.kind == "depthUpdate" and f.symbol == symbol]
            if self.futures:
                kept = [i for i in diffs if self.frames[i].data["u"] >= snapshot_id]
                straddles = bool(kept) and self.frames[kept[0]].data["U"] <= snapshot_id
            else:
                kept = [i for i in diffs if self.frames[i].data["u"] > snapshot_id]
                straddles = bool(kept) and self.frames[kept[0]].data["U"] <= snapshot_id + 1
            if not straddles:
                raise BenchError(f"{path}: no {symbol} depth diff straddles its snapshot")
            first, last = self.frames[kept[0]].data, self.frames[kept[-1]].data
            book.straddle = book.first = kept[0]
            book.shift = last["u"] - (first["pu"] if self.futures else first["U"] - 1)
            start = (_levels(book.snapshot["bids"]), _levels(book.snapshot["asks"]))
            end = (dict(start[0]), dict(start[1]))
            for i in kept:
                _apply(end[0], self.frames[i].data["b"])
                _apply(end[1], self.frames[i].data["a"])
            book.reset_bids = _reset_levels(
                start[0], end[0], {Decimal(p) for p, _ in first["b"]}
            )
            book.reset_asks = _reset_levels(
                start[1], end[1], {Decimal(p) for p, _ in first["a"]}
            )

    def _analyse_ids(self) -> None:
        times: list[int] = []
        agg_ids: list[int] = []
        trade_ids: list[int] = []
        ticker_ids: list[int] = []
        for f in self.frames:
            d = f.data
            times.extend(d[key] for key in ("E", "T") if isinstance(d.get(key), int))
            if f.kind == "aggTrade":
                agg_ids.append(d["a"])
                trade_ids.extend((d["f"], d["l"]))
            elif f.kind == "bookTicker":
                ticker_ids.append(d["u"])
            elif f.kind == "kline":
                k = d["k"]
                times.extend((k["t"], k["T"]))
                trade_ids.extend(v for v in (k["f"], k["L"]) if v >= 0)
        span_ms = (max(times) - min(times) + 1) if times else 1
        self.time_shift_ms = math.ceil(span_ms / CANDLE_ALIGN_MS) * CANDLE_ALIGN_MS
        self.agg_shift = (max(agg_ids) - min(agg_ids) + 1) if agg_ids else 1
        self.trade_shift = (max(trade_ids) - min(trade_ids) + 1) if trade_ids else 1
        self.ticker_shift = (max(ticker_ids) - min(ticker_ids) + 1) if ticker_ids else 1

    def frame_events(self, repetition: int) -> list[int]:
        """Events each frame of one repetition publishes; -1 for a frame left out of it.

        In the first repetition, depth diffs before a book's snapshot publish nothing
        and the straddling diff publishes two (the snapshot, then itself); later
        repetitions leave those earlier diffs out.
        """
        counts: list[int] = []
        seen: set[tuple[str, str, str]] = set()
        for index, f in enumerate(self.frames):
            if f.kind == "depthUpdate":
                book = self.books[f.symbol]
                if index < book.straddle:
                    counts.append(0 if repetition == 0 else -1)
                else:
                    counts.append(2 if repetition == 0 and index == book.straddle else 1)
                continue
            d = f.data
            key = (str(d["a"]) if f.kind == "aggTrade" else
                   str(d["u"]) if f.kind == "bookTicker" else f"{d['k']['t']}:{d['E']}")
            if (f.symbol, f.kind, key) in seen:
                counts.append(0)
            else:
                seen.add((f.symbol, f.kind, key))
                counts.append(1)
        return counts

    def shifted(self, index: int, repetition: int, symbol: str) -> dict[str, Any]:
        """Frame ``index`` as sent in ``repetition`` for instrument ``symbol`` (a copy)."""
        f = self.frames[index]
        k = repetition
        data = dict(f.data)
        dt = k * self.time_shift_ms
        for key in ("E", "T"):
            if isinstance(data.get(key), int):
                data[key] += dt
        data["s"] = symbol
        if f.kind == "aggTrade":
            data["a"] += k * self.agg_shift
            data["f"] += k * self.trade_shift
            data["l"] += k * self.trade_shift
        elif f.kind == "bookTicker":
            data["u"] += k * self.ticker_shift
        elif f.kind == "kline":
            kline = dict(data["k"])
            kline["t"] += dt
            kline["T"] += dt
            kline["s"] = symbol
            for key in ("f", "L"):
                if kline[key] >= 0:
                    kline[key] += k * self.trade_shift
            data["k"] = kline
        else:
            book = self.books[f.symbol]
            shift = k * book.shift
            data["U"] += shift
            data["u"] += shift
            if "pu" in data:
                data["pu"] += shift
            if k > 0 and index == book.first:
                data["b"] = book.reset_bids + data["b"]
                data["a"] = book.reset_asks + data["a"]
        stream = f"{symbol.lower()}@{f.stream.partition('@')[2]}"
        return {"stream": stream, "data": data}


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

    The source's ``recv`` frames (aggTrade, bookTicker, kline, depthUpdate of the
    symbols with a recorded REST snapshot) are repeated. Repetition ``k`` shifts:
    event and transaction times (``E``, ``T``, kline ``t``/``T``) by ``k`` times the
    recording's span rounded up to whole minutes; aggTrade ids ``a`` and trade ids
    (``f``, ``l``, kline ``f``/``L``) and bookTicker ``u`` by ``k`` times their
    recorded range; each book's ``U``/``u``/``pu`` so that repetition ``k+1``'s
    first diff chains onto repetition ``k``'s last (futures: ``pu`` equals the
    previous ``u``; spot: ``U`` is the previous ``u`` + 1). Repetitions after the
    first leave out the diffs before each book's snapshot, and their first diff of
    each book also carries the levels that turn the book back into its state at the
    snapshot, so every repetition walks the recorded books again (an uncrossed book
    throughout) instead of applying old diffs to a later book. The single recorded
    REST snapshot per book is kept: the relay syncs each book once.

    With ``copies`` > 1 every instrument is served ``copies`` times under new names
    (``SUSHIUSDT`` -> ``SUSHI000USDT`` ... ``SUSHI049USDT``), each with its own
    REST snapshot; frames of the copies follow each other.

    Pacing (each ``recv`` record's ``t``, served with ``--speed realtime``): at a
    fixed load, frame ``i`` is due ``i / rate_per_s`` seconds after the first; at
    maximum load (``rate_per_s`` None) the first frames (at most
    :data:`WARMUP_FRAMES`, at most one repetition) are spread over
    :data:`WARMUP_S` and every later one is due at once.

    Args:
        source: a recorded Binance combined-stream session (``binance-usdm.jsonl``).
        destination: the file to write.
        events: how many events the relay must publish (>= 1).
        rate_per_s: offered events (frames) per second, or None for maximum load.
        copies: how many times each instrument is served, renamed.

    Returns:
        What was written; ``events`` is exact (it may exceed the asked number by
        one, when the last frame is a book's first diff).

    Raises:
        BenchError: an unusable source (see :class:`_Source`).
        CaptureError: the source is not a valid capture.
    """
    src = _Source(source)
    per_repetition = [src.frame_events(0), src.frame_events(1)]
    plan = list(_plan(per_repetition, copies, events))
    first_repetition = sum(1 for step in plan if step[0] == 0)
    warmup = 0 if rate_per_s is not None else min(WARMUP_FRAMES, first_repetition)
    names = {
        symbol: tuple(_renamed(symbol, copy, copies) for copy in range(copies))
        for symbol in src.books
    }
    t0 = src.recorded_at
    url = "wss://bench.invalid/stream"
    header = {
        "capture": 1,
        "venue": SERVED_VENUE,
        "recorded": "synthetic",
        "source": f"relay bench: {source.name} repeated, ids and times shifted per repetition",
        "records": 1 + len(src.books) * copies + len(plan),
    }
    total_events = 0
    warmup_events = 0
    with destination.open("wb") as out:
        out.write(orjson.dumps(header) + b"\n")
        out.write(orjson.dumps({"t": t0, "kind": "connect", "conn": "ws-1", "url": url}) + b"\n")
        for symbol, book in src.books.items():
            body = orjson.dumps(book.snapshot).decode()
            for name in names[symbol]:
                out.write(orjson.dumps({
                    "t": t0, "kind": "http", "method": "GET", "status": 200, "data": body,
                    "url": f"https://bench.invalid{book.path}?symbol={name}&limit=1000",
                }) + b"\n")
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
            frame = src.shifted(index, repetition, names[src.frames[index].symbol][copy])
            out.write(orjson.dumps({
                "t": t0 + offset_s, "kind": "recv", "conn": "ws-1",
                "data": orjson.dumps(frame).decode(),
            }) + b"\n")
    instruments = tuple(name for symbol in src.books for name in names[symbol])
    return SyntheticCapture(
        destination, src.venue, instruments, len(plan), total_events, warmup_events
    )


# --------------------------------------------------------------------------- configuration


def relay_config_text(
    nats_url: str, simulator: str, capture: SyntheticCapture, wire_format: str
) -> str:
    """The ``relay run`` config of one bench run (TOML).

    Args:
        nats_url: ``nats://127.0.0.1:PORT``.
        simulator: the simulator's ``host:port``.
        capture: the synthetic capture it serves; every instrument in it is subscribed
            to trades, tickers, books and candles.
        wire_format: ``"json"`` or ``"protobuf"``.
    """
    parts = [f"""[nats]
urls = ["{nats_url}"]
max_in_flight = {MAX_IN_FLIGHT}
[[nats.streams]]
name = "{STREAM}"
subjects = ["market.>"]
storage = "file"
[serialization]
format = "{wire_format}"
[http]
enabled = false
[pipeline]
max_queue_events = {MAX_QUEUE_EVENTS}
[logging]
level = "WARNING"
format = "text"

[[venues]]
id = "{capture.venue}"
ws_url = "ws://{simulator}/{SERVED_VENUE}/stream"
rest_url = "http://{simulator}/{SERVED_VENUE}"
rest_weight_per_minute = 1000000
"""]
    data_types = ", ".join(f'"{name}"' for name in DATA_TYPES)
    for instrument in capture.instruments:
        parts.append(f"""
[[venues.subscriptions]]
instrument = "{instrument}"
canonical_symbol = "{canonical_symbol(instrument)}"
data_types = [{data_types}]
""")
    return "".join(parts)


def _stream_config(config_text: str) -> StreamConfig:
    config = parse_config(config_text, source="<bench>", venues=supported_data_types())
    return config.nats.streams[0]


# --------------------------------------------------------------------------- measurements


@dataclass(frozen=True, slots=True)
class Latency:
    """Frame-read-to-ack latency percentiles of one run, milliseconds (nearest rank)."""

    p50: float
    p99: float
    p999: float
    max: float

    def as_dict(self) -> dict[str, float]:
        """``{"p50": ..., "p99": ..., "p999": ..., "max": ...}``."""
        return {"p50": self.p50, "p99": self.p99, "p999": self.p999, "max": self.max}


def latency_percentiles(latencies_ns: Sequence[int]) -> Latency:
    """Nearest-rank percentiles of nanosecond latencies, in milliseconds (3 decimals).

    ``latency_percentiles([1_000_000] * 10)`` -> ``Latency(1.0, 1.0, 1.0, 1.0)``;
    an empty sequence gives zeros.
    """
    ordered = sorted(latencies_ns)
    if not ordered:
        return Latency(0.0, 0.0, 0.0, 0.0)

    def rank(q: float) -> float:
        value = ordered[max(0, math.ceil(q * len(ordered)) - 1)]
        return round(value / 1e6, 3)

    return Latency(rank(0.50), rank(0.99), rank(0.999), rank(1.0))


@dataclass(frozen=True, slots=True)
class RelayRun:
    """One relay run at one offered load.

    Attributes:
        label: ``"5000/s"``, ``"max"`` or ``"200 subscriptions"``.
        offered_per_s: the fixed offered load, None at maximum load.
        subscriptions: instruments subscribed.
        events: events the relay published and JetStream stored.
        events_per_s: acked events per second (see the module doc for the window).
        wall_s: relay process start to exit.
        latency: frame-read-to-ack percentiles.
        relay_cpu_s: the relay process's CPU seconds (user + system, whole life).
        peak_rss_mb: the relay process's peak RSS.
        duplicates: events the relay suppressed as duplicates (0 expected).
        dropped: events the relay dropped (0 expected).
        event_loop: the relay's event loop, ``"asyncio"`` or ``"uvloop"``.
        simulator_cpu_s: the simulator's CPU seconds while the relay ran (its start,
            reading the capture, left out), None where ``/proc`` is missing.
        machine_cpu_s: CPU seconds of every process on the machine while the relay ran,
            the bench process's own left out (``/proc/stat``), None where it is missing.
    """

    label: str
    offered_per_s: float | None
    subscriptions: int
    events: int
    events_per_s: float
    wall_s: float
    latency: Latency
    relay_cpu_s: float
    peak_rss_mb: float
    duplicates: int
    dropped: int
    event_loop: str
    simulator_cpu_s: float | None
    machine_cpu_s: float | None

    def as_dict(self) -> dict[str, Any]:
        """The run as JSON-ready values."""
        return {
            "label": self.label,
            "offered_events_per_s": self.offered_per_s,
            "subscriptions": self.subscriptions,
            "events": self.events,
            "events_per_s": round(self.events_per_s, 1),
            "wall_s": round(self.wall_s, 3),
            "latency_ms": self.latency.as_dict(),
            "relay_cpu_s": self.relay_cpu_s,
            "relay_cpu_s_per_million_events": _per_million(self.relay_cpu_s, self.events),
            "peak_rss_mb": self.peak_rss_mb,
            "duplicates_suppressed": self.duplicates,
            "dropped": self.dropped,
            "event_loop": self.event_loop,
            "simulator_cpu_s": self.simulator_cpu_s,
            "machine_cpu_s": self.machine_cpu_s,
        }


@dataclass(frozen=True, slots=True)
class Baseline:
    """Publishing the relay's payloads straight to JetStream, without the relay.

    Attributes:
        method: ``"publish_async"`` or ``"core_publish"``.
        events: messages published.
        stored: messages the stream held at the end (core publish is not acked).
        errors: publishes rejected (negative acks).
        events_per_s: ``stored`` over the time from the first publish to the last
            ack (publish_async) or to the poll that saw them stored (core publish).
    """

    method: str
    events: int
    stored: int
    errors: int
    events_per_s: float


def _per_million(cpu_s: float, events: int) -> float:
    return round(cpu_s / events * 1e6, 2) if events else 0.0


_CLOCK_TICKS_PER_S = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _process_cpu_s(pid: int) -> float | None:
    """User + system CPU seconds of a live process, from ``/proc/<pid>/stat``."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS_PER_S


def _machine_busy_s() -> float | None:
    """CPU seconds spent by every process since boot (``/proc/stat``: user, nice, system,
    irq, softirq; idle, iowait and a VM's steal left out)."""
    try:
        first = Path("/proc/stat").read_text().splitlines()[0].split()
    except OSError:
        return None
    ticks = [int(value) for value in first[1:8]]
    return (sum(ticks) - ticks[3] - ticks[4]) / _CLOCK_TICKS_PER_S


# --------------------------------------------------------------------------- child processes


@contextlib.asynccontextmanager
async def _simulator(capture: Path, log: TextIO) -> Any:
    """``relay simulate CAPTURE --port 0 --speed realtime`` as a child; yields (host:port, pid)."""
    env = {**os.environ, "WEBSOCKETS_MAX_LINE_LENGTH": "1048576", "PYTHONUNBUFFERED": "1"}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "relay.cli", "simulate", str(capture),
        "--port", "0", "--speed", "realtime",
        stdout=asyncio.subprocess.PIPE, stderr=log, env=env,
    )
    assert process.stdout is not None
    try:
        line = (await asyncio.wait_for(process.stdout.readline(), 300)).decode()
        prefix = "relay simulate: listening on ws://"
        if not line.startswith(prefix):
            raise BenchError(f"relay simulate did not start: {line!r} (log: {log.name})")
        yield line[len(prefix):].split()[0], process.pid
    finally:
        await _stop(process, signal.SIGTERM)


async def _stop(process: asyncio.subprocess.Process, sig: int) -> int:
    """Signal a child and wait for it (SIGKILL after 60 s); its exit code."""
    if process.returncode is None:
        process.send_signal(sig)
        try:
            await asyncio.wait_for(process.wait(), 60)
        except TimeoutError:
            process.kill()
            await process.wait()
    assert process.returncode is not None
    return process.returncode


async def _stored(js: Any) -> int:
    try:
        info = await js.stream_info(STREAM)
    except NotFoundError:
        return 0
    count: int = info.state.messages
    return count


async def _delete_stream(js: Any) -> None:
    with contextlib.suppress(NotFoundError):
        await js.delete_stream(STREAM)


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


@dataclass(frozen=True, slots=True)
class _Plan:
    label: str
    rate_per_s: float | None
    events: int
    copies: int


async def _relay_run(
    plan: _Plan, source: Path, work: Path, server: EmbeddedNats, js: Any, wire_format: str,
    progress: TextIO, loop: str = "asyncio",
) -> tuple[RelayRun, str]:
    """Run simulator + relay for one plan; returns the run and the relay config text."""
    name = plan.label.replace("/", "_per_").replace(" ", "_")
    capture = await asyncio.to_thread(
        write_synthetic_capture,
        source, work / f"{name}.jsonl", plan.events, plan.rate_per_s, plan.copies,
    )
    await _delete_stream(js)
    stats_path = work / f"{name}.stats.json"
    relay_log = work / f"{name}.relay.log"
    with (work / f"{name}.simulator.log").open("w") as sim_log, relay_log.open("w") as log:
        async with _simulator(capture.path, sim_log) as (address, simulator_pid):
            config_text = relay_config_text(server.url, address, capture, wire_format)
            config_path = work / f"{name}.toml"
            config_path.write_text(config_text)
            busy_before, self_before = _machine_busy_s(), cpu_seconds()
            simulator_before = _process_cpu_s(simulator_pid)
            started = time.monotonic()
            relay = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "relay.cli", "run", "--config", str(config_path),
                "--stats-file", str(stats_path), "--loop", loop, stderr=log,
            )
            try:
                samples = await _await_stored(js, capture.events, relay, relay_log, progress,
                                              plan.label)
            finally:
                code = await _stop(relay, signal.SIGTERM)
            wall_s = time.monotonic() - started
            simulator_after = _process_cpu_s(simulator_pid)
            busy_after, self_after = _machine_busy_s(), cpu_seconds()
    if code != 0 or not stats_path.exists():
        raise BenchError(f"relay run exited with {code}:\n{_tail(relay_log)}")
    stats, latencies = _read_stats(stats_path)
    machine_cpu_s = (
        round(busy_after - busy_before - (self_after - self_before), 2)
        if busy_before is not None and busy_after is not None else None
    )
    simulator_cpu_s = (
        simulator_after - simulator_before
        if simulator_before is not None and simulator_after is not None else None
    )
    run = RelayRun(
        label=plan.label,
        offered_per_s=plan.rate_per_s,
        subscriptions=len(capture.instruments),
        events=int(stats["published"]),
        events_per_s=_window_rate(samples, capture, started),
        wall_s=wall_s,
        latency=latency_percentiles(latencies),
        relay_cpu_s=float(stats["cpu_s"]),
        peak_rss_mb=float(stats["peak_rss_mb"]),
        duplicates=int(stats["duplicates_suppressed"]),
        dropped=int(stats["dropped"]),
        event_loop=str(stats["event_loop"]),
        simulator_cpu_s=None if simulator_cpu_s is None else round(simulator_cpu_s, 2),
        machine_cpu_s=machine_cpu_s,
    )
    if run.events != capture.events:
        raise BenchError(
            f"{plan.label}: relay published {run.events} events, expected {capture.events}"
        )
    return run, config_text


def _read_stats(path: Path) -> tuple[dict[str, Any], array[int]]:
    """The relay's stats file and its latency file (int64 ns, native order)."""
    stats: dict[str, Any] = orjson.loads(path.read_bytes())
    latencies = array("q")
    latencies.frombytes(Path(stats["latency_file"]).read_bytes())
    return stats, latencies


async def _await_stored(
    js: Any, expected: int, relay: asyncio.subprocess.Process, relay_log: Path,
    progress: TextIO, label: str,
) -> list[tuple[float, int]]:
    """Poll the stream until it holds ``expected`` messages; the ``(monotonic s, count)`` polls.

    Raises:
        BenchError: the relay exited, or the count did not grow for :data:`STALL_S`.
    """
    samples: list[tuple[float, int]] = []
    last_count, last_change = -1, time.monotonic()
    next_report = time.monotonic() + 10.0
    while True:
        count = await _stored(js)
        now = time.monotonic()
        samples.append((now, count))
        if count >= expected:
            return samples
        if count != last_count:
            last_count, last_change = count, now
        if relay.returncode is not None:
            raise BenchError(f"{label}: relay exited early:\n{_tail(relay_log)}")
        if now - last_change > STALL_S:
            raise BenchError(
                f"{label}: stream stuck at {count} of {expected} messages for {STALL_S:g} s:\n"
                f"{_tail(relay_log)}"
            )
        if now >= next_report:
            print(f"relay bench: {label}: {count}/{expected} stored", file=progress, flush=True)
            next_report = now + 10.0
        await asyncio.sleep(POLL_S)


def _window_rate(
    samples: Sequence[tuple[float, int]], capture: SyntheticCapture, started: float
) -> float:
    """Events per second between the first poll past the warm-up and the last poll."""
    end_t, end_count = samples[-1]
    threshold = capture.warmup_events if capture.events > 2 * capture.warmup_events else 1
    for t, count in samples:
        if count >= threshold and t < end_t:
            return (end_count - count) / (end_t - t) if end_count > count else 0.0
    return end_count / (end_t - started)


# --------------------------------------------------------------------------- baselines


Message = tuple[str, str, bytes]
"""``(subject, Nats-Msg-Id, payload)`` of one stored message."""


async def _read_back(js: Any, count: int) -> list[Message]:
    """The first ``count`` messages of the stream, in order (pull consumer, no acks)."""
    sub = await js.pull_subscribe(
        "market.>", stream=STREAM,
        config=ConsumerConfig(ack_policy=AckPolicy.NONE, inactive_threshold=60.0),
    )
    messages: list[Message] = []
    try:
        while len(messages) < count:
            batch = await sub.fetch(min(READBACK_BATCH, count - len(messages)), timeout=10)
            messages.extend(
                (m.subject, (m.headers or {}).get("Nats-Msg-Id", ""), m.data) for m in batch
            )
    finally:
        await sub.unsubscribe()
    return messages


async def _baseline_publish_async(
    nc: Any, stream: StreamConfig, messages: Sequence[Message], content_type: str
) -> Baseline:
    js = nc.jetstream(publish_async_max_pending=MAX_IN_FLIGHT)
    await _delete_stream(js)
    await js.add_stream(js_stream_config(stream))
    errors = 0

    def check(future: asyncio.Future[Any]) -> None:
        nonlocal errors
        if future.cancelled() or future.exception() is not None:
            errors += 1

    started = time.monotonic()
    for subject, msg_id, payload in messages:
        future = await js.publish_async(
            subject, payload, headers={"Nats-Msg-Id": msg_id, "Content-Type": content_type}
        )
        future.add_done_callback(check)
    await js.publish_async_completed()
    elapsed = time.monotonic() - started
    stored = await _stored(js)
    return Baseline("publish_async", len(messages), stored, errors, stored / elapsed)


async def _baseline_core_publish(
    nc: Any, stream: StreamConfig, messages: Sequence[Message], content_type: str
) -> Baseline:
    js = nc.jetstream()
    await _delete_stream(js)
    await js.add_stream(js_stream_config(stream))
    started = time.monotonic()
    for subject, msg_id, payload in messages:
        await nc.publish(
            subject, payload, headers={"Nats-Msg-Id": msg_id, "Content-Type": content_type}
        )
    await nc.flush()
    last, last_change = -1, time.monotonic()
    while True:
        stored = await _stored(js)
        now = time.monotonic()
        if stored >= len(messages):
            break
        if stored != last:
            last, last_change = stored, now
        elif now - last_change > 5.0:
            break
        await asyncio.sleep(0.01)
    elapsed = now - started if stored >= len(messages) else last_change - started
    return Baseline("core_publish", len(messages), stored, 0, stored / elapsed)


# --------------------------------------------------------------------------- the whole bench


@dataclass(frozen=True, slots=True)
class BenchOptions:
    """What ``relay bench`` runs.

    Attributes:
        events: events of the maximum-load run and of the baselines (>= 1).
        wire_format: ``"json"`` or ``"protobuf"``.
        rates_per_s: fixed offered loads, events per second.
        load_s: seconds of events offered at each fixed load (capped at ``events``).
        subscriptions: instruments of the RSS run (a multiple of the source's
            instrument count is used, rounded up); 0 skips it.
        source: the recorded session events are built from.
        out_dir: where the PNG plot is written.
        as_json: print one JSON object instead of the table (no plot).
        loop: ``relay run --loop`` of the relay under test (``asyncio``, ``uvloop``).
    """

    events: int = DEFAULT_EVENTS
    wire_format: str = "json"
    rates_per_s: tuple[float, ...] = DEFAULT_RATES_PER_S
    load_s: float = DEFAULT_LOAD_S
    subscriptions: int = DEFAULT_SUBSCRIPTIONS
    source: Path = field(
        default_factory=lambda: PROJECT_CAPTURE if PROJECT_CAPTURE.exists() else SHIPPED_CAPTURE
    )
    out_dir: Path = Path()
    as_json: bool = False
    loop: str = "asyncio"


def _plans(options: BenchOptions, instruments: int) -> list[_Plan]:
    plans = [
        _Plan(f"{rate:g}/s", rate, max(1, min(options.events, round(rate * options.load_s))), 1)
        for rate in options.rates_per_s
    ]
    plans.append(_Plan("max", None, options.events, 1))
    if options.subscriptions > 0:
        copies = max(1, math.ceil(options.subscriptions / instruments))
        plans.append(_Plan(
            f"{copies * instruments} {SUBSCRIPTIONS_LABEL}", None,
            min(options.events, SUBSCRIPTION_RUN_MAX_EVENTS), copies,
        ))
    return plans


def _machine() -> dict[str, Any]:
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.partition(":")[2].strip()
                break
    memory_gb = None
    with contextlib.suppress(OSError, ValueError, IndexError):
        memory_gb = round(int(Path("/proc/meminfo").read_text().split()[1]) / 1024 / 1024, 1)
    server = ""
    with contextlib.suppress(OSError, subprocess.SubprocessError, RelayError):
        server = subprocess.run(
            [str(nats_server_binary()), "--version"], capture_output=True, text=True, timeout=10,
        ).stdout.strip()
    return {
        "cpus": os.cpu_count(), "cpu_model": model, "memory_gb": memory_gb,
        "system": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(), "nats_server": server,
        "nats_py": _version("nats-py"),
    }


def _version(distribution: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(distribution)
    except PackageNotFoundError:
        return ""


async def collect(options: BenchOptions, progress: TextIO | None = None) -> dict[str, Any]:
    """Run every part of the benchmark; returns the report (see :func:`run_bench`).

    ``progress`` (default stderr) gets one line per run and every 10 s.

    Raises:
        BenchError: a run failed (a child exited, the stream stalled, counts differ).
    """
    progress = progress or sys.stderr
    began = time.monotonic()
    codec = codec_for(options.wire_format)
    instruments = len(_Source(options.source).books)
    plans = _plans(options, instruments)
    runs: list[RelayRun] = []
    with tempfile.TemporaryDirectory(prefix="relay-bench-") as tmp:
        work = Path(tmp)
        async with EmbeddedNats(store_dir=work / "jetstream") as server:
            nc = await nats.connect(server.url)
            try:
                js = nc.jetstream()
                baselines: list[Baseline] = []
                for plan in plans:
                    print(f"relay bench: {plan.label}: {plan.events} events ...",
                          file=progress, flush=True)
                    run, config_text = await _relay_run(
                        plan, options.source, work, server, js, options.wire_format, progress,
                        options.loop,
                    )
                    runs.append(run)
                    if plan.label == "max":
                        print("relay bench: baselines ...", file=progress, flush=True)
                        messages = await _read_back(js, run.events)
                        stream = _stream_config(config_text)
                        baselines.append(await _baseline_publish_async(
                            nc, stream, messages, codec.content_type))
                        baselines.append(await _baseline_core_publish(
                            nc, stream, messages, codec.content_type))
                        del messages
            finally:
                await nc.close()
    return _report(options, runs, baselines, time.monotonic() - began)


def _report(
    options: BenchOptions, runs: Sequence[RelayRun], baselines: Sequence[Baseline],
    elapsed_s: float,
) -> dict[str, Any]:
    top = next(run for run in runs if run.offered_per_s is None and run.label == "max")
    many = [run for run in runs if run.label.endswith(SUBSCRIPTIONS_LABEL)]
    by_method = {b.method: b for b in baselines}
    pub_async, core = by_method["publish_async"], by_method["core_publish"]
    other_cpu = (
        round(top.machine_cpu_s - top.relay_cpu_s - top.simulator_cpu_s, 2)
        if top.machine_cpu_s is not None and top.simulator_cpu_s is not None else None
    )
    return {
        "events": top.events,
        "format": options.wire_format,
        "relay_events_per_s": round(top.events_per_s, 1),
        "baseline_publish_async_per_s": round(pub_async.events_per_s, 1),
        "baseline_core_publish_per_s": round(core.events_per_s, 1),
        "ratio_vs_publish_async": round(top.events_per_s / pub_async.events_per_s, 3),
        "ratio_vs_core_publish": round(top.events_per_s / core.events_per_s, 3),
        "latency_ms": top.latency.as_dict(),
        "peak_rss_mb": top.peak_rss_mb,
        "cpu_s_per_million_events": _per_million(top.relay_cpu_s, top.events),
        "rss_with_subscriptions_mb": many[0].peak_rss_mb if many else None,
        "subscriptions": many[0].subscriptions if many else 0,
        "cpu_s": {
            "relay": top.relay_cpu_s,
            "simulator": top.simulator_cpu_s,
            "nats_server_and_other": other_cpu,
        },
        "runs": [run.as_dict() for run in runs],
        "baselines": [
            {"method": b.method, "events": b.events, "stored": b.stored, "errors": b.errors,
             "events_per_s": round(b.events_per_s, 1)} for b in baselines
        ],
        "settings": {
            "source": options.source.name, "max_in_flight": MAX_IN_FLIGHT,
            "max_queue_events": MAX_QUEUE_EVENTS, "load_s": options.load_s,
            "storage": "file", "loop": options.loop,
        },
        "machine": _machine(),
        "elapsed_s": round(elapsed_s, 1),
    }


def format_table(report: dict[str, Any]) -> str:
    """The report as a readable text table."""
    lines = [
        f"relay bench: {report['events']} events, format {report['format']}, "
        f"event loop {report['runs'][0]['event_loop'] if report['runs'] else '-'}, "
        f"{report['machine']['cpus']} CPUs ({report['machine']['cpu_model']}), "
        f"{report['machine']['nats_server']}",
        "",
        f"{'run':<20}{'events':>9}{'events/s':>11}{'p50 ms':>10}{'p99 ms':>10}"
        f"{'p99.9 ms':>10}{'max ms':>10}{'CPU s/M':>9}{'RSS MB':>8}",
    ]
    for run in report["runs"]:
        lat = run["latency_ms"]
        lines.append(
            f"{run['label']:<20}{run['events']:>9}{run['events_per_s']:>11.0f}"
            f"{lat['p50']:>10.2f}{lat['p99']:>10.2f}{lat['p999']:>10.2f}{lat['max']:>10.1f}"
            f"{run['relay_cpu_s_per_million_events']:>9.1f}{run['peak_rss_mb']:>8.1f}"
        )
    lines += ["", f"{'throughput (same payloads, same server)':<44}{'events/s':>11}{'relay/x':>9}"]
    lines.append(f"{'relay (simulate -> relay -> JetStream ack)':<44}"
                 f"{report['relay_events_per_s']:>11.0f}{1.0:>9.3f}")
    for baseline in report["baselines"]:
        ratio = report["relay_events_per_s"] / baseline["events_per_s"]
        name = ("nats-py js.publish_async (acked)" if baseline["method"] == "publish_async"
                else "nats-py core publish + flush (not acked)")
        lines.append(f"{name:<44}{baseline['events_per_s']:>11.0f}{ratio:>9.3f}")
    cpu = report["cpu_s"]
    lines += [
        "",
        f"max load CPU seconds: relay {cpu['relay']}, simulator {cpu['simulator']}, "
        f"nats-server and other {cpu['nats_server_and_other']}; "
        f"relay {report['cpu_s_per_million_events']} CPU s per million events",
        f"peak RSS: {report['peak_rss_mb']} MB at max load; "
        f"{report['rss_with_subscriptions_mb']} MB with {report['subscriptions']} subscriptions",
        f"elapsed {report['elapsed_s']} s",
    ]
    return "\n".join(lines)


def write_plot(report: dict[str, Any], path: Path) -> bool:
    """Latency percentiles per offered load and throughput bars, as a PNG.

    Returns:
        False when matplotlib is not installed (``pip install 'relay[bench]'``).
    """
    try:
        matplotlib = importlib.import_module("matplotlib")
    except ImportError:
        return False
    matplotlib.use("Agg")
    pyplot = importlib.import_module("matplotlib.pyplot")
    loads = [run for run in report["runs"] if not run["label"].endswith(SUBSCRIPTIONS_LABEL)]
    figure, (left, right) = pyplot.subplots(1, 2, figsize=(12, 4.5))
    names = [
        f"{run['label']}\n({run['events_per_s']:.0f}/s acked)" for run in loads
    ]
    for key, label in (("p50", "p50"), ("p99", "p99"), ("p999", "p99.9")):
        left.plot(names, [max(run["latency_ms"][key], 1e-3) for run in loads],
                  marker="o", label=label)
    left.set_yscale("log")
    left.set_ylabel("frame read -> JetStream ack, ms")
    left.set_xlabel("offered load")
    left.set_title(f"relay latency ({report['format']})")
    left.legend()
    left.grid(True, which="both", alpha=0.3)
    bars = [("relay", report["relay_events_per_s"])] + [
        (baseline["method"], baseline["events_per_s"]) for baseline in report["baselines"]
    ]
    right.bar([name for name, _ in bars], [value for _, value in bars],
              color=["tab:blue", "tab:orange", "tab:green"])
    for index, (_, value) in enumerate(bars):
        right.annotate(f"{value:,.0f}", (index, value), ha="center", va="bottom")
    right.set_ylabel("events/s")
    right.set_title(f"throughput, {report['events']:,} events, file storage")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    pyplot.close(figure)
    return True


async def run_bench(options: BenchOptions, out: TextIO | None = None) -> int:
    """The body of ``relay bench``: run, then print JSON or a table (and write the plot).

    With ``as_json`` prints one JSON object with at least ``events``, ``format``,
    ``relay_events_per_s``, ``baseline_publish_async_per_s``,
    ``baseline_core_publish_per_s``, ``ratio_vs_publish_async``, ``latency_ms``
    (``p50``, ``p99``, ``p999`` at maximum load, ms) and ``peak_rss_mb``; otherwise a
    table, and ``bench-<format>.png`` in ``out_dir`` (skipped, with a message, without
    matplotlib).

    Args:
        options: what to run.
        out: where the JSON or table goes (default stdout); progress goes to stderr.

    Returns:
        The exit code: 0, or 1 when a run failed (the reason on stderr).
    """
    out = out or sys.stdout
    try:
        report = await collect(options)
    except BenchError as exc:
        print(f"relay bench: {exc}", file=sys.stderr)
        return 1
    if options.as_json:
        out.write(orjson.dumps(report).decode() + "\n")
        return 0
    out.write(format_table(report) + "\n")
    plot = options.out_dir / f"bench-{options.wire_format}.png"
    if write_plot(report, plot):
        out.write(f"plot: {plot}\n")
    else:
        out.write("plot: skipped, matplotlib is not installed (pip install 'relay[bench]')\n")
    return 0
