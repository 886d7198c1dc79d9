"""OKX's relay protocol: one connection (public or business); subscribe, ``ping``, frames in.

The book rules are :class:`~relay.infrastructure.venues.okx.book.OkxBook`'s; the
package docstring (:mod:`relay.infrastructure.venues.okx`) gives the sources.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from typing import Any

from relay.application.errors import FrameError
from relay.application.ports import (
    BookResync,
    FrameOutcome,
    Keepalive,
    VenueProtocol,
)
from relay.config.model import SubscriptionConfig, VenueConfig
from relay.domain.errors import InvalidValueError
from relay.domain.model import DataType, Instrument, MarketEvent
from relay.infrastructure.venues.common import wire
from relay.infrastructure.venues.common.errors import FrameErrors
from relay.infrastructure.venues.common.resync import books_to_resync
from relay.infrastructure.venues.common.subscriptions import Subscriptions
from relay.infrastructure.venues.okx import parse
from relay.infrastructure.venues.okx.book import OkxBook
from relay.infrastructure.venues.okx.channels import (
    BOOK_CHANNELS,
    CHANNELS,
    PUBLIC_WS_URL,
    SNAPSHOT_ONLY_BOOK_CHANNELS,
    book_channel,
    instrument_type,
    okx_bar,
    op_frames,
)

PING_INTERVAL_S = 20.0
"""Seconds between two ``ping`` texts; OKX closes a connection silent for 30 s."""

_EMPTY_EVENTS = frozenset({"subscribe", "unsubscribe", "notice", "channel-conn-count"})
_ERROR_EVENTS = frozenset({"error", "channel-conn-count-error"})


class OkxProtocol(VenueProtocol):
    """One OKX connection, public or business (sans-IO).

    Args:
        config: this connection's config (after :func:`.channels.split_config`); its
            ``ws_url`` or :data:`.channels.PUBLIC_WS_URL` is connected to, and every data
            type of every subscription is subscribed there.

    Raises:
        InvalidValueError: a candle subscription's interval OKX has no bar for
            (:func:`.channels.okx_bar`).
    """

    def __init__(self, config: VenueConfig) -> None:
        self._config = config
        self._url = config.ws_url or PUBLIC_WS_URL
        self._subscriptions = Subscriptions(config)
        self._books: dict[str, OkxBook] = {}
        self._args: list[dict[str, str]] = []
        self._arg_of: dict[tuple[str, DataType], dict[str, str]] = {}
        """(instId, data type) -> the channel argument serving it."""
        for sub in config.subscriptions:
            instrument = self._subscriptions.instruments[sub.instrument]
            self._add_args(instrument, sub.data_types, sub.depth, sub.candle_interval)
        self._handlers: dict[str, Callable[[dict[str, Any], int], MarketEvent]] = {
            "trades": self._handler(DataType.TRADE, parse.trade),
            "tickers": self._handler(DataType.TICKER, parse.ticker),
            "funding-rate": self._handler(DataType.FUNDING_RATE, parse.funding),
            "open-interest": self._handler(DataType.OPEN_INTEREST, parse.open_interest),
        }

    def _add_args(
        self,
        instrument: Instrument,
        data_types: Iterable[DataType],
        depth: int,
        candle_interval: str,
    ) -> list[dict[str, str]]:
        """Channel arguments for ``data_types`` of ``instrument`` (new books made unsynced);
        returns those not subscribed on this connection before (``liquidation-orders`` is one
        channel per instType)."""
        inst_id = instrument.instrument
        new: list[dict[str, str]] = []
        for data_type in data_types:
            if data_type is DataType.L2_ORDERBOOK:
                channel = book_channel(depth)
                self._books[inst_id] = OkxBook(instrument, channel)
                arg = {"channel": channel, "instId": inst_id}
            elif data_type is DataType.CANDLE:
                arg = {"channel": f"candle{okx_bar(candle_interval)}", "instId": inst_id}
            elif data_type is DataType.LIQUIDATION:
                arg = {"channel": "liquidation-orders", "instType": instrument_type(inst_id)}
            else:
                arg = {"channel": CHANNELS[data_type], "instId": inst_id}
            self._arg_of[(inst_id, data_type)] = arg
            if arg not in self._args:
                self._args.append(arg)
                new.append(arg)
        return new

    def subscribe(self, subscription: SubscriptionConfig) -> FrameOutcome:
        """Subscribe an instrument's data types live: ``{"op":"subscribe","args":[...]}``
        (https://www.okx.com/docs-v5/en/#overview-websocket-subscribe). A new book starts
        unsynced and takes the snapshot OKX pushes after the subscribe; no other channel
        is touched. Data types already subscribed here are skipped.

        Raises:
            InvalidValueError: a candle interval OKX has no bar for
                (:func:`.channels.okx_bar`; nothing is changed).
        """
        if DataType.CANDLE in subscription.data_types:
            okx_bar(subscription.candle_interval)
        instrument = Instrument(
            self._config.id, subscription.instrument, subscription.canonical_symbol
        )
        new = self._subscriptions.add(instrument, subscription.data_types)
        args = self._add_args(
            self._subscriptions.instruments[subscription.instrument],
            new,
            subscription.depth,
            subscription.candle_interval,
        )
        return FrameOutcome([], [], op_frames("subscribe", args))

    def unsubscribe(self, instrument: str, data_types: Collection[DataType]) -> FrameOutcome:
        """Unsubscribe ``data_types`` of ``instrument`` live: ``{"op":"unsubscribe",...}``
        (same page as :meth:`subscribe`); its book is dropped. A ``liquidation-orders``
        channel another instrument still wants stays subscribed."""
        gone = self._subscriptions.remove(instrument, data_types)
        if DataType.L2_ORDERBOOK in gone:
            self._books.pop(instrument, None)
        args: list[dict[str, str]] = []
        for data_type in gone:
            arg = self._arg_of.pop((instrument, data_type))
            if arg in self._arg_of.values() or arg not in self._args:
                continue
            self._args.remove(arg)
            args.append(arg)
        return FrameOutcome([], [], op_frames("unsubscribe", args))

    @property
    def books(self) -> dict[str, OkxBook]:
        """instId -> its book (for tests and diagnostics)."""
        return self._books

    def ws_url(self) -> str:
        """The configured endpoint (public, or business for the candle part)."""
        return self._url

    def subscribe_args(self) -> list[dict[str, str]]:
        """Every ``{"channel", "instId" | "instType"}`` this connection subscribes to."""
        return list(self._args)

    def subscribe_frames(self) -> Sequence[str]:
        """``{"op":"subscribe","args":[...]}`` frames, each under :data:`MAX_SUBSCRIBE_BYTES`."""
        return op_frames("subscribe", self._args)

    def keepalive(self) -> Keepalive | None:
        """The text ``ping`` every :data:`PING_INTERVAL_S` (OKX drops a connection silent 30 s)."""
        return Keepalive(PING_INTERVAL_S, "ping")

    def on_frame(self, frame: str | bytes, received_at_ms: int) -> FrameOutcome:
        """Parse one frame.

        Shapes (trimmed from ``okx.jsonl``)::

            pong
            {"event":"subscribe","arg":{"channel":"books","instId":"BTC-USDT"}}
            {"arg":{"channel":"trades","instId":"BTC-USDT"},"data":[{"instId":"BTC-USDT",
             "tradeId":"338476307","px":"30236","sz":"0.0002","side":"buy","ts":"1652459224818"}]}
            {"arg":{"channel":"books","instId":"BTC-USD-220527"},"action":"update","data":[{
             "asks":[["30249.4","0","0","0"],["30261","4","0","1"]],"bids":[["30182.6","452","0","1"]],
             "ts":"1652459225464","checksum":-914047754}]}

        Raises:
            FrameError: ``not_json``, ``unknown_event``, ``missing_field``,
                ``invalid_value``, ``unsubscribed``, ``subscribe_error``,
                ``awaiting_snapshot``.
        """
        if frame == "pong" or frame == b"pong":
            return FrameOutcome([], [], [])
        message = wire.frame_object(frame)
        event = message.get("event")
        if event is not None:
            if type(event) is not str:  # a list or an object is not hashable
                raise FrameError("unknown_event", wire.clip(f"event {wire.brief(event)}"))
            if event in _EMPTY_EVENTS:
                return FrameOutcome([], [], [])
            if event in _ERROR_EVENTS:
                raise FrameError(
                    "subscribe_error",
                    wire.clip(
                        f"{event} {wire.label(message.get('code'))}: "
                        f"{wire.label(message.get('msg', ''))}"
                    ),
                )
            raise FrameError("unknown_event", wire.clip(f"event {wire.brief(event)}"))
        arg = message.get("arg")
        data = message.get("data")
        if not isinstance(arg, dict) or not isinstance(data, list):
            raise FrameError("unknown_event", wire.clip(f"no arg/data: {str(frame)[:80]}"))
        channel = arg.get("channel")
        if not isinstance(channel, str):
            raise FrameError("unknown_event", wire.clip(f"no channel: {str(frame)[:80]}"))
        with FrameErrors(channel):
            if channel in BOOK_CHANNELS:
                return self._book(arg, channel, message, data, received_at_ms)
            if channel.startswith("candle"):
                return FrameOutcome(self._candles(arg, channel, data, received_at_ms), [], [])
            if channel == "liquidation-orders":
                return FrameOutcome(self._liquidations(data, received_at_ms), [], [])
            handler = self._handlers.get(channel)
            if handler is None:
                raise FrameError("unknown_event", wire.clip(f"channel {wire.brief(channel)}"))
            events = [handler(entry, received_at_ms) for entry in parse.data_objects(data)]
        return FrameOutcome(events, [], [])

    # books

    def _book(
        self,
        arg: dict[str, Any],
        channel: str,
        message: dict[str, Any],
        data: list[Any],
        received_at_ms: int,
    ) -> FrameOutcome:
        instrument = self._subscriptions.instrument(arg.get("instId"), DataType.L2_ORDERBOOK)
        book = self._books[instrument.instrument]
        if channel != book.channel:
            raise FrameError("unsubscribed", f"{instrument.instrument} {wire.label(channel)}")
        events: list[MarketEvent] = []
        snapshot_only = channel in SNAPSHOT_ONLY_BOOK_CHANNELS
        action = message.get("action")
        if not snapshot_only and action not in ("snapshot", "update"):
            raise InvalidValueError("action", action, "expected snapshot or update")
        for entry in parse.data_objects(data):
            if snapshot_only:
                book.on_short_snapshot(entry, received_at_ms, events)
                continue
            if action == "update" and not book.synced:
                raise FrameError("awaiting_snapshot", f"{instrument.instrument}: update dropped")
            reason = book.on_entry(entry, action == "snapshot", received_at_ms, events)
            if reason is not None:
                return self._resync(book, reason, events)
        return FrameOutcome(events, [], [])

    def _resync(self, book: OkxBook, reason: str, events: list[MarketEvent]) -> FrameOutcome:
        """Throw ``book`` away; unsubscribe and subscribe its channel again."""
        outcome = self.resync_books([book.instrument.instrument], reason)
        outcome.events = events
        return outcome

    def resync_books(self, instruments: Collection[str] | None, reason: str) -> FrameOutcome:
        """Throw the named books away (all when None); unsubscribe and subscribe their channels.

        The unsubscribe frames (then the subscribe frames) carry every book's
        channel, each under :data:`MAX_SUBSCRIBE_BYTES`; instruments without a
        book here are ignored.
        """
        books = [self._books[i] for i in books_to_resync(self._books, instruments)]
        if not books:
            return FrameOutcome([], [], [])
        args = []
        for book in books:
            book.clear(reason)
            args.append({"channel": book.channel, "instId": book.instrument.instrument})
        replies = op_frames("unsubscribe", args) + op_frames("subscribe", args)
        return FrameOutcome([], [], replies, [BookResync(b.instrument, reason) for b in books])

    # other channels

    def _handler(
        self, data_type: DataType, read: Callable[[dict[str, Any], Instrument, int], MarketEvent]
    ) -> Callable[[dict[str, Any], int], MarketEvent]:
        """``read`` for the subscribed instrument the entry's ``instId`` names."""

        def handle(entry: dict[str, Any], received_at_ms: int) -> MarketEvent:
            return read(
                entry, self._subscriptions.instrument(entry["instId"], data_type), received_at_ms
            )

        return handle

    def _liquidations(self, data: list[Any], received_at_ms: int) -> list[MarketEvent]:
        """``liquidation-orders`` (one channel per instType): events for subscribed instIds only.

        Raises:
            FrameError: ``unsubscribed`` when no entry is of a subscribed instrument.
        """
        events: list[MarketEvent] = []
        skipped: list[str] = []
        for entry in parse.data_objects(data):
            inst_id = entry["instId"]
            instrument = self._subscriptions.find(inst_id, DataType.LIQUIDATION)
            if instrument is None:
                skipped.append(str(inst_id))
                continue
            events.extend(parse.liquidations(entry, instrument, received_at_ms))
        if not events and skipped:
            raise FrameError("unsubscribed", wire.clip(f"liquidation-orders {', '.join(skipped)}"))
        return events

    def _candles(
        self, arg: dict[str, Any], channel: str, data: list[Any], received_at_ms: int
    ) -> list[MarketEvent]:
        """``candle<bar>`` rows (:func:`.parse.candles`)."""
        instrument = self._subscriptions.instrument(arg.get("instId"), DataType.CANDLE)
        return parse.candles(data, instrument, channel.removeprefix("candle"), received_at_ms)
