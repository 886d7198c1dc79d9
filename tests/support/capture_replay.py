"""Replay a recorded session (``shared/captures``) through its venue's protocol, in process.

What the relay would publish from a capture, without sockets: one fresh
protocol per recorded connection (as the relay makes one per connection),
subscribed to every instrument and data type the capture holds, fed every
``recv`` frame in file order with its recorded receive time, and handed each
recorded REST response (``http`` records) that answers a snapshot request the
protocol made. Frames the protocol refuses are counted by ``FrameError`` reason.

Which instruments and data types a capture holds is venue knowledge: one
reader per venue id, in :data:`SUBSCRIPTION_READERS`. Captures of venues the
relay has no adapter for are listed in :data:`NO_ADAPTER`; a capture whose
venue is registered but has no reader here is an error, so a new adapter is
never silently left out of the tests that replay every capture.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from relay.application.errors import FrameError
from relay.application.ports import FrameOutcome, SnapshotRequest, VenueProtocol
from relay.config.model import SubscriptionConfig, VenueConfig
from relay.domain.model import FORBIDDEN_SYMBOL_CHARACTERS, DataType, MarketEvent
from relay.infrastructure.venues.registry import venue_spec
from relay.sim.captures import Capture, RecordKind

NO_ADAPTER: frozenset[str] = frozenset()
"""Venue ids of the captures in ``shared/captures`` that the relay has no adapter for."""

Wanted = dict[str, set[DataType]]
"""instrument -> data types the capture holds for it."""


@dataclass
class Replay:
    """What replaying one capture gave.

    Attributes:
        venue: the capture's venue id.
        events: every event, in order, with the 1-based capture line of the
            record (frame or REST response) it came from.
        rejected: refused frames and snapshots per ``FrameError`` reason.
        subscriptions: what the protocols were subscribed to.
    """

    venue: str
    events: list[tuple[MarketEvent, int]] = field(default_factory=list)
    rejected: Counter[str] = field(default_factory=Counter)
    subscriptions: tuple[SubscriptionConfig, ...] = ()


def _binance(capture: Capture) -> tuple[Wanted, dict[str, str]]:
    """Streams named in the recorded connect URL (``...?streams=sushiusdt@aggTrade/...``)."""
    kinds = {
        "aggTrade": DataType.TRADE,
        "trade": DataType.TRADE,
        "bookTicker": DataType.TICKER,
        "markPrice": DataType.FUNDING_RATE,
        "forceOrder": DataType.LIQUIDATION,
    }
    wanted: Wanted = {}
    intervals: dict[str, str] = {}
    for record in capture.records:
        if record.kind is not RecordKind.CONNECT or record.url is None:
            continue
        for stream in urlsplit(record.url).query.removeprefix("streams=").split("/"):
            symbol, _, kind = stream.partition("@")
            symbol = symbol.upper()
            if kind.startswith("depth"):
                data_type = DataType.L2_ORDERBOOK
            elif kind.startswith("kline_"):
                data_type = DataType.CANDLE
                intervals[symbol] = kind.removeprefix("kline_")
            else:
                data_type = kinds[kind.partition("@")[0]]
            wanted.setdefault(symbol, set()).add(data_type)
    return wanted, intervals


def _frames(capture: Capture) -> Iterable[dict[str, object]]:
    for record in capture.records:
        if record.kind is RecordKind.RECV and record.data is not None:
            try:
                message = json.loads(record.data)
            except ValueError:
                continue  # "pong" and the like
            if isinstance(message, dict):
                yield message


def _okx(capture: Capture) -> tuple[Wanted, dict[str, str]]:
    """``arg`` of every push: ``{"channel": "books", "instId": "BTC-USDT"}``."""
    channels = {
        "trades": DataType.TRADE,
        "tickers": DataType.TICKER,
        "books": DataType.L2_ORDERBOOK,
        "funding-rate": DataType.FUNDING_RATE,
        "open-interest": DataType.OPEN_INTEREST,
    }
    wanted: Wanted = {}
    intervals: dict[str, str] = {}
    for message in _frames(capture):
        arg = message.get("arg")
        if not isinstance(arg, dict) or "data" not in message:
            continue
        channel, inst_id = str(arg.get("channel")), str(arg.get("instId"))
        if channel.startswith("candle"):
            intervals[inst_id] = channel.removeprefix("candle")
            wanted.setdefault(inst_id, set()).add(DataType.CANDLE)
        else:
            wanted.setdefault(inst_id, set()).add(channels[channel])
    return wanted, intervals


def _deribit(capture: Capture) -> tuple[Wanted, dict[str, str]]:
    """Notification channels: ``book.<name>.<interval>``, ``ticker...``, ``trades...``."""
    kinds = {
        "book": {DataType.L2_ORDERBOOK},
        "ticker": {DataType.TICKER, DataType.FUNDING_RATE, DataType.OPEN_INTEREST},
        "trades": {DataType.TRADE, DataType.LIQUIDATION},
    }
    wanted: Wanted = {}
    for message in _frames(capture):
        params = message.get("params")
        if message.get("method") != "subscription" or not isinstance(params, dict):
            continue
        kind, name, _ = str(params["channel"]).split(".", 2)
        wanted.setdefault(name, set()).update(kinds[kind])
    return wanted, {}


def _coinbase_exchange(capture: Capture) -> tuple[Wanted, dict[str, str]]:
    """``product_id`` of every ``snapshot``/``l2update``, ``ticker`` and ``match``."""
    types = {
        "snapshot": DataType.L2_ORDERBOOK,
        "l2update": DataType.L2_ORDERBOOK,
        "ticker": DataType.TICKER,
        "match": DataType.TRADE,
        "last_match": DataType.TRADE,
    }
    wanted: Wanted = {}
    for message in _frames(capture):
        data_type = types.get(str(message.get("type")))
        if data_type is not None:
            wanted.setdefault(str(message["product_id"]), set()).add(data_type)
    return wanted, {}


def _bitmex(capture: Capture) -> tuple[Wanted, dict[str, str]]:
    """``symbol`` of every row of the ``trade``, ``quote`` and ``orderBookL2`` tables."""
    tables = {
        "trade": DataType.TRADE,
        "quote": DataType.TICKER,
        "orderBookL2": DataType.L2_ORDERBOOK,
    }
    wanted: Wanted = {}
    for message in _frames(capture):
        data_type = tables.get(str(message.get("table")))
        rows = message.get("data")
        if data_type is not None and isinstance(rows, list):
            for row in rows:
                wanted.setdefault(str(row["symbol"]), set()).add(data_type)
    return wanted, {}


def _gate(capture: Capture) -> tuple[Wanted, dict[str, str]]:
    """``result`` of every Gate.io update: ``s`` (books, book tickers), ``currency_pair`` /
    ``contract`` (trades), ``n`` = ``<interval>_<pair>`` (candlesticks)."""
    types = {
        "order_book_update": DataType.L2_ORDERBOOK,
        "book_ticker": DataType.TICKER,
        "trades": DataType.TRADE,
    }
    wanted: Wanted = {}
    intervals: dict[str, str] = {}
    for message in _frames(capture):
        if message.get("event") != "update":
            continue
        channel = str(message.get("channel")).split(".", 1)[1]
        result = message["result"]
        for entry in result if isinstance(result, list) else [result]:
            assert isinstance(entry, dict)
            if channel == "candlesticks":
                interval, _, pair = str(entry["n"]).partition("_")
                intervals[pair] = interval
                wanted.setdefault(pair, set()).add(DataType.CANDLE)
            elif channel in types:
                name = entry.get("s") or entry.get("currency_pair") or entry.get("contract")
                wanted.setdefault(str(name), set()).add(types[channel])
    return wanted, intervals


def _kraken_futures(capture: Capture) -> tuple[Wanted, dict[str, str]]:
    """``product_id`` of every ``book_snapshot``/``book`` and ``trade`` message."""
    feeds = {
        "book_snapshot": DataType.L2_ORDERBOOK,
        "book": DataType.L2_ORDERBOOK,
        "trade": DataType.TRADE,
    }
    wanted: Wanted = {}
    for message in _frames(capture):
        data_type = feeds.get(str(message.get("feed")))
        if data_type is not None and "event" not in message:
            wanted.setdefault(str(message["product_id"]), set()).add(data_type)
    return wanted, {}


def _bitstamp(capture: Capture) -> tuple[Wanted, dict[str, str]]:
    """The pair of every ``live_trades_<pair>`` trade and ``diff_order_book_<pair>`` diff."""
    prefixes = {"live_trades_": DataType.TRADE, "diff_order_book_": DataType.L2_ORDERBOOK}
    wanted: Wanted = {}
    for message in _frames(capture):
        channel = str(message.get("channel"))
        for prefix, data_type in prefixes.items():
            if message.get("event") in ("trade", "data") and channel.startswith(prefix):
                wanted.setdefault(channel.removeprefix(prefix), set()).add(data_type)
    return wanted, {}


def _bitfinex(capture: Capture) -> tuple[Wanted, dict[str, str]]:
    """``symbol`` of every ``subscribed`` answer (trades, ticker, book; candles by ``key``)."""
    channels = {"trades": DataType.TRADE, "ticker": DataType.TICKER, "book": DataType.L2_ORDERBOOK}
    wanted: Wanted = {}
    intervals: dict[str, str] = {}
    for message in _frames(capture):
        if message.get("event") != "subscribed":
            continue
        if message["channel"] == "candles":
            _, interval, symbol = str(message["key"]).split(":", 2)
            intervals[symbol] = interval
            wanted.setdefault(symbol, set()).add(DataType.CANDLE)
        else:
            channel = channels[str(message["channel"])]
            wanted.setdefault(str(message["symbol"]), set()).add(channel)
    return wanted, intervals


SUBSCRIPTION_READERS: dict[str, Callable[[Capture], tuple[Wanted, dict[str, str]]]] = {
    "bitfinex": _bitfinex,
    "binance-spot": _binance,
    "binance-usdm": _binance,
    "binance-coinm": _binance,
    "okx": _okx,
    "deribit": _deribit,
    "bitmex": _bitmex,
    "coinbase-exchange": _coinbase_exchange,
    "gate-spot": _gate,
    "gate-futures": _gate,
    "kraken-futures": _kraken_futures,
    "bitstamp": _bitstamp,
}
"""venue id -> reader of (instrument -> data types, instrument -> candle interval)."""


def subscriptions(venue: str, capture: Capture) -> tuple[SubscriptionConfig, ...]:
    """Every instrument and data type ``capture`` holds, as subscriptions (sorted)."""
    wanted, intervals = SUBSCRIPTION_READERS[venue](capture)
    subs = []
    for instrument in sorted(wanted):
        canonical = "".join(c for c in instrument if c not in FORBIDDEN_SYMBOL_CHARACTERS)
        data_types = tuple(sorted(wanted[instrument], key=lambda t: t.value))
        subs.append(
            SubscriptionConfig(
                instrument, canonical, data_types, candle_interval=intervals.get(instrument, "1m")
            )
        )
    return tuple(subs)


def _answers(request: SnapshotRequest, url: str) -> bool:
    """A recorded REST URL answers a request when their path and query are equal."""
    parts = urlsplit(url)
    return (f"{parts.path}?{parts.query}" if parts.query else parts.path) == request.path


def replay(capture: Capture) -> Replay:
    """Replay ``capture`` through its venue's protocols (see the module docstring).

    Raises:
        KeyError: the capture's venue has no subscription reader here.
        UnknownVenueError: its venue has no adapter.
    """
    venue = capture.header.venue
    spec = venue_spec(venue)
    config = VenueConfig(id=venue, subscriptions=subscriptions(venue, capture))
    result = Replay(venue, subscriptions=config.subscriptions)
    protocols: dict[str, VenueProtocol] = {}
    pending: list[tuple[VenueProtocol, SnapshotRequest]] = []

    def take(proto: VenueProtocol, outcome: FrameOutcome, line: int) -> None:
        result.events.extend((event, line) for event in outcome.events)
        pending.extend((proto, request) for request in outcome.snapshot_requests)

    for record in capture.records:
        at_ms = int(record.t * 1000)
        try:
            if record.kind is RecordKind.CONNECT and record.conn is not None:
                proto = protocols[record.conn] = spec.protocol_factory(config)
                take(proto, proto.on_open(), record.line)
            elif record.kind is RecordKind.RECV and record.conn is not None:
                proto = protocols[record.conn]
                take(proto, proto.on_frame(record.data or "", at_ms), record.line)
            elif record.kind is RecordKind.HTTP and record.url is not None:
                for index, (proto, request) in enumerate(pending):
                    if _answers(request, record.url):
                        del pending[index]
                        take(
                            proto,
                            proto.on_snapshot(request, (record.data or "").encode(), at_ms),
                            record.line,
                        )
                        break
        except FrameError as exc:
            result.rejected[exc.reason] += 1
    return result
