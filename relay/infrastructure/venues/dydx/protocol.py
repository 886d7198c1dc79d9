"""dYdX's relay protocol: subscribe frames, message-id continuity, frames -> events, resyncs.

Sources: the indexer WebSocket page
https://docs.dydx.exchange/api_integration-indexer/indexer_websocket (endpoint
``wss://indexer.dydx.trade/v4/ws``; subscribe / unsubscribe frames
``{"type","channel","id"}``; "Every 30 seconds, the websocket API will send a
heartbeat ping control frame ... If a pong event is not received within 10
seconds back, the websocket API will disconnect"; rate limiting: "2
subscriptions per (connection + channel + channel id) per second"); the
indexer's socks service (dydxprotocol/v4-chain ``indexer/services/socks``:
``config.ts``: 32 subscriptions per channel per connection, a subscribe past
the rate limit closes the connection; ``types.ts``: message types); the
parsers' sources in :mod:`.parse`, :mod:`.book`, :mod:`.continuity`.

Channels: ``v4_trades`` (its ``subscribed`` answer, the market's last trades, is
history and is not republished), ``v4_orderbook`` (the ``subscribed`` answer is
the book; see :mod:`.book`), ``v4_candles`` (id ``<ticker>/<resolution>``, the
subscription's ``candle_interval``; the ``subscribed`` answer's past candles are
not republished) and ``v4_markets`` (one subscription for every market, no id:
``nextFundingRate`` -> ``funding_rate``, ``openInterest`` -> ``open_interest`` of
the configured markets, from the ``subscribed`` answer and each update; other
markets are skipped). Frames are never ``batched``.

Continuity: every message's ``message_id`` goes through :class:`~.continuity.MessageIds`.
A repeated number is refused (``stale_update``). A gap may have hit any
subscription, so it resyncs every book of the connection (reason ``gap``): each
is thrown away, reported as a :class:`BookResync`, and its ``v4_orderbook`` is
unsubscribed and subscribed again; the ``subscribed`` answer restores it. A
``v4_orderbook`` update that cannot be read may have held levels the book now
lacks: that book resyncs (reason ``bad_update``; the frames go out with the
next outcome, as the malformed message itself raises).

Keepalive: the indexer pings every 30 s and the WebSocket library answers with
a pong; the connection's own WebSocket pings (``ping_interval_s``) keep the
relay's side alive. No application-level ping is needed.

Depth: ``v4_orderbook`` has one depth, the whole book, which the relay keeps; a
subscription's ``depth`` N > 0 is honoured by the pipeline, which publishes the
top N levels per side of it (:class:`~relay.application.book_publication.DepthView`).

Message id keys (``Nats-Msg-Id``) of books: snapshot ``snapshot:<h>`` (``h``:
digest of the snapshot's levels), update ``<h>:<n>:<d>`` (``n``: updates
published since that snapshot, ``d``: digest of the changes). ``message_id`` is
per connection, so it is kept out of ids and update-id fields.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

import orjson

from relay.application.errors import FrameError
from relay.application.ports import BookResync, FrameOutcome, VenueProtocol
from relay.config.model import VenueConfig
from relay.domain.errors import InvalidValueError
from relay.domain.model import DataType, Instrument, L2Update, MarketEvent
from relay.infrastructure.venues.common import wire
from relay.infrastructure.venues.common.errors import FrameErrors
from relay.infrastructure.venues.common.resync import books_to_resync
from relay.infrastructure.venues.common.subscriptions import Subscriptions
from relay.infrastructure.venues.dydx import parse
from relay.infrastructure.venues.dydx.book import DydxBook
from relay.infrastructure.venues.dydx.continuity import Continuity, MessageIds

WS_URL = "wss://indexer.dydx.trade/v4/ws"

SUBSCRIBE_INTERVAL_S = 0.1
"""Least time between two subscribe frames. The indexer allows 2 subscribes per
(connection, channel, id) per second and closes a connection past it; the
relay subscribes each (channel, id) once, and again only on a resync."""

MAX_SUBSCRIPTIONS_PER_CONNECTION = 32
"""The indexer's per-connection limit of each channel (``V4_*_CHANNEL_LIMIT``):
each ``[[venues.subscriptions]]`` entry takes at most one of ``v4_trades``,
``v4_orderbook`` and ``v4_candles``."""

TRADES = "v4_trades"
ORDERBOOK = "v4_orderbook"
CANDLES = "v4_candles"
MARKETS = "v4_markets"

_MARKET_TYPES = frozenset({DataType.FUNDING_RATE, DataType.OPEN_INTEREST})
_READ_ERRORS = (KeyError, InvalidValueError, TypeError, ValueError)


def request_frame(action: str, channel: str, channel_id: str | None = None) -> str:
    """``{"type":"subscribe","channel":"v4_orderbook","id":"BTC-USD"}`` (``action``
    ``subscribe`` or ``unsubscribe``; no ``id`` for ``v4_markets``), compact JSON."""
    message: dict[str, str] = {"type": action, "channel": channel}
    if channel_id is not None:
        message["id"] = channel_id
    return orjson.dumps(message).decode()


class DydxProtocol(VenueProtocol):
    """One indexer connection (sans-IO): subscribe frames, frames in, events out.

    Args:
        config: the venue's config; ``instrument`` is the market ticker
            (``BTC-USD``), ``candle_interval`` one of ``1m 5m 15m 30m 1h 4h 1d``
            (:data:`.parse.CANDLE_INTERVALS`).

    Raises:
        InvalidValueError: a candle subscription's interval the indexer lacks.
    """

    def __init__(self, config: VenueConfig) -> None:
        self._ws_url = config.ws_url or WS_URL
        self._subscriptions = Subscriptions(config)
        self._resolutions = {
            sub.instrument: parse.resolution(sub.candle_interval)
            for sub in config.subscriptions
            if DataType.CANDLE in sub.data_types
        }
        self._books = {
            name: DydxBook()
            for name, wanted in self._subscriptions.wanted.items()
            if DataType.L2_ORDERBOOK in wanted
        }
        self._ids = MessageIds()
        self._pending_replies: list[str] = []
        self._pending_resyncs: list[BookResync] = []

    def ws_url(self) -> str:
        """The indexer endpoint; channels are subscribed with frames."""
        return self._ws_url

    def subscribe_frames(self) -> Sequence[str]:
        """One ``subscribe`` frame per market and channel, then one ``v4_markets``.

        Shape::

            {"type":"subscribe","channel":"v4_trades","id":"BTC-USD"}
            {"type":"subscribe","channel":"v4_orderbook","id":"BTC-USD"}
            {"type":"subscribe","channel":"v4_candles","id":"BTC-USD/1MIN"}
            {"type":"subscribe","channel":"v4_markets"}
        """
        wanted = self._subscriptions.wanted
        frames = [
            request_frame("subscribe", TRADES, n) for n, w in wanted.items() if DataType.TRADE in w
        ]
        frames += [request_frame("subscribe", ORDERBOOK, n) for n in self._books]
        frames += [
            request_frame("subscribe", CANDLES, f"{n}/{res}")
            for n, res in self._resolutions.items()
        ]
        if any(_MARKET_TYPES & w for w in wanted.values()):
            frames.append(request_frame("subscribe", MARKETS))
        self._ids.expect_answers(len(frames))
        return frames

    def on_frame(self, frame: str | bytes, received_at_ms: int) -> FrameOutcome:
        """Parse one frame: ``connected``, ``subscribed``, ``channel_data``, ``unsubscribed``
        or ``error``.

        Shapes (trimmed from the WebSocket page's examples)::

            {"type":"connected","connection_id":"004a1efa-21bb-4b19-a2e9-a8ffadd6dc53",
             "message_id":0}
            {"type":"channel_data","connection_id":"ee5a4696-dce8-44ef-8d68-f0e0d0b06160",
             "message_id":484,"id":"BTC-USD","channel":"v4_orderbook","version":"0.0.1",
             "contents":{"bids":[["27773","1.986168516"]]}}

        Returns:
            The events; after a gap or a malformed book update, the resyncs and
            their unsubscribe + subscribe frames.

        Raises:
            FrameError: ``not_json``, ``unknown_event``, ``missing_field``,
                ``invalid_value``, ``unsubscribed``, ``stale_update`` or ``subscribe_error``.
        """
        message = wire.frame_object(frame)
        kind = message.get("type")
        events: list[MarketEvent] = []
        with FrameErrors(message.get("channel", kind)):
            if kind == "channel_data":
                self._channel_data(message, received_at_ms, events)
            elif kind == "subscribed":
                message_id = wire.integer("message_id", message["message_id"])
                self._continue(self._ids.answer(message_id))
                self._subscribed(message, message_id, received_at_ms, events)
            elif kind == "unsubscribed":
                message_id = wire.integer("message_id", message["message_id"])
                self._continue(self._ids.data(message_id))  # a repeated number is harmless here
            elif kind == "connected":
                wire.integer("message_id", message["message_id"])
                self._ids.connected()
            elif kind == "error":
                raw = message.get("message_id")
                if isinstance(raw, int) and not isinstance(raw, bool) and 0 <= raw <= wire.MAX_ID:
                    self._continue(self._ids.answer(raw))
                raise FrameError(
                    "subscribe_error", wire.clip(f"error: {wire.brief(message.get('message'))}")
                )
            else:
                raw = message.get("message_id")
                if isinstance(raw, int) and not isinstance(raw, bool) and 0 <= raw <= wire.MAX_ID:
                    self._continue(self._ids.data(raw))  # numbered all the same
                raise FrameError("unknown_event", wire.clip(f"type {wire.brief(kind)}"))
        return self._outcome(events)

    def _outcome(self, events: list[MarketEvent]) -> FrameOutcome:
        outcome = FrameOutcome(events, [], self._pending_replies, self._pending_resyncs)
        self._pending_replies = []
        self._pending_resyncs = []
        return outcome

    def _continue(self, continuity: Continuity) -> None:
        if continuity is Continuity.GAP:
            self._resync(list(self._books), "gap")

    def _channel_data(
        self, message: dict[str, Any], received_at_ms: int, events: list[MarketEvent]
    ) -> None:
        message_id = wire.integer("message_id", message["message_id"])
        last = self._ids.last
        continuity = self._ids.data(message_id)
        if continuity is Continuity.STALE:
            raise FrameError("stale_update", f"message_id {message_id} <= last {last}")
        self._continue(continuity)
        channel = message["channel"]
        if channel not in (TRADES, ORDERBOOK, CANDLES, MARKETS):
            raise FrameError("unknown_event", wire.clip(f"channel {wire.brief(channel)}"))
        if channel == ORDERBOOK:
            self._book_update(message, message_id, received_at_ms, events)
            return
        contents = wire.json_object("contents", message["contents"])
        if channel == TRADES:
            instrument = self._subscriptions.instrument(message["id"], DataType.TRADE)
            for trade in wire.json_list("trades", contents["trades"]):
                events.append(parse.trade_event(instrument, trade, received_at_ms))
        elif channel == CANDLES:
            instrument = self._candle_instrument(message["id"])
            events.append(parse.candle_event(instrument, contents, received_at_ms))
        else:
            self._markets("trading", contents.get("trading"), received_at_ms, events)

    def _candle_instrument(self, channel_id: Any) -> Instrument:
        """The instrument of a ``v4_candles`` id ``<ticker>/<resolution>`` subscribed here."""
        ticker, _, word = wire.text("id", channel_id).partition("/")
        instrument = self._subscriptions.instrument(ticker, DataType.CANDLE)
        if self._resolutions[ticker] != word:
            raise FrameError("unsubscribed", wire.clip(f"{wire.label(channel_id)} candle"))
        return instrument

    def _markets(
        self, field: str, markets: Any, received_at_ms: int, events: list[MarketEvent]
    ) -> None:
        """Funding rate and open interest of each configured market in the ``field``
        mapping (``markets`` of the answer, ``trading`` of an update: ticker -> object)."""
        if not any(_MARKET_TYPES & w for w in self._subscriptions.wanted.values()):
            raise FrameError("unsubscribed", f"{MARKETS} (no funding_rate or open_interest)")
        if markets is None:
            return  # oracle prices only
        for ticker, market in wire.json_object(field, markets).items():
            instrument = self._subscriptions.instruments.get(ticker)
            if instrument is None:
                continue
            wanted = self._subscriptions.wanted[ticker] & _MARKET_TYPES
            events += parse.market_events(instrument, market, wanted, received_at_ms)

    def _subscribed(
        self,
        message: dict[str, Any],
        message_id: int,
        received_at_ms: int,
        events: list[MarketEvent],
    ) -> None:
        channel = message["channel"]
        contents = wire.json_object("contents", message["contents"])
        if channel == ORDERBOOK:
            self._book_snapshot(message["id"], contents, message_id, received_at_ms, events)
        elif channel == TRADES:
            self._subscriptions.instrument(message["id"], DataType.TRADE)
        elif channel == CANDLES:
            self._candle_instrument(message["id"])
        elif channel == MARKETS:
            self._markets("markets", contents["markets"], received_at_ms, events)
        else:
            raise FrameError("unknown_event", wire.clip(f"channel {wire.brief(channel)}"))

    def _book_snapshot(
        self,
        name: Any,
        contents: dict[str, Any],
        message_id: int,
        received_at_ms: int,
        events: list[MarketEvent],
    ) -> None:
        """A ``subscribed`` book: the book replaced, published whole."""
        instrument = self._subscriptions.instrument(name, DataType.L2_ORDERBOOK)
        bids = parse.snapshot_levels("bids", contents["bids"])
        asks = parse.snapshot_levels("asks", contents["asks"])
        key = parse.digest([[[str(p), str(q)] for p, q in side] for side in (bids, asks)])
        book = self._books[name]
        book.snapshot(bids, asks, message_id, key)
        book_bids, book_asks = book.book.levels()
        events.append(
            MarketEvent(
                instrument,
                DataType.L2_ORDERBOOK,
                received_at_ms,
                None,
                L2Update(book_bids, book_asks, True),
                f"snapshot:{key}",
            )
        )

    def _book_update(
        self,
        message: dict[str, Any],
        message_id: int,
        received_at_ms: int,
        events: list[MarketEvent],
    ) -> None:
        """A ``channel_data`` book update (see :mod:`.book` for the rules)."""
        name = message["id"]
        instrument = self._subscriptions.instrument(name, DataType.L2_ORDERBOOK)
        book = self._books[name]
        try:
            contents = wire.json_object("contents", message["contents"])
            bids = parse.update_levels("bids", contents.get("bids"))
            asks = parse.update_levels("asks", contents.get("asks"))
        except _READ_ERRORS:
            if book.gate.synced:
                self._resync([name], "bad_update")
            raise
        if not book.gate.synced:
            return  # thrown away: waits for the snapshot of its resubscription
        bid_changes, ask_changes = book.apply(bids, asks, message_id)
        if not bid_changes and not ask_changes:
            return
        book.deltas += 1
        changes = [[[str(p), str(q)] for p, q in side] for side in (bid_changes, ask_changes)]
        events.append(
            MarketEvent(
                instrument,
                DataType.L2_ORDERBOOK,
                received_at_ms,
                None,
                L2Update(bid_changes, ask_changes, False),
                f"{book.snapshot_key}:{book.deltas}:{parse.digest(changes)}",
            )
        )

    def resync_books(self, instruments: Collection[str] | None, reason: str) -> FrameOutcome:
        """Throw the named books away (all when None); ``unsubscribe`` + ``subscribe`` the
        ``v4_orderbook`` of each; markets without a book here are ignored. The outcome
        also carries resyncs still queued by a malformed update."""
        self._resync(books_to_resync(self._books, instruments), reason)
        return self._outcome([])

    def _resync(self, names: list[str], reason: str) -> None:
        """Drop these books; queue their resyncs and their unsubscribe + subscribe frames."""
        for name in names:
            self._books[name].drop(reason)
            self._pending_resyncs.append(BookResync(self._subscriptions.instruments[name], reason))
            self._pending_replies.append(request_frame("unsubscribe", ORDERBOOK, name))
            self._pending_replies.append(request_frame("subscribe", ORDERBOOK, name))
        self._ids.expect_answers(len(names))
