"""BitMEX's relay protocol: subscribe frames, ``ping``, table frames -> events, resyncs.

Sources: https://www.bitmex.com/app/wsAPI (``{"op":"subscribe","args":["trade:XBTUSD"]}``;
answers ``{"success":true,"subscribe":"trade:XBTUSD","request":{...}}`` or
``{"status":400,"error":"...","request":{...}}``; table frames
``{"table","action","data"}``; keepalive: when no message came for a while,
send the text ``ping`` and expect ``pong``) and the frames of ``bitmex.jsonl``.

Channels: ``trade:<symbol>``, ``quote:<symbol>`` (ticker), ``instrument:<symbol>``
(funding_rate, open_interest), ``liquidation:<symbol>`` (``insert`` rows: new
liquidation orders) and ``orderBookL2:<symbol>`` (full depth) or
``orderBookL2_25:<symbol>`` (the best 25 levels per side, same
partial/insert/update/delete rows) for a subscription whose ``depth`` is 1..25.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from typing import Any

from relay.application.errors import FrameError
from relay.application.ports import BookResync, FrameOutcome, Keepalive, VenueProtocol
from relay.config.model import VenueConfig
from relay.domain.model import DataType, Instrument, L2Update, MarketEvent
from relay.infrastructure.venues.bitmex import parse
from relay.infrastructure.venues.bitmex.book import BitmexBook, Row, digest
from relay.infrastructure.venues.common import wire
from relay.infrastructure.venues.common.errors import FrameErrors
from relay.infrastructure.venues.common.resync import books_to_resync

WS_URL = "wss://ws.bitmex.com/realtime"

PING_INTERVAL_S = 5.0
"""Seconds between two ``ping`` texts: the realtime page suggests a ``ping`` after 5 s
without a message; the relay pings every 5 s whatever it received."""

ARGS_PER_SUBSCRIBE = 100
"""Subscription arguments in one ``subscribe`` frame (the relay's own bound; none is documented)."""

TOP25_DEPTH = 25
"""Levels per side of ``orderBookL2_25``; a ``depth`` of 1..25 subscribes it."""

_ACTIONS = frozenset({"partial", "insert", "update", "delete"})

_BOOK_TABLES = ("orderBookL2", "orderBookL2_25")


def _op(op: str, args: Sequence[str]) -> str:
    return json.dumps({"op": op, "args": list(args)}, separators=(",", ":"))


def _rows_digest(rows: list[Row]) -> str:
    """The digest of a delta's rows: ``<id>:<BUY|SELL>:<price or None>:<size>`` each."""
    return digest(f"{i}:{side.value}:{price}:{size}" for i, side, price, size in rows)


def _chunks(args: Sequence[str]) -> list[Sequence[str]]:
    return [args[i : i + ARGS_PER_SUBSCRIBE] for i in range(0, len(args), ARGS_PER_SUBSCRIBE)]


_ROW_EVENTS = {
    DataType.TRADE: parse.trade_event,
    DataType.TICKER: parse.quote_event,
    DataType.LIQUIDATION: parse.liquidation_event,
}
"""Table rows that are one event each, by data type."""

_INSTRUMENT_EVENTS = (
    (DataType.FUNDING_RATE, parse.funding_event),
    (DataType.OPEN_INTEREST, parse.open_interest_event),
)
"""What an ``instrument`` row may give."""


class BitmexProtocol(VenueProtocol):
    """One BitMEX connection (sans-IO): subscribe frames, table frames in, events out.

    Args:
        config: the venue's config (subscriptions, URL override).
    """

    def __init__(self, config: VenueConfig) -> None:
        self._ws_url = config.ws_url or WS_URL
        self._instruments: dict[str, Instrument] = {}
        self._wanted: dict[str, frozenset[DataType]] = {}
        self._books: dict[str, BitmexBook] = {}
        self._args: list[str] = []
        self._pending = FrameOutcome([], [], [])
        for sub in config.subscriptions:
            name = sub.instrument
            instrument = Instrument(config.id, name, sub.canonical_symbol)
            wanted = frozenset(sub.data_types)
            self._instruments[name] = instrument
            self._wanted[name] = wanted
            if DataType.TRADE in wanted:
                self._args.append(f"trade:{name}")
            if DataType.TICKER in wanted:
                self._args.append(f"quote:{name}")
            if wanted & {DataType.FUNDING_RATE, DataType.OPEN_INTEREST}:
                self._args.append(f"instrument:{name}")
            if DataType.LIQUIDATION in wanted:
                self._args.append(f"liquidation:{name}")
            if DataType.L2_ORDERBOOK in wanted:
                table = "orderBookL2_25" if 0 < sub.depth <= TOP25_DEPTH else "orderBookL2"
                channel = f"{table}:{name}"
                self._books[name] = BitmexBook(instrument, channel)
                self._args.append(channel)

    @property
    def channels(self) -> tuple[str, ...]:
        """Every subscription argument of this connection, in subscription order."""
        return tuple(self._args)

    def ws_url(self) -> str:
        """The realtime endpoint; channels are subscribed with frames."""
        return self._ws_url

    def subscribe_frames(self) -> Sequence[str]:
        """``subscribe`` frames of at most :data:`ARGS_PER_SUBSCRIBE` arguments.

        Shape::

            {"op":"subscribe","args":["trade:XBTUSD","quote:XBTUSD","orderBookL2:XBTUSD"]}
        """
        return [_op("subscribe", chunk) for chunk in _chunks(self._args)]

    def keepalive(self) -> Keepalive | None:
        """The text ``ping`` every :data:`PING_INTERVAL_S` seconds (answered ``pong``)."""
        return Keepalive(PING_INTERVAL_S, "ping")

    def on_frame(self, frame: str | bytes, received_at_ms: int) -> FrameOutcome:
        """Parse one frame: a table frame, a subscribe answer, the welcome or a ``pong``.

        Shapes (trimmed from ``bitmex.jsonl``)::

            {"info":"Welcome to the BitMEX Realtime API.","version":"2021-07-14T01:26:29.000Z",
             "timestamp":"2021-07-22T22:36:07.865Z","limit":{"remaining":39}}
            {"success":true,"subscribe":"orderBookL2:XRPU21","request":{"op":"subscribe",...}}
            {"table":"orderBookL2","action":"update","data":[{"symbol":"UNIUSDT",
             "id":51999982703,"side":"Sell","size":123}]}

        Returns:
            The events; for a broken book, a :class:`BookResync` and its
            unsubscribe + subscribe frames. A malformed book frame (a bad or missing
            row field) is a FrameError and resyncs the synced books it names
            (``bad_update``); those frames come with the next outcome.

        Raises:
            FrameError: ``not_json``, ``unknown_event``, ``missing_field``,
                ``invalid_value``, ``unsubscribed`` or ``subscribe_error``.
        """
        outcome = self._frame(frame, received_at_ms)
        if self._pending.replies or self._pending.resyncs:
            outcome.replies[:0] = self._pending.replies
            outcome.resyncs[:0] = self._pending.resyncs
            self._pending = FrameOutcome([], [], [])
        return outcome

    def _frame(self, frame: str | bytes, received_at_ms: int) -> FrameOutcome:
        """:meth:`on_frame` less the replies of an earlier malformed book frame."""
        if frame == "pong" or frame == b"pong":
            return FrameOutcome([], [], [])
        message = wire.exact_object(frame)
        table = message.get("table")
        on_error = (lambda: self._bad_book_frame(message)) if table in _BOOK_TABLES else None
        with FrameErrors(table if table is not None else "message", on_error=on_error):
            if table is not None:
                action = message["action"]
                if action not in _ACTIONS:
                    raise FrameError("unknown_event", wire.clip(f"action {wire.brief(action)}"))
                rows = [wire.json_object("row", r) for r in wire.json_list("data", message["data"])]
                if table in ("trade", "quote") and action not in ("partial", "insert"):
                    raise FrameError("unknown_event", wire.clip(f"{table} {action}"))
                if table == "trade":
                    return FrameOutcome(self._rows(DataType.TRADE, rows, received_at_ms), [], [])
                if table == "quote":
                    return FrameOutcome(self._rows(DataType.TICKER, rows, received_at_ms), [], [])
                if table in _BOOK_TABLES:
                    return self._book(action, rows, message.get("filter"), received_at_ms)
                if table == "instrument":
                    return FrameOutcome(self._instrument_rows(rows, received_at_ms), [], [])
                if table == "liquidation":
                    if action != "insert":  # open liquidation orders changing or leaving
                        return FrameOutcome([], [], [])
                    return FrameOutcome(
                        self._rows(DataType.LIQUIDATION, rows, received_at_ms), [], []
                    )
                raise FrameError("unknown_event", wire.clip(f"table {wire.brief(table)}"))
            if "error" in message:
                raise FrameError(
                    "subscribe_error",
                    wire.clip(
                        f"{wire.label(message['error'])}: {wire.brief(message.get('request'))}"
                    ),
                )
            if message.get("success") is True or "info" in message:
                return FrameOutcome([], [], [])
        raise FrameError("unknown_event", wire.clip(f"keys {wire.brief(sorted(message)[:8])}"))

    def _bad_book_frame(self, message: dict[str, Any]) -> None:
        """A malformed book frame may hide a lost row: the synced books it names (every
        synced book when no row names one) resync, reason ``bad_update``; the frames go
        out with the next outcome (the malformed frame itself ends as a FrameError)."""
        data = message.get("data")
        names = {
            row["symbol"]
            for row in (data if isinstance(data, list) else [])
            if isinstance(row, dict) and isinstance(row.get("symbol"), str)
        }
        named = [n for n in self._books if n in names] or list(self._books)
        synced = [n for n in named if self._books[n].gate.synced]
        if synced:
            resync = self.resync_books(synced, "bad_update")
            self._pending.replies.extend(resync.replies)
            self._pending.resyncs.extend(resync.resyncs)

    def _instrument(self, name: str, data_type: DataType) -> Instrument | None:
        instrument = self._instruments.get(name)
        if instrument is None or data_type not in self._wanted[name]:
            return None
        return instrument

    def _rows(
        self, data_type: DataType, rows: list[dict[str, Any]], received_at_ms: int
    ) -> list[MarketEvent]:
        """``trade`` / ``quote`` rows (``partial`` or ``insert``) of subscribed symbols."""
        make = _ROW_EVENTS[data_type]
        events: list[MarketEvent] = []
        skipped: list[str] = []
        for row in rows:
            name = parse.symbol(row)
            instrument = self._instrument(name, data_type)
            if instrument is None:
                skipped.append(name)
                continue
            events.append(make(instrument, row, received_at_ms))
        if skipped and not events:
            raise FrameError("unsubscribed", wire.clip(f"{skipped[0]} {data_type.value}"))
        return events

    def _instrument_rows(
        self, rows: list[dict[str, Any]], received_at_ms: int
    ) -> list[MarketEvent]:
        """``instrument`` rows: a funding rate for a row with ``fundingRate``, open interest
        for one with ``openInterest`` (each when subscribed)."""
        events: list[MarketEvent] = []
        skipped: list[str] = []
        for row in rows:
            name = parse.symbol(row)
            found = False
            for data_type, make in _INSTRUMENT_EVENTS:
                instrument = self._instrument(name, data_type)
                if instrument is None:
                    continue
                found = True
                event = make(instrument, row, received_at_ms)
                if event is not None:
                    events.append(event)
            if not found:
                skipped.append(name)
        if skipped and not events:
            raise FrameError("unsubscribed", wire.clip(f"{skipped[0]} instrument"))
        return events

    def _book(
        self, action: str, rows: list[dict[str, Any]], where: Any, received_at_ms: int
    ) -> FrameOutcome:
        """An ``orderBookL2`` frame (see :mod:`.book` for the rules); rows grouped by symbol.

        A ``partial`` without rows (an empty book; cryptofeed issue 688 reports empty
        ``data``) names its symbol only in ``filter``: ``{"symbol":"XBTUSD"}``.
        """
        grouped: dict[str, list[Row]] = {}
        if action == "partial" and not rows and isinstance(where, dict) and "symbol" in where:
            name = parse.symbol(where)
            if self._instrument(name, DataType.L2_ORDERBOOK) is None:
                raise FrameError("unsubscribed", wire.clip(f"{name} l2_orderbook"))
            grouped[name] = []
        for row in rows:
            name = parse.symbol(row)
            if self._instrument(name, DataType.L2_ORDERBOOK) is None:
                raise FrameError("unsubscribed", wire.clip(f"{name} l2_orderbook"))
            grouped.setdefault(name, []).append(parse.book_row(row, action))
        outcome = FrameOutcome([], [], [])
        for name, book_rows in grouped.items():
            sync = self._books[name]
            if action == "partial":
                sync.partial(book_rows)
                bids, asks = sync.book.levels()
                outcome.events.append(
                    MarketEvent(
                        sync.instrument,
                        DataType.L2_ORDERBOOK,
                        received_at_ms,
                        None,
                        L2Update(bids, asks, True),
                        f"snapshot:{sync.snapshot_key}",
                    )
                )
                continue
            if not sync.gate.synced:
                continue
            changed = sync.apply(action, book_rows)
            if changed is None:
                resync = self.resync_books([name], "gap")
                outcome.replies.extend(resync.replies)
                outcome.resyncs.extend(resync.resyncs)
                continue
            outcome.events.append(
                MarketEvent(
                    sync.instrument,
                    DataType.L2_ORDERBOOK,
                    received_at_ms,
                    None,
                    L2Update(changed[0], changed[1], False),
                    f"{sync.snapshot_key}:{sync.deltas}:{action}:{_rows_digest(book_rows)}",
                )
            )
        return outcome

    def resync_books(self, instruments: Collection[str] | None, reason: str) -> FrameOutcome:
        """Throw the named books away (all when None); unsubscribe and subscribe their channels.

        Instruments without a book here are ignored.
        """
        names = books_to_resync(self._books, instruments)
        channels = []
        for name in names:
            self._books[name].reset(reason)
            channels.append(self._books[name].channel)
        chunks = _chunks(channels)
        replies = [_op("unsubscribe", c) for c in chunks] + [_op("subscribe", c) for c in chunks]
        return FrameOutcome(
            [], [], replies, [BookResync(self._books[name].instrument, reason) for name in names]
        )
