"""Bitfinex's relay protocol: ``conf`` flags, channel ids, sequence numbers, checksums.

Sources: https://docs.bitfinex.com/docs/ws-general (endpoint, ``conf`` flags,
``info`` messages and codes: 20051 "Stop/Restart Websocket Server (please
reconnect)", 20060 "Entering in Maintenance mode. Please pause any activity and
resume after receiving the info message 20061", 20061 "Maintenance ended. You can
resume normal activity. It is advised to unsubscribe/subscribe again all
channels"; heartbeats ``[CHAN_ID, "hb"]`` on a channel silent for 15 s; ``ping`` /
``pong``; error codes), https://docs.bitfinex.com/docs/ws-websocket-checksum, the
channel pages cited in :mod:`.parse`, and the frames of ``bitfinex.jsonl`` (2021-04,
flag ``SEQ_ALL``: every array message ends with the connection's sequence number,
1, 2, 3... across all channels, heartbeats included).

Channels are named by the venue in its ``subscribed`` answer
(``{"event":"subscribed","channel":"book","chanId":232954,"symbol":"tBFTUSD",...}``);
every later message of the channel starts with that ``chanId``.

Integrity:

- ``SEQ_ALL`` (when the venue's ``conf`` answer has it): each array message must
  carry the previous one's number + 1. A break (a message lost, on any channel)
  resyncs every book of the connection (``gap``) and the next message sets the
  baseline; a number not newer than the last (at most :data:`STALE_WINDOW` behind)
  is a repeat, refused as ``stale_update``.
- ``OB_CHECKSUM``: each ``cs`` message is checked against the book (:mod:`.book`);
  a mismatch resyncs that one book (``checksum``): ``unsubscribe`` of its channel id,
  ``subscribe`` again, and the fresh snapshot restores it.
- Info 20060 holds every resync's frames (the venue asks to pause); 20061
  unsubscribes and subscribes every channel of the connection again, as advised
  (books: ``maintenance``). 20051 (the server restarts) asks for a reconnect:
  the connection is rotated (a new one opened before the old one closes).

Depth: the book is subscribed with ``len`` 25, 100 or 250 (the smallest >= the
subscription's ``depth``; 0 -> 25); the pipeline publishes the top ``depth``
levels of it.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from relay.application.errors import FrameError
from relay.application.ports import BookResync, FrameOutcome, Keepalive, VenueProtocol
from relay.config.model import VenueConfig
from relay.domain.model import DataType, L2Update, MarketEvent
from relay.infrastructure.venues.bitfinex import parse
from relay.infrastructure.venues.bitfinex.book import BitfinexBook
from relay.infrastructure.venues.bitfinex.channels import (
    CONF_FRAME,
    SEQ_ALL,
    candle_key,
    subscribe_frame,
    time_frame,
    unsubscribe_frame,
)
from relay.infrastructure.venues.common import wire
from relay.infrastructure.venues.common.errors import FrameErrors
from relay.infrastructure.venues.common.resync import books_to_resync
from relay.infrastructure.venues.common.subscriptions import Subscriptions

WS_URL = "wss://api-pub.bitfinex.com/ws/2"

SUBSCRIBE_INTERVAL_S = 0.05
"""Least time between two frames sent. Bitfinex documents no subscribe rate (only 20
connections per minute); this is the relay's own pacing."""

PING_INTERVAL_S = 30.0
"""Seconds between two ``ping`` events (the venue answers ``pong``)."""

PING_FRAME = '{"event":"ping","cid":1}'

STALE_WINDOW = 10_000
"""A sequence number at most this far behind the last is a repeat; further, a gap."""

RESTART = 20051
MAINTENANCE_START = 20060
MAINTENANCE_END = 20061

_CHANNEL_TYPES = {
    "trades": DataType.TRADE,
    "ticker": DataType.TICKER,
    "book": DataType.L2_ORDERBOOK,
    "candles": DataType.CANDLE,
}


@dataclass(frozen=True, slots=True)
class Channel:
    """A subscribed channel: its data type, the symbol, and the candle time frame."""

    data_type: DataType
    name: str
    time_frame: str = ""


