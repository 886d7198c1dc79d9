"""Coinbase Advanced Trade's relay protocol: subscribe frames, sequence checks, frames -> events.

Sources: the overview (subscribe within 5 s, one channel per subscribe message,
``sequence_num`` rules)
https://docs.cdp.coinbase.com/coinbase-app/advanced-trade-apis/websocket/websocket-overview
and the rate limits page (unauthenticated messages: 8 per second per IP)
https://docs.cdp.coinbase.com/coinbase-app/advanced-trade-apis/websocket/websocket-rate-limits.

Every message of one connection carries ``sequence_num``, one more than the
message before it on that connection, whatever its channel. The overview says
a number more than one above the previous means messages were dropped, and a
number not above it is an out-of-order message that can be ignored. A drop may
have hit any channel, so a gap resyncs every book of the connection: each one
is thrown away (nothing more is published for it), reported as a ``gap``
:class:`~relay.application.ports.BookResync`, and ``level2`` is unsubscribed and
subscribed again for all of them; the fresh ``snapshot`` event restores
publishing. After a gap the next numbered message sets the baseline again, and a
number more than :data:`STALE_WINDOW_SEQUENCES` below the last is a gap too, not
a stale message: one frame with a corrupted ``sequence_num`` (2**63-1) costs a
resync, never every later message refused as stale until reconnect. An update
that crosses a book resyncs that one book (see :mod:`.book`).
An ``l2_data`` message that cannot be read (a missing field, a bad value, an
unknown event type) may have held updates the books now lack: every book is
resynced with reason ``bad_update`` (the frames go out with the next outcome,
as the malformed message itself raises).

``sequence_num`` may be missing only on messages that cannot break a book:
``heartbeats``, ``subscriptions`` and ``l2_data`` messages holding only
snapshots (the simulated venue's answers carry none, so that the recorded
numbering stays continuous). Every other message without it is refused.

Depth: ``level2`` is the only book channel and always carries the full book, so
every ``depth`` (0 or N) maps to it. The ``candles`` channel has one
granularity, five minutes (see :mod:`.parse`): a candle subscription's
``candle_interval`` must be ``"5m"`` (:data:`.parse.CANDLE_INTERVALS`); any
other is refused when the protocol is built, since the candles published would
not be of the interval asked for.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

import orjson

from relay.application.errors import FrameError
from relay.application.latest_id import LatestId
from relay.application.ports import (
    BookResync,
    FrameOutcome,
    Keepalive,
    VenueProtocol,
)
from relay.config.model import VenueConfig
from relay.domain.model import (
    DataType,
    Instrument,
    L2Update,
    MarketEvent,
    PriceLevel,
)
from relay.infrastructure.venues.coinbase import parse
from relay.infrastructure.venues.coinbase.book import CoinbaseBook
from relay.infrastructure.venues.common import times, wire
from relay.infrastructure.venues.common.errors import FrameErrors
from relay.infrastructure.venues.common.intervals import check_candle_intervals
from relay.infrastructure.venues.common.resync import books_to_resync
from relay.infrastructure.venues.common.subscriptions import Subscriptions

STALE_WINDOW_SEQUENCES = 10_000
"""A ``sequence_num`` at most this far below the last is an out-of-order message
(ignored, ``stale_update``); further below, a gap (the last came from a bad frame)."""
WS_URL = "wss://advanced-trade-ws.coinbase.com"

CHANNELS_DOC = (
    "https://docs.cdp.coinbase.com/coinbase-app/advanced-trade-apis/websocket/websocket-channels"
)
OVERVIEW_DOC = (
    "https://docs.cdp.coinbase.com/coinbase-app/advanced-trade-apis/websocket/websocket-overview"
)
RATE_LIMITS_DOC = (
    "https://docs.cdp.coinbase.com/coinbase-app/advanced-trade-apis/websocket/websocket-rate-limits"
)

SUBSCRIBE_INTERVAL_S = 0.25
"""Unauthenticated messages are limited to 8 per second per IP; one connection
sends at most 4 per second, so two connections subscribing at once stay within it."""

MAX_SUBSCRIPTIONS_PER_CONNECTION = 20
"""No per-connection product limit is documented (one subscribe message per
channel carries every product). A ``sequence_num`` gap resyncs every book of
the connection, so this bounds what one gap costs."""

BOOK_CHANNEL = "level2"
"""The book channel: the full book, a ``snapshot`` event on every subscribe (its
messages are named ``l2_data``). The simulated venue answers a subscribe of it
with a fresh snapshot."""

CHANNEL_FOR: dict[DataType, str] = {
    DataType.TRADE: "market_trades",
    DataType.TICKER: "ticker",
    DataType.L2_ORDERBOOK: BOOK_CHANNEL,
    DataType.CANDLE: "candles",
}
"""Subscribe channel of each data type (the data types the venue serves)."""


def subscribe_frame(channel: str, product_ids: Sequence[str], action: str = "subscribe") -> str:
    """One (un)subscribe message: one channel, its products (none for ``heartbeats``).

    Shape (channels page, without the optional ``jwt``)::

        {"type":"subscribe","product_ids":["ETH-USD","BTC-USD"],"channel":"level2"}
    """
    message: dict[str, Any] = {"type": action}
    if product_ids:
        message["product_ids"] = list(product_ids)
    message["channel"] = channel
    return orjson.dumps(message).decode()


class CoinbaseProtocol(VenueProtocol):
    """One Advanced Trade market data connection (sans-IO).

    Args:
        config: the venue's config (subscriptions, URL override).

    Raises:
        InvalidValueError: a candle subscription's ``candle_interval`` is not ``"5m"``.
    """

    def __init__(self, config: VenueConfig) -> None:
        check_candle_intervals("Coinbase", parse.CANDLE_INTERVALS, config.subscriptions)
        self._config = config
        self._ws_url = config.ws_url or WS_URL
        self._subscriptions = Subscriptions(config)
        self._books: dict[str, CoinbaseBook] = {}
        for sub in config.subscriptions:
            if DataType.L2_ORDERBOOK in sub.data_types:
                self._books[sub.instrument] = CoinbaseBook(
                    self._subscriptions.instruments[sub.instrument]
                )
        self._latest = LatestId(STALE_WINDOW_SEQUENCES)
        self._pending_resyncs: list[BookResync] = []
        self._pending_replies: list[str] = []

    def ws_url(self) -> str:
        """The market data endpoint (or the configured override)."""
        return self._ws_url

    def subscribe_frames(self) -> Sequence[str]:
        """``heartbeats`` first, then one message per channel with every product needing it.

        One channel per subscribe message is the documented rule; the first message
        goes out at once (the venue disconnects a connection not subscribed within 5 s).
        """
        frames = [subscribe_frame("heartbeats", ())]
        for data_type, channel in CHANNEL_FOR.items():
            products = [
                sub.instrument for sub in self._config.subscriptions if data_type in sub.data_types
            ]
            if products:
                frames.append(subscribe_frame(channel, products))
        return frames

    def keepalive(self) -> Keepalive | None:
        """None: the subscribed ``heartbeats`` channel keeps the connection open."""
        return None

    def on_frame(self, frame: str | bytes, received_at_ms: int) -> FrameOutcome:
        """Parse one message.

        Shapes (trimmed from the channels page)::

            {"channel":"l2_data","client_id":"","timestamp":"2023-02-09T20:32:50.714964855Z",
             "sequence_num":0,"events":[{"type":"snapshot","product_id":"BTC-USD","updates":[
             {"side":"bid","event_time":"1970-01-01T00:00:00Z","price_level":"21921.73",
              "new_quantity":"0.06317902"}]}]}
            {"channel":"market_trades",...,"events":[{"type":"snapshot","trades":[{"trade_id":
             "000000000","product_id":"ETH-USD","price":"1260.01","size":"0.3","side":"BUY",
             "time":"2019-08-14T20:42:27.265Z"}]}]}
            {"channel":"heartbeats",...,"events":[{"current_time":"2023-06-23 20:31:56...",
             "heartbeat_counter":"3049"}]}

        A ``sequence_num`` gap adds the resyncs and the ``level2`` unsubscribe +
        subscribe frames of every book to this outcome (or to the next one, if
        this message turns out malformed).

        Raises:
            FrameError: ``not_json``, ``unknown_event`` (unknown channel or event
                type), ``missing_field``, ``invalid_value``, ``unsubscribed``,
                ``stale_update`` (``sequence_num`` not above the last one) or
                ``subscribe_error`` (the venue's ``error`` message).
        """
        message = wire.frame_object(frame)
        if message.get("type") == "error":
            raise FrameError("subscribe_error", wire.label(message.get("message", message)))
        channel = message.get("channel")
        on_error = self._resync_bad_update if channel == "l2_data" else None
        try:
            with FrameErrors(channel, on_error=on_error):
                self._check_sequence(channel, message)
                events: list[MarketEvent] = []
                if channel == "l2_data":
                    self._l2_data(message, received_at_ms, events)
                elif channel == "market_trades":
                    self._market_trades(message, received_at_ms, events)
                elif channel == "ticker":
                    self._ticker(message, received_at_ms, events)
                elif channel == "candles":
                    self._candles(message, received_at_ms, events)
                elif channel not in ("heartbeats", "subscriptions"):
                    raise FrameError("unknown_event", wire.clip(f"channel {wire.brief(channel)}"))
        except FrameError as exc:
            if channel == "l2_data" and exc.reason == "unknown_event":
                self._resync_all("bad_update")
            raise
        outcome = FrameOutcome(events, [], self._pending_replies, self._pending_resyncs)
        self._pending_replies = []
        self._pending_resyncs = []
        return outcome

    def _check_sequence(self, channel: Any, message: dict[str, Any]) -> None:
        raw = message.get("sequence_num")
        if raw is None:
            if channel in ("heartbeats", "subscriptions") or (
                channel == "l2_data"
                and all(
                    isinstance(event, dict) and event.get("type") == "snapshot"
                    for event in wire.json_list("events", message["events"])
                )
            ):
                return
            raise KeyError("sequence_num")
        sequence = wire.integer("sequence_num", raw)
        last = self._latest.last(None)
        if not self._latest.accept(None, sequence):
            raise FrameError("stale_update", f"sequence_num {sequence} <= last {last}")
        if last is not None and sequence != last + 1:
            # a gap, or far behind a last that came from a frame not to be trusted:
            # the next numbered message is the new baseline
            self._latest.forget(None)
            self._resync_all("gap")

    def resync_books(self, instruments: Collection[str] | None, reason: str) -> FrameOutcome:
        """Drop the named books (all when None); one ``level2`` unsubscribe + subscribe for them.

        The outcome also carries resyncs still queued by a malformed message.
        Products without a book here are ignored.
        """
        products = books_to_resync(self._books, instruments)
        self._resync(products, reason)
        outcome = FrameOutcome([], [], self._pending_replies, self._pending_resyncs)
        self._pending_replies = []
        self._pending_resyncs = []
        return outcome

    def _resync_bad_update(self) -> None:
        """A malformed ``l2_data`` message: every book resyncs (reason ``bad_update``)."""
        self._resync_all("bad_update")

    def _resync_all(self, reason: str) -> None:
        """Drop every book; queue one resync each and one level2 unsubscribe + subscribe."""
        self._resync(list(self._books), reason)

    def _resync_one(self, book: CoinbaseBook, reason: str) -> None:
        self._resync([book.instrument.instrument], reason)

    def _resync(self, products: list[str], reason: str) -> None:
        """Drop these products' books; queue their resyncs and one level2 unsub + sub."""
        if not products:
            return
        for product in products:
            book = self._books[product]
            book.drop(reason)
            self._pending_resyncs.append(BookResync(book.instrument, reason))
        self._pending_replies.append(subscribe_frame(BOOK_CHANNEL, products, "unsubscribe"))
        self._pending_replies.append(subscribe_frame(BOOK_CHANNEL, products))

    def _instrument(self, product_id: Any, data_type: DataType) -> Instrument:
        return self._subscriptions.instrument(wire.text("product_id", product_id), data_type)

    def _l2_data(
        self, message: dict[str, Any], received_at_ms: int, events: list[MarketEvent]
    ) -> None:
        """Validate every event of the message first, then apply them: a malformed
        message leaves the books as they were (and :meth:`on_frame` resyncs them)."""
        message_time = message["timestamp"]
        message_ms = times.rfc3339_ms("timestamp", message_time)
        parsed: list[
            tuple[str, Instrument, tuple[PriceLevel, ...], tuple[PriceLevel, ...], int, str]
        ] = []
        for raw in wire.json_list("events", message["events"]):
            event = wire.json_object("events[]", raw)
            kind = event["type"]
            if kind not in ("snapshot", "update"):
                raise FrameError(
                    "unknown_event", wire.clip(f"l2_data event type {wire.brief(kind)}")
                )
            instrument = self._instrument(event["product_id"], DataType.L2_ORDERBOOK)
            parsed.append(
                (kind, instrument, *parse.l2_levels(wire.json_list("updates", event["updates"])))
            )
        for kind, instrument, bids, asks, latest_ms, digest in parsed:
            book = self._books[instrument.instrument]
            if kind == "snapshot":
                book.reset(bids, asks)
                book_bids, book_asks = book.book.levels()
                events.append(
                    MarketEvent(
                        instrument,
                        DataType.L2_ORDERBOOK,
                        received_at_ms,
                        message_ms,
                        L2Update(book_bids, book_asks, True),
                        f"snapshot:{message_time}:{digest}",
                    )
                )
            else:
                if not book.gate.synced:
                    continue  # thrown away: waits for the snapshot of its resubscription
                if book.apply(bids, asks):
                    self._resync_one(book, "crossed_book")
                    continue
                events.append(
                    MarketEvent(
                        instrument,
                        DataType.L2_ORDERBOOK,
                        received_at_ms,
                        latest_ms or message_ms,
                        L2Update(bids, asks, False),
                        f"{latest_ms}:{digest}",
                    )
                )

    def _market_trades(
        self, message: dict[str, Any], received_at_ms: int, events: list[MarketEvent]
    ) -> None:
        for raw in wire.json_list("events", message["events"]):
            for raw_trade in wire.json_list("trades", wire.json_object("events[]", raw)["trades"]):
                trade = wire.json_object("trades[]", raw_trade)
                instrument = self._instrument(trade["product_id"], DataType.TRADE)
                events.append(parse.trade_event(trade, instrument, received_at_ms))

    def _ticker(
        self, message: dict[str, Any], received_at_ms: int, events: list[MarketEvent]
    ) -> None:
        message_time = message["timestamp"]
        message_ms = times.rfc3339_ms("timestamp", message_time)
        for raw in wire.json_list("events", message["events"]):
            tickers = wire.json_object("events[]", raw)["tickers"]
            for raw_ticker in wire.json_list("tickers", tickers):
                ticker = wire.json_object("tickers[]", raw_ticker)
                instrument = self._instrument(ticker["product_id"], DataType.TICKER)
                events.append(
                    parse.ticker_event(ticker, instrument, message_time, message_ms, received_at_ms)
                )

    def _candles(
        self, message: dict[str, Any], received_at_ms: int, events: list[MarketEvent]
    ) -> None:
        message_ms = times.rfc3339_ms("timestamp", message["timestamp"])
        for raw in wire.json_list("events", message["events"]):
            candles = wire.json_object("events[]", raw)["candles"]
            for raw_candle in wire.json_list("candles", candles):
                candle = wire.json_object("candles[]", raw_candle)
                instrument = self._instrument(candle["product_id"], DataType.CANDLE)
                events.append(parse.candle_event(candle, instrument, message_ms, received_at_ms))
