"""OKX v5 public sessions (``books`` with WebSocket snapshots, trades, tickers) as a bench source.

Format: the recorded ``okx.jsonl`` in ``shared/captures`` (``{"arg": {"channel",
"instId"}, "action": "snapshot" | "update", "data": [...]}`` pushes), as documented
at https://www.okx.com/docs-v5/en/#order-book-trading-market-data-ws-order-book-channel
(``seqId``/``prevSeqId``, the CRC32 checksum over the top 25 levels).

Books: the 2022 recording carries checksums but no ``seqId``/``prevSeqId``
(OKX added them later and sends them today), so every book message is numbered
here: the snapshot ``seqId`` 1 (``prevSeqId`` -1), each update the previous
``seqId`` + 1 with ``prevSeqId`` the previous ``seqId``, continuing across
repetitions; the relay then checks the chain as it does live. A recording that
has them is renumbered the same way. The recorded checksums are kept: every
repetition walks the recorded books again (see
:func:`relay.bench.sessions.write_synthetic_capture`), and :func:`check_checksum`
proves them with the relay's own :func:`relay.infrastructure.venues.okx.raw_book_checksum`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import orjson

from relay.application.order_book import apply_raw_levels
from relay.bench.errors import BenchError
from relay.bench.levels import (
    Level,
    RawSide,
    id_range,
    received_frames,
    reset_levels,
    time_shift_ms,
)
from relay.infrastructure.venues import okx
from relay.sim.captures import Capture

CHANNELS = ("trades", "tickers", "books")
"""The channels repeated (the relay's trade, ticker and book streams)."""


@dataclass(slots=True)
class _Frame:
    """One recorded push: its channel, instId, action (books) and entries."""

    channel: str
    inst_id: str
    action: str | None
    entries: list[dict[str, Any]]


@dataclass(slots=True)
class _Book:
    """Where a book's recorded snapshot is and how its updates repeat."""

    snapshot: int
    """Frame index of the snapshot push."""
    first: int = -1
    """Frame index of the first update after the snapshot (-1: none)."""
    updates: int = 0
    """Book messages (entries) after the snapshot in one repetition: the seqId shift."""
    reset_bids: list[Level] = field(default_factory=list)
    reset_asks: list[Level] = field(default_factory=list)


def _removal(price: str) -> Level:
    return [price, "0", "0", "0"]


def check_checksum(bids: RawSide, asks: RawSide, expected: int) -> bool:
    """Whether OKX's checksum of a book of recorded levels is ``expected`` (0: not checked)."""
    if not expected:
        return True
    return okx.raw_book_checksum(bids, asks) == expected


class OkxSession:
    """One recorded OKX public session, analysed for repetition.

    Repetition ``k`` shifts every ``ts`` by ``k`` times the recorded span
    (rounded up to whole minutes) and trade ids by ``k`` times their recorded
    range, numbers the book messages (module doc), and leaves out each book's
    snapshot push and what came before it; its first update then also carries
    the levels that turn the book back into the snapshot's.

    Raises:
        BenchError: no ``books`` snapshot recorded, or a recorded checksum that
            the recorded levels do not give (the relay would resync).
    """

    VENUES: tuple[str, ...] = ("okx",)
    ws_path: str = "/ws/v5/public"
    data_types: tuple[str, ...] = ("trade", "ticker", "l2_orderbook")

    def __init__(self, capture: Capture) -> None:
        path = capture.path
        self.venue = capture.header.venue
        self.recorded_at = capture.records[0].t if capture.records else 0.0
        received = received_frames(capture)
        self.frames: list[_Frame] = []
        self.books: dict[str, _Book] = {}
        for text in received:
            try:
                message = orjson.loads(text)
            except orjson.JSONDecodeError:
                continue  # "pong"
            arg = message.get("arg") if isinstance(message, dict) else None
            data = message.get("data") if isinstance(message, dict) else None
            if "event" in message or not isinstance(arg, dict) or not isinstance(data, list):
                continue
            channel, inst_id = arg.get("channel"), arg.get("instId")
            if channel not in CHANNELS or not isinstance(inst_id, str):
                continue
            action = message.get("action")
            if channel == "books" and action == "snapshot" and inst_id not in self.books:
                self.books[inst_id] = _Book(len(self.frames))
            self.frames.append(_Frame(channel, inst_id, action, data))
        if not self.books:
            raise BenchError(f"{path}: no books snapshot recorded")
        self.frames = [f for f in self.frames if f.inst_id in self.books]
        for inst_id in self.books:
            self.books[inst_id].snapshot = next(
                i
                for i, f in enumerate(self.frames)
                if f.inst_id == inst_id and f.channel == "books" and f.action == "snapshot"
            )
        self.instruments = tuple(self.books)
        self._entries_before: dict[int, int] = {}
        """Book update frame index -> entries of its book after the snapshot before it."""
        self._analyse_books(str(path))
        times = [int(e["ts"]) for f in self.frames for e in f.entries if "ts" in e]
        self.time_shift_ms = time_shift_ms(times)
        self.trade_shift = id_range(
            [int(e["tradeId"]) for f in self.frames if f.channel == "trades" for e in f.entries]
        )

    def _analyse_books(self, path: str) -> None:
        for inst_id, book in self.books.items():
            frames = [
                i
                for i, f in enumerate(self.frames)
                if f.channel == "books" and f.inst_id == inst_id and i > book.snapshot
            ]
            if any(self.frames[i].action != "update" for i in frames):
                raise BenchError(f"{path}: {inst_id}: a second books snapshot")
            start: tuple[RawSide, RawSide] = ({}, {})
            for entry in self.frames[book.snapshot].entries:
                start = ({}, {})
                apply_raw_levels(start[0], entry["bids"])
                apply_raw_levels(start[1], entry["asks"])
                if not check_checksum(*start, int(entry.get("checksum") or 0)):
                    raise BenchError(f"{path}: {inst_id}: snapshot checksum does not match")
            end = (dict(start[0]), dict(start[1]))
            for i in frames:
                self._entries_before[i] = book.updates
                for entry in self.frames[i].entries:
                    apply_raw_levels(end[0], entry["bids"])
                    apply_raw_levels(end[1], entry["asks"])
                    if not check_checksum(*end, int(entry.get("checksum") or 0)):
                        raise BenchError(
                            f"{path}: {inst_id}: checksum does not match at ts {entry.get('ts')}"
                        )
                    book.updates += 1
            if not frames:
                continue
            book.first = frames[0]
            first = self.frames[book.first].entries[0]
            book.reset_bids = reset_levels(
                start[0], end[0], {Decimal(level[0]) for level in first["bids"]}, _removal
            )
            book.reset_asks = reset_levels(
                start[1], end[1], {Decimal(level[0]) for level in first["asks"]}, _removal
            )

    def frame_events(self, repetition: int) -> list[int]:
        """Events each frame of one repetition publishes; -1 for a frame left out of it.

        A book push before its snapshot, and the snapshot push after the first
        repetition, are left out (0 in the first: the relay refuses an update
        awaiting its snapshot); an update without levels publishes nothing.
        """
        counts: list[int] = []
        seen: set[tuple[str, str, str]] = set()
        for index, f in enumerate(self.frames):
            if f.channel == "books":
                book = self.books[f.inst_id]
                if index < book.snapshot or (index == book.snapshot and repetition > 0):
                    counts.append(0 if repetition == 0 else -1)
                elif index == book.snapshot:
                    counts.append(len(f.entries))
                else:
                    reset = (
                        repetition > 0
                        and index == book.first
                        and bool(book.reset_bids or book.reset_asks)
                    )
                    counts.append(
                        sum(
                            1
                            for i, e in enumerate(f.entries)
                            if e["bids"] or e["asks"] or (reset and i == 0)
                        )
                    )
                continue
            count = 0
            for e in f.entries:
                key = (
                    str(e["tradeId"])
                    if f.channel == "trades"
                    else f"{e['ts']}:{e['bidPx']}:{e['bidSz']}:{e['askPx']}:{e['askSz']}"
                )
                if (f.inst_id, f.channel, key) not in seen:
                    seen.add((f.inst_id, f.channel, key))
                    count += 1
            counts.append(count)
        return counts

    def frame_instrument(self, index: int) -> str:
        """The recorded instId of frame ``index``."""
        return self.frames[index].inst_id

    def _first_seq(self, index: int, repetition: int) -> int:
        """seqId of books frame ``index``'s first entry in ``repetition``."""
        book = self.books[self.frames[index].inst_id]
        if index == book.snapshot:
            return 1
        return 2 + repetition * book.updates + self._entries_before.get(index, 0)

    def shifted(self, index: int, repetition: int, instrument: str) -> dict[str, Any]:
        """Frame ``index`` as sent in ``repetition`` for ``instrument`` (a copy)."""
        f = self.frames[index]
        k = repetition
        dt = k * self.time_shift_ms
        entries = []
        seq = self._first_seq(index, k) if f.channel == "books" else 0
        for position, recorded in enumerate(f.entries):
            entry = dict(recorded)
            if "instId" in entry:
                entry["instId"] = instrument
            if "ts" in entry:
                entry["ts"] = str(int(entry["ts"]) + dt)
            if f.channel == "trades":
                entry["tradeId"] = str(int(entry["tradeId"]) + k * self.trade_shift)
            elif f.channel == "books":
                entry["prevSeqId"] = -1 if f.action == "snapshot" else seq - 1
                entry["seqId"] = seq
                seq += 1
                book = self.books[f.inst_id]
                if k > 0 and index == book.first and position == 0:
                    entry["bids"] = book.reset_bids + entry["bids"]
                    entry["asks"] = book.reset_asks + entry["asks"]
            entries.append(entry)
        frame: dict[str, Any] = {"arg": {"channel": f.channel, "instId": instrument}}
        if f.action is not None:
            frame["action"] = f.action
        frame["data"] = entries
        return frame

    def snapshot_responses(self, instrument: str, name: str) -> list[tuple[str, str]]:
        """None: OKX's books come on the WebSocket."""
        return []

    def renamed(self, instrument: str, copy: int, copies: int) -> str:
        """``BTC-USDT`` as copy 7 of 50 -> ``BTC007-USDT``; unchanged with one copy."""
        if copies == 1:
            return instrument
        base, _, rest = instrument.partition("-")
        return f"{base}{copy:03d}-{rest}"

    def canonical_symbol(self, instrument: str) -> str:
        """``BTC007-USDT`` -> ``BTC007/USDT`` (OKX's own ``canonical_symbol``)."""
        return okx.canonical_symbol(instrument)