def _checksum_value(raw: Any) -> int:
    if type(raw) is not int or not -(2**31) <= raw < 2**31:
        raise FrameError("invalid_value", f"cs: {wire.brief(raw)} is not a signed 32-bit int")
    return raw


class BitfinexProtocol(VenueProtocol):
    """One Bitfinex ws/2 connection (sans-IO): subscribe frames, frames in, events out.

    Args:
        config: the venue's config; ``instrument`` is the venue symbol (``tBTCUSD``,
            ``tTESTBTC:TESTUSD``); ``depth`` chooses the book ``len``; ``candle_interval``
            the candle time frame (``1m``, ``1h``, ``1D``...).

    Raises:
        InvalidValueError: a ``candle_interval`` Bitfinex does not offer.
    """

    def __init__(self, config: VenueConfig) -> None:
        self._ws_url = config.ws_url or WS_URL
        self._subscriptions = Subscriptions(config)
        self._configs = {sub.instrument: sub for sub in config.subscriptions}
        self._channels: dict[int, Channel] = {}
        self._flags = 0
        self._seq: int | None = None
        self._maintenance = False
        self._books = {
            name: BitfinexBook(instrument)
            for name, instrument in self._subscriptions.instruments.items()
            if DataType.L2_ORDERBOOK in self._subscriptions.wanted[name]
        }
        self._candles = {
            candle_key(sub.candle_interval, sub.instrument): (
                sub.instrument,
                time_frame(sub.candle_interval),
            )
            for sub in config.subscriptions
            if DataType.CANDLE in sub.data_types
        }

    def ws_url(self) -> str:
        """The ws/2 endpoint; channels are subscribed with frames."""
        return self._ws_url

    def subscribe_frames(self) -> Sequence[str]:
        """``conf`` (``SEQ_ALL`` + ``OB_CHECKSUM``), then one ``subscribe`` per channel."""
        return [CONF_FRAME, *self._channel_frames()]

    def _channel_frames(self) -> list[str]:
        return [
            subscribe_frame(data_type, sub)
            for sub in self._configs.values()
            for data_type in parse_order(sub.data_types)
        ]

    def keepalive(self) -> Keepalive:
        """``{"event":"ping","cid":1}`` every :data:`PING_INTERVAL_S` (answered ``pong``)."""
        return Keepalive(PING_INTERVAL_S, PING_FRAME)

    def on_frame(self, frame: str | bytes, received_at_ms: int) -> FrameOutcome:
        """Parse one frame: an event object or a channel message.

        Shapes (trimmed from ``bitfinex.jsonl``)::

            {"event":"conf","status":"OK","flags":65536}
            {"event":"subscribed","channel":"book","chanId":232954,"symbol":"tBFTUSD",
             "prec":"P0","freq":"F0","len":"100","pair":"BFTUSD"}
            [232954,[[0.068961,1,2000],[0.0774,1,-48578.5]],1]
            [225206,[279380,1,0.0089],19]
            [204928,"hb",127]

        Returns:
            The events; for a broken book, a :class:`BookResync` and its
            unsubscribe + subscribe frames.

        Raises:
            FrameError: ``not_json``, ``unknown_event``, ``missing_field``,
                ``invalid_value``, ``unsubscribed``, ``stale_update`` or
                ``subscribe_error``.
        """
        message = wire.exact_json(frame)
        if isinstance(message, dict):
            with FrameErrors(message.get("event")):
                return self._event(message)
        if not isinstance(message, list) or len(message) < 2:
            raise FrameError("unknown_event", f"not a channel message: {wire.brief(message)}")
        with FrameErrors("channel message", also=(IndexError,)):
            return self._message(message, received_at_ms)

    def _message(self, message: list[Any], received_at_ms: int) -> FrameOutcome:
        """A channel message: its sequence number checked first, then its body.

        A message that reveals a gap returns the gap's resync even when its body is
        refused (the resync's frames must reach the venue).
        """
        chan_id = wire.integer("chanId", message[0])
        seq: int | None = None
        gap = FrameOutcome([], [], [], [])
        if self._flags & SEQ_ALL:
            seq = wire.integer("seq", message[-1])
            gap = self._sequence(seq)
            body = message[1:-1]
        else:
            body = message[1:]
        try:
            with FrameErrors("channel message", also=(IndexError,)):
                outcome = self._body(chan_id, body, seq, received_at_ms)
        except FrameError:
            if gap.resyncs:
                return gap
            raise
        if not gap.resyncs:
            return outcome
        return FrameOutcome(
            outcome.events,
            [],
            gap.replies + outcome.replies,
            gap.resyncs + outcome.resyncs,
        )

    def _body(
        self, chan_id: int, body: list[Any], seq: int | None, received_at_ms: int
    ) -> FrameOutcome:
        if not body:
            raise FrameError("missing_field", "channel message without a body")
        if body[0] == "hb":
            return FrameOutcome([], [], [], [])
        channel = self._channels.get(chan_id)
        if channel is None:
            raise FrameError("unsubscribed", f"chanId {chan_id}")
        return self._channel(channel, chan_id, body, seq, received_at_ms)

    def _sequence(self, seq: int) -> FrameOutcome:
        """Check one message's sequence number (see the module docstring)."""
        last = self._seq
        if last is None or seq == last + 1:
            self._seq = seq
            return FrameOutcome([], [], [], [])
        if last - STALE_WINDOW <= seq <= last:
            raise FrameError("stale_update", f"seq={seq} <= last {last}")
        self._seq = None
        return self.resync_books(None, "gap")

    def _channel(
        self, channel: Channel, chan_id: int, body: list[Any], seq: int | None, received_at_ms: int
    ) -> FrameOutcome:
        instrument = self._subscriptions.instrument(channel.name, channel.data_type)
        data = body[0]
        if channel.data_type is DataType.L2_ORDERBOOK:
            return self._book(self._books[channel.name], chan_id, body, seq, received_at_ms)
        if channel.data_type is DataType.TRADE:
            if data == "te":
                return FrameOutcome(
                    [parse.trade_event(instrument, body[1], received_at_ms)], [], []
                )
            if data in ("tu", "fte", "ftu"):
                return FrameOutcome([], [], [])
            return FrameOutcome(parse.trade_snapshot(instrument, data, received_at_ms), [], [])
        if channel.data_type is DataType.TICKER:
            return FrameOutcome([parse.ticker_event(instrument, data, seq, received_at_ms)], [], [])
        if parse.is_snapshot(data):
            candles = [
                parse.candle_event(instrument, channel.time_frame, c, received_at_ms) for c in data
            ]
            newest = max(candles, key=lambda e: e.exchange_timestamp_ms or 0, default=None)
            return FrameOutcome([] if newest is None else [newest], [], [])
        event = parse.candle_event(instrument, channel.time_frame, data, received_at_ms)
        return FrameOutcome([event], [], [])

    def _book(
        self,
        book: BitfinexBook,
        chan_id: int,
        body: list[Any],
        seq: int | None,
        received_at_ms: int,
    ) -> FrameOutcome:
        """A book snapshot, update or checksum (see :mod:`.book` for the rules)."""
        data = body[0]
        if data == "cs":
            expected = _checksum_value(body[1])
            if not book.gate.synced or book.chan_id != chan_id:
                return FrameOutcome([], [], [])
            if book.checksum() != expected:
                return self.resync_books([book.instrument.instrument], "checksum")
            return FrameOutcome([], [], [])
        if parse.is_snapshot(data):
            if book.chan_id != chan_id:
                return FrameOutcome([], [], [])
            book.snapshot(parse.book_snapshot(data))
            bids, asks = book.book.levels()
            key = f"snapshot:{book.snapshots}:{'' if seq is None else seq}"
            update = L2Update(bids, asks, True, seq, seq)
        else:
            level = parse.book_level(data)
            if not book.gate.synced or book.chan_id != chan_id:
                return FrameOutcome([], [], [])
            bids, asks = book.apply(level)
            key = f"{book.snapshots}:{book.updates}:{'' if seq is None else seq}"
            update = L2Update(bids, asks, False, seq, seq)
        event = MarketEvent(
            book.instrument, DataType.L2_ORDERBOOK, received_at_ms, None, update, key
        )
        return FrameOutcome([event], [], [])

    def _event(self, message: dict[str, Any]) -> FrameOutcome:
        event = message["event"]
        if event == "subscribed":
            return self._subscribed(message)
        if event == "unsubscribed":
            self._channels.pop(wire.integer("chanId", message["chanId"]), None)
            return FrameOutcome([], [], [])
        if event == "conf":
            if message.get("status") != "OK":
                raise FrameError("subscribe_error", wire.clip(f"conf: {wire.brief(message)}"))
            self._flags = wire.integer("flags", message["flags"])
            return FrameOutcome([], [], [])
        if event == "info":
            return self._info(message)
        if event == "error":
            raise FrameError("subscribe_error", wire.clip(f"error: {wire.brief(message)}"))
        if event == "pong":
            return FrameOutcome([], [], [])
        raise FrameError("unknown_event", wire.clip(f"event {wire.brief(event)}"))

    def _subscribed(self, message: dict[str, Any]) -> FrameOutcome:
        """A ``subscribed`` answer: its ``chanId`` names the channel from now on."""
        chan_id = wire.integer("chanId", message["chanId"])
        kind = message["channel"]
        data_type = _CHANNEL_TYPES.get(kind) if isinstance(kind, str) else None
        if data_type is None:
            raise FrameError("unknown_event", f"channel {wire.brief(kind)}")
        frame_key = ""
        if data_type is DataType.CANDLE:
            key = wire.text("key", message["key"])
            if key not in self._candles:
                raise FrameError("unsubscribed", f"{key} candle")
            name, frame_key = self._candles[key]
        else:
            name = wire.text("symbol", message["symbol"])
        self._subscriptions.instrument(name, data_type)
        self._channels[chan_id] = Channel(data_type, name, frame_key)
        if data_type is DataType.L2_ORDERBOOK:
            self._books[name].chan_id = chan_id
        return FrameOutcome([], [], [])

    def _info(self, message: dict[str, Any]) -> FrameOutcome:
        """``info``: the greeting (nothing to do) or a code (see the module docstring)."""
        code = message.get("code")
        if code == MAINTENANCE_START:
            self._maintenance = True
        elif code == MAINTENANCE_END:
            self._maintenance = False
            return self._subscribe_again("maintenance")
        elif code == RESTART:
            return FrameOutcome([], [], [], [], reconnect=True)
        return FrameOutcome([], [], [])

    def _subscribe_again(self, reason: str) -> FrameOutcome:
        """Unsubscribe every channel of the connection and subscribe every one again."""
        replies = [unsubscribe_frame(chan_id) for chan_id in self._channels]
        self._channels.clear()
        resyncs = []
        for book in self._books.values():
            book.reset(reason)
            book.chan_id = None
            resyncs.append(BookResync(book.instrument, reason))
        return FrameOutcome([], [], replies + self._channel_frames(), resyncs)

    def resync_books(self, instruments: Collection[str] | None, reason: str) -> FrameOutcome:
        """Throw the named books away (all when None); ``unsubscribe`` each one's channel and
        ``subscribe`` it again (no frames for a book whose subscribe is under way, nor
        during maintenance: 20061 subscribes everything again); instruments without a
        book here are ignored."""
        names = books_to_resync(self._books, instruments)
        replies: list[str] = []
        for name in names:
            book = self._books[name]
            book.reset(reason)
            if book.chan_id is not None and not self._maintenance:
                replies.append(unsubscribe_frame(book.chan_id))
                replies.append(subscribe_frame(DataType.L2_ORDERBOOK, self._configs[name]))
                book.chan_id = None
        return FrameOutcome(
            [], [], replies, [BookResync(self._books[name].instrument, reason) for name in names]
        )


def parse_order(data_types: Collection[DataType]) -> list[DataType]:
    """The channels of a subscription, in subscribe order: trades, ticker, book, candles."""
    return [
        t
        for t in (DataType.TRADE, DataType.TICKER, DataType.L2_ORDERBOOK, DataType.CANDLE)
        if t in data_types
    ]
