"""Bitstamp's relay protocol: one v2 WebSocket connection; frames in, events and requests out.

Channels are subscribed with one frame each,
``{"event":"bts:subscribe","data":{"channel":"live_trades_btcusd"}}``, and acknowledged
with ``bts:subscription_succeeded`` (https://www.bitstamp.net/websocket/v2/,
"Subscriptions"). Books are kept by :class:`~.book.BookSync` from REST snapshots
(``GET /api/v2/order_book/<pair>``, https://www.bitstamp.net/api/) and the
``diff_order_book_<pair>`` channel, spliced by ``microtimestamp``.

Keepalive: ``{"event":"bts:heartbeat"}`` every :data:`HEARTBEAT_INTERVAL_S`, answered
with ``{"event":"bts:heartbeat","channel":"","data":{"status":"success"}}`` ("Heartbeat").
``bts:request_reconnect`` ("Forced reconnection": the server is going into
maintenance; a client that reconnects within a few seconds lands on another server and
loses nothing) asks the connection to be replaced now, through the connection's
rotation: the new connection is open before the old one closes.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

import orjson

from relay.application.errors import FrameError
from relay.application.ports import FrameOutcome, Keepalive, SnapshotRequest, VenueProtocol
from relay.config.model import VenueConfig
from relay.domain.errors import InvalidValueError
from relay.domain.model import DataType, Instrument, MarketEvent
from relay.infrastructure.venues.bitstamp import parse
from relay.infrastructure.venues.bitstamp.book import BUFFER_MARGIN_S, BookSync
from relay.infrastructure.venues.common import wire
from relay.infrastructure.venues.common.errors import FrameErrors
from relay.infrastructure.venues.common.resync import books_to_resync

HEARTBEAT_INTERVAL_S = 30.0
"""Seconds between two ``bts:heartbeat`` frames (the page documents the frame, not an
interval; the server never closes an idle connection for want of one)."""

HEARTBEAT = '{"event":"bts:heartbeat"}'
"""The documented heartbeat request."""

TRADES_PREFIX = "live_trades_"
BOOK_PREFIX = "diff_order_book_"
ORDER_BOOK_PATH = "/api/v2/order_book/"
"""REST order book path; the pair follows (without the trailing slash the page shows, as
cryptofeed and the recording ask for it; Bitstamp answers both)."""

_QUIET_EVENTS = frozenset(
    {
        "bts:subscription_succeeded",
        "bts:unsubscription_succeeded",
        "bts:heartbeat",
        "bts:connection_established",
    }
)
"""Control events that carry nothing to publish."""


def subscribe_frame(channel: str) -> str:
    """``{"event":"bts:subscribe","data":{"channel":"<channel>"}}``."""
    return orjson.dumps({"event": "bts:subscribe", "data": {"channel": channel}}).decode()


class BitstampProtocol(VenueProtocol):
    """One Bitstamp v2 connection (sans-IO).

    Instruments are Bitstamp's ``url_symbol`` pairs (``ethusd``); configured names are
    matched in lower case.

    Args:
        config: the venue's config (subscriptions, URL overrides).
        default_ws_url: the venue's public WebSocket URL.
    """

    def __init__(self, config: VenueConfig, default_ws_url: str) -> None:
        self._config = config
        self._ws_url = config.ws_url or default_ws_url
        self._books: dict[str, BookSync] = {}
        self._trades: dict[str, Instrument] = {}
        window_ms = round((config.snapshot_timeout_s + BUFFER_MARGIN_S) * 1000)
        for sub in config.subscriptions:
            pair = sub.instrument.lower()
            instrument = Instrument(config.id, sub.instrument, sub.canonical_symbol)
            if DataType.TRADE in sub.data_types:
                self._trades[pair] = instrument
            if DataType.L2_ORDERBOOK in sub.data_types:
                self._books[pair] = BookSync(instrument, window_ms)

    def ws_url(self) -> str:
        """The configured or default URL (channels are subscribed by frames)."""
        return self._ws_url

    def subscribe_frames(self) -> Sequence[str]:
        """One ``bts:subscribe`` frame per channel: the book diffs first, then the trades."""
        return [subscribe_frame(BOOK_PREFIX + pair) for pair in self._books] + [
            subscribe_frame(TRADES_PREFIX + pair) for pair in self._trades
        ]

    def keepalive(self) -> Keepalive | None:
        """``{"event":"bts:heartbeat"}`` every :data:`HEARTBEAT_INTERVAL_S`."""
        return Keepalive(HEARTBEAT_INTERVAL_S, HEARTBEAT)

    def on_open(self) -> FrameOutcome:
        """Ask for a REST snapshot of every subscribed book."""
        return FrameOutcome([], [self._snapshot_request(p, "initial") for p in self._books], [])

    def _snapshot_request(self, pair: str, reason: str) -> SnapshotRequest:
        return SnapshotRequest(self._books[pair].instrument, ORDER_BOOK_PATH + pair, reason, 1)

    def on_frame(self, frame: str | bytes, received_at_ms: int) -> FrameOutcome:
        """Parse one frame.

        Shapes (``bitstamp.jsonl`` and the WebSocket v2 page, trimmed)::

            {"event":"bts:subscription_succeeded","channel":"diff_order_book_ethusd","data":{}}
            {"data":{"timestamp":"1641343691","microtimestamp":"1641343691406478",
             "bids":[["3800.71","1.76200000"]],"asks":[]},
             "channel":"diff_order_book_ethusd","event":"data"}
            {"data":{"id":216000477,"amount_str":"0.07920000","price_str":"3805.44","type":0,
             "microtimestamp":"1641343699596000",...},"channel":"live_trades_ethusd",
             "event":"trade"}
            {"event":"bts:request_reconnect","channel":"","data":""}

        Subscription acknowledgements and heartbeat answers give nothing;
        ``bts:request_reconnect`` gives an outcome asking for a reconnect.

        Raises:
            FrameError: ``not_json``, ``unknown_event`` (an unknown event or channel),
                ``subscribe_error`` (``bts:error``), ``missing_field``, ``invalid_value``,
                ``unsubscribed``.
        """
        message = wire.frame_object(frame)
        event = message.get("event")
        channel = message.get("channel")
        if event == "data" and isinstance(channel, str) and channel.startswith(BOOK_PREFIX):
            with FrameErrors(channel):
                return self._diff(channel.removeprefix(BOOK_PREFIX), message, received_at_ms)
        if event == "trade" and isinstance(channel, str) and channel.startswith(TRADES_PREFIX):
            with FrameErrors(channel):
                events = [self._trade(channel.removeprefix(TRADES_PREFIX), message, received_at_ms)]
            return FrameOutcome(events, [], [])
        if isinstance(event, str) and event in _QUIET_EVENTS:
            return FrameOutcome([], [], [])
        if event == "bts:request_reconnect":
            return FrameOutcome([], [], [], reconnect=True)
        if event == "bts:error":
            raise FrameError(
                "subscribe_error", wire.clip(f"{wire.label(channel)}: {wire.brief(message)}")
            )
        raise FrameError(
            "unknown_event", wire.clip(f"event {wire.brief(event)} channel {wire.brief(channel)}")
        )

    def resync_books(self, instruments: Collection[str] | None, reason: str) -> FrameOutcome:
        """Restart the named books' sync (all when None) and ask for their REST snapshots.

        Instruments are matched in lower case; ones without a book here are ignored.
        """
        pairs = books_to_resync(
            self._books, None if instruments is None else [i.lower() for i in instruments]
        )
        for pair in pairs:
            self._books[pair].resync(reason)
        return FrameOutcome([], [self._snapshot_request(p, reason) for p in pairs], [])

    def on_snapshot(
        self, request: SnapshotRequest, body: bytes, received_at_ms: int
    ) -> FrameOutcome:
        """Take a REST order book (shape: :func:`.parse.book_snapshot`).

        Raises:
            FrameError: ``bad_snapshot``: not JSON, not an object, a missing or malformed
                ``microtimestamp``, ``bids`` or ``asks``.
        """
        pair = request.instrument.instrument.lower()
        book = self._books[pair]
        try:
            snapshot = parse.book_snapshot(body)
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, InvalidValueError) as exc:
            raise FrameError("bad_snapshot", wire.clip(f"{pair}: {exc}")) from None
        events: list[MarketEvent] = []
        reason = book.on_snapshot(
            snapshot.microtimestamp, snapshot.bids, snapshot.asks, received_at_ms, events
        )
        requests = [self._snapshot_request(pair, reason)] if reason else []
        return FrameOutcome(events, requests, [])

    def _diff(self, pair: str, message: dict[str, Any], received_at_ms: int) -> FrameOutcome:
        book = self._books.get(pair)
        if book is None:
            raise FrameError("unsubscribed", wire.clip(f"{pair} {DataType.L2_ORDERBOOK.value}"))
        diff = parse.book_diff(wire.json_object("data", message["data"]), received_at_ms)
        events: list[MarketEvent] = []
        reason = book.on_diff(diff, events)
        requests = [self._snapshot_request(pair, reason)] if reason else []
        return FrameOutcome(events, requests, [])

    def _trade(self, pair: str, message: dict[str, Any], received_at_ms: int) -> MarketEvent:
        instrument = self._trades.get(pair)
        if instrument is None:
            raise FrameError("unsubscribed", wire.clip(f"{pair} {DataType.TRADE.value}"))
        return parse.trade(wire.json_object("data", message["data"]), instrument, received_at_ms)
