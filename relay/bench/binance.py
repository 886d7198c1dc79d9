"""Binance combined-stream sessions (spot, USD-M, COIN-M) as a bench source.

Format: the recorded ``binance-usdm.jsonl`` / ``binance-spot.jsonl`` in
``shared/captures`` (``{"stream": ..., "data": {...}}`` frames of aggTrade,
bookTicker, kline and depthUpdate, one REST depth snapshot per symbol), as
documented at https://developers.binance.com/docs/derivatives/usds-margined-futures/websocket-market-streams
(how to manage a local order book: ``U``/``u``/``pu``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl, urlsplit

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
from relay.sim.captures import Capture, RecordKind

QUOTES = ("USDT", "BUSD", "USDC", "BTC", "ETH", "BNB", "EUR", "USD")
"""Quote currencies recognised when naming renamed instruments (``SUSHIUSDT`` -> ``SUSHI/USDT``)."""
KINDS = ("aggTrade", "bookTicker", "kline", "depthUpdate")
"""The event types repeated (the relay's trade, ticker, candle and book streams)."""


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
    body: str
    """The snapshot as served (compact JSON)."""
    path: str
    """The recorded REST path (``/fapi/v1/depth``)."""
    straddle: int = -1
    """Frame index of the first diff kept after the snapshot (also the first diff kept in
    every later repetition)."""
    shift: int = 0
    """Update-id shift per repetition: the next repetition's first diff chains onto the
    previous one's last."""
    reset_bids: list[Level] = field(default_factory=list)
    reset_asks: list[Level] = field(default_factory=list)


def _split_symbol(symbol: str) -> tuple[str, str]:
    for quote in QUOTES:
        if symbol.endswith(quote) and len(symbol) > len(quote):
            return symbol[: -len(quote)], quote
    return symbol, ""


def _removal(price: str) -> Level:
    return [price, "0"]


class BinanceSession:
    """One recorded Binance combined-stream session, analysed for repetition.

    Repetition ``k`` shifts event and transaction times (``E``, ``T``, kline
    ``t``/``T``), aggTrade ids ``a`` and trade ids (``f``, ``l``, kline
    ``f``/``L``), bookTicker ``u``, and each book's ``U``/``u``/``pu`` so that
    repetition ``k+1``'s first diff chains onto repetition ``k``'s last
    (futures: ``pu`` equals the previous ``u``; spot: ``U`` is the previous
    ``u`` + 1). The single recorded REST snapshot per book is served.

    Raises:
        BenchError: not a combined-stream session with REST depth snapshots,
            or a book whose recorded diffs do not chain from its snapshot.
    """

    VENUES: tuple[str, ...] = ("binance-usdm", "binance-spot", "binance-coinm")
    ws_path: str = "/stream"
    data_types: tuple[str, ...] = ("trade", "ticker", "l2_orderbook", "candle")

    def __init__(self, capture: Capture) -> None:
        path = capture.path
        self.venue = capture.header.venue
        self.recorded_at = capture.records[0].t if capture.records else 0.0
        received = received_frames(capture)
        self.books: dict[str, _Book] = {}
        for record in capture.records:
            if record.kind is RecordKind.HTTP and record.status == 200 and record.url:
                parts = urlsplit(record.url)
                params = dict(parse_qsl(parts.query))
                if "symbol" in params and record.data is not None:
                    snapshot = orjson.loads(record.data)
                    self.books[params["symbol"]] = _Book(
                        snapshot, orjson.dumps(snapshot).decode(), parts.path
                    )
        if not self.books:
            raise BenchError(f"{path}: no REST depth snapshot recorded")
        self.instruments = tuple(self.books)
        self.frames: list[_Frame] = []
        for text in received:
            message = orjson.loads(text)
            data = message.get("data") if isinstance(message, dict) else None
            if not isinstance(data, dict):
                continue
            kind = data.get("e")
            symbol = data.get("s")
            if kind not in KINDS or not isinstance(symbol, str) or symbol not in self.books:
                continue
            self.frames.append(_Frame(str(message["stream"]), data, kind, symbol))
        self.futures = any("pu" in f.data for f in self.frames if f.kind == "depthUpdate")
        self._analyse_books(str(path))
        self._analyse_ids()

    def _analyse_books(self, path: str) -> None:
        for symbol, book in self.books.items():
            snapshot_id = int(book.snapshot["lastUpdateId"])
            diffs = [
                i
                for i, f in enumerate(self.frames)
                if f.kind == "depthUpdate" and f.symbol == symbol
            ]
            if self.futures:
                kept = [i for i in diffs if self.frames[i].data["u"] >= snapshot_id]
                straddles = bool(kept) and self.frames[kept[0]].data["U"] <= snapshot_id
            else:
                kept = [i for i in diffs if self.frames[i].data["u"] > snapshot_id]
                straddles = bool(kept) and self.frames[kept[0]].data["U"] <= snapshot_id + 1
            if not straddles:
                raise BenchError(f"{path}: no {symbol} depth diff straddles its snapshot")
            first, last = self.frames[kept[0]].data, self.frames[kept[-1]].data
            book.straddle = kept[0]
            book.shift = last["u"] - (first["pu"] if self.futures else first["U"] - 1)
            start: tuple[RawSide, RawSide] = ({}, {})
            apply_raw_levels(start[0], book.snapshot["bids"])
            apply_raw_levels(start[1], book.snapshot["asks"])
            end = (dict(start[0]), dict(start[1]))
            for i in kept:
                apply_raw_levels(end[0], self.frames[i].data["b"])
                apply_raw_levels(end[1], self.frames[i].data["a"])
            book.reset_bids = reset_levels(
                start[0], end[0], {Decimal(p) for p, _ in first["b"]}, _removal
            )
            book.reset_asks = reset_levels(
                start[1], end[1], {Decimal(p) for p, _ in first["a"]}, _removal
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
        self.time_shift_ms = time_shift_ms(times)
        self.agg_shift = id_range(agg_ids)
        self.trade_shift = id_range(trade_ids)
        self.ticker_shift = id_range(ticker_ids)

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
            key = (
                str(d["a"])
                if f.kind == "aggTrade"
                else str(d["u"])
                if f.kind == "bookTicker"
                else f"{d['k']['t']}:{d['E']}"
            )
            if (f.symbol, f.kind, key) in seen:
                counts.append(0)
            else:
                seen.add((f.symbol, f.kind, key))
                counts.append(1)
        return counts

    def frame_instrument(self, index: int) -> str:
        """The recorded symbol of frame ``index``."""
        return self.frames[index].symbol

    def shifted(self, index: int, repetition: int, instrument: str) -> dict[str, Any]:
        """Frame ``index`` as sent in ``repetition`` for ``instrument`` (a copy)."""
        f = self.frames[index]
        k = repetition
        data = dict(f.data)
        dt = k * self.time_shift_ms
        for key in ("E", "T"):
            if isinstance(data.get(key), int):
                data[key] += dt
        data["s"] = instrument
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
            kline["s"] = instrument
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
            if k > 0 and index == book.straddle:
                data["b"] = book.reset_bids + data["b"]
                data["a"] = book.reset_asks + data["a"]
        stream = f"{instrument.lower()}@{f.stream.partition('@')[2]}"
        return {"stream": stream, "data": data}

    def snapshot_responses(self, instrument: str, name: str) -> list[tuple[str, str]]:
        """The recorded REST snapshot, served for ``name``: ``[(path?symbol=name&limit=1000,
        body)]``."""
        book = self.books[instrument]
        return [(f"{book.path}?symbol={name}&limit=1000", book.body)]

    def renamed(self, instrument: str, copy: int, copies: int) -> str:
        """``SUSHIUSDT`` as copy 7 of 50 -> ``SUSHI007USDT``; unchanged with one copy."""
        if copies == 1:
            return instrument
        base, quote = _split_symbol(instrument)
        return f"{base}{copy:03d}{quote}"

    def canonical_symbol(self, instrument: str) -> str:
        """``"SUSHI007USDT"`` -> ``"SUSHI007/USDT"``."""
        return canonical_symbol(instrument)


def canonical_symbol(instrument: str) -> str:
    """The relay-wide name of a bench instrument: ``"SUSHI007USDT"`` -> ``"SUSHI007/USDT"``."""
    base, quote = _split_symbol(instrument)
    return f"{base}/{quote}" if quote else base
