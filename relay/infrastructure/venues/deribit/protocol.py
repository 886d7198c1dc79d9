"""Deribit's relay protocol: JSON-RPC requests, heartbeats, notifications -> events, resyncs.

Sources: https://docs.deribit.com/articles/notifications
(``{"jsonrpc":"2.0","method":"subscription","params":{"channel","data"}}``);
https://docs.deribit.com/api-reference/session-management/public-set_heartbeat
(interval >= 10 s; the server sends ``heartbeat`` messages and ``test_request``
messages, to be answered with ``public/test`` or the connection is closed) and
https://docs.deribit.com/api-reference/supporting/public-test;
https://docs.deribit.com/api-reference/subscription-management/public-subscribe
(``public/subscribe``: sustained ~3.3 requests/second);
https://docs.deribit.com/articles/connection-management-best-practices (32
connections per IP).

Channels: ``book.<instrument>.100ms``, ``trades.<instrument>.100ms``,
``ticker.<instrument>.100ms`` (``raw`` is only for authorized connections; the
relay's are public) and ``chart.trades.<instrument>.<resolution>``. Notifications
of any interval are accepted (the recording used ``raw``).

Depth: every ``depth`` maps to ``book.<instrument>.100ms``, the full book. Deribit's
depth-limited channels (``book.<instrument>.<group>.<depth>.<interval>``, depth
1/10/20) send unchained snapshots without ``prev_change_id``, which the relay could
not verify; the full incremental book is the nearest channel it can keep honest
(its rules: :mod:`.book`).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from decimal import Decimal
from typing import Any

from relay.application.errors import FrameError
from relay.application.ports import BookResync, FrameOutcome, VenueProtocol
from relay.config.model import VenueConfig
from relay.domain.errors import InvalidValueError
from relay.domain.model import (
    DataType,
    Instrument,
    L2Update,
    MarketEvent,
)
from relay.infrastructure.venues.common import wire
from relay.infrastructure.venues.common.errors import FrameErrors
from relay.infrastructure.venues.common.events import open_interest_event
from relay.infrastructure.venues.common.resync import books_to_resync
from relay.infrastructure.venues.deribit import parse
from relay.infrastructure.venues.deribit.book import Change, DeribitBook
from relay.infrastructure.venues.deribit.parse import RESOLUTIONS

WS_URL = "wss://www.deribit.com/ws/api/v2"

HEARTBEAT_INTERVAL_S = 30
"""Asked for with ``public/set_heartbeat`` (the documented minimum is 10 s)."""

SUBSCRIBE_INTERVAL_S = 0.5
"""Least time between two subscribe frames: ``public/subscribe`` is documented at a
sustained ~3.3 requests per second; the relay stays well below (2 per second)."""

CHANNELS_PER_SUBSCRIBE = 100
"""Channels in one ``public/subscribe`` frame. Deribit documents no cap; this bound
is the relay's own, to keep frames and their answers small."""

NOTIFICATION_INTERVAL = "100ms"
"""Interval of the book, trades and ticker channels (``raw`` needs an authorized connection)."""

MAX_PENDING_REQUESTS = 1_000
"""Requests remembered while their answer is awaited; the oldest is forgotten first
(its answer, if it ever comes, is then treated as one the relay did not ask for)."""


def _request(request_id: int, method: str, params: dict[str, Any]) -> str:
    return json.dumps(
        {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params},
        separators=(",", ":"),
    )


class DeribitProtocol(VenueProtocol):
    """One Deribit connection (sans-IO): subscribe frames, notifications in, events out.

    Args:
        config: the venue's config (subscriptions, URL override).

    Raises:
        InvalidValueError: a candle subscription's interval is not one Deribit offers.
    """

    def __init__(self, config: VenueConfig) -> None:
        self._config = config
        self._ws_url = config.ws_url or WS_URL
        self._instruments: dict[str, Instrument] = {}
        self._wanted: dict[str, frozenset[DataType]] = {}
        self._books: dict[str, DeribitBook] = {}
        self._channels: list[str] = []
        self._open_interest: dict[str, Decimal] = {}
        self._pending: dict[int, tuple[str, tuple[str, ...]]] = {}
        self._next_id = 1
        for sub in config.subscriptions:
            name = sub.instrument
            instrument = Instrument(config.id, name, sub.canonical_symbol)
            wanted = frozenset(sub.data_types)
            self._instruments[name] = instrument
            self._wanted[name] = wanted
            if wanted & {DataType.TRADE, DataType.LIQUIDATION}:
                self._channels.append(f"trades.{name}.{NOTIFICATION_INTERVAL}")
            if wanted & {DataType.TICKER, DataType.FUNDING_RATE, DataType.OPEN_INTEREST}:
                self._channels.append(f"ticker.{name}.{NOTIFICATION_INTERVAL}")
            if DataType.L2_ORDERBOOK in wanted:
                channel = f"book.{name}.{NOTIFICATION_INTERVAL}"
                self._books[name] = DeribitBook(instrument, channel)
                self._channels.append(channel)
            if DataType.CANDLE in wanted:
                if sub.candle_interval not in RESOLUTIONS:
                    raise InvalidValueError(
                        "candle_interval",
                        sub.candle_interval,
                        f"Deribit offers {', '.join(RESOLUTIONS)}",
                    )
                resolution = RESOLUTIONS[sub.candle_interval][0]
                self._channels.append(f"chart.trades.{name}.{resolution}")

    @property
    def channels(self) -> tuple[str, ...]:
        """Every channel this connection subscribes, in subscription order."""
        return tuple(self._channels)

    def ws_url(self) -> str:
        """The JSON-RPC endpoint; channels are subscribed with frames."""
        return self._ws_url

    def _call(self, method: str, params: dict[str, Any]) -> str:
        request_id = self._next_id
        self._next_id += 1
        channels = params.get("channels", ())
        self._pending[request_id] = (method, tuple(channels))
        if len(self._pending) > MAX_PENDING_REQUESTS:
            del self._pending[next(iter(self._pending))]
        return _request(request_id, method, params)

    def subscribe_frames(self) -> Sequence[str]:
        """``public/set_heartbeat`` (30 s), then ``public/subscribe`` frames of at most
        :data:`CHANNELS_PER_SUBSCRIBE` channels each, ids counting from 1.

        Shape::

            {"jsonrpc":"2.0","id":1,"method":"public/set_heartbeat","params":{"interval":30}}
            {"jsonrpc":"2.0","id":2,"method":"public/subscribe",
             "params":{"channels":["trades.BTC-PERPETUAL.100ms","ticker.BTC-PERPETUAL.100ms",
                                   "book.BTC-PERPETUAL.100ms","chart.trades.BTC-PERPETUAL.1"]}}
        """
        frames = [self._call("public/set_heartbeat", {"interval": HEARTBEAT_INTERVAL_S})]
        for start in range(0, len(self._channels), CHANNELS_PER_SUBSCRIBE):
            chunk = self._channels[start : start + CHANNELS_PER_SUBSCRIBE]
            frames.append(self._call("public/subscribe", {"channels": chunk}))
        return frames

    def on_frame(self, frame: str | bytes, received_at_ms: int) -> FrameOutcome:
        """Parse one frame: a notification, a request's answer or a heartbeat.

        Shapes (trimmed from ``deribit.jsonl``)::

            {"jsonrpc":"2.0","method":"subscription","params":{"channel":"book.ETH-30JUL21-2800-C.raw",
             "data":{"type":"snapshot","timestamp":1626993723632,"instrument_name":"ETH-30JUL21-2800-C",
             "change_id":13169025645,"bids":[["new",0.0015,4714.0]],"asks":[["new",0.0025,873.0]]}}}
            {"jsonrpc":"2.0","method":"subscription","params":{"channel":"book.BTC-24SEP21-8000-P.raw",
             "data":{"type":"change","timestamp":1626993724318,"prev_change_id":33195894164,
             "instrument_name":"BTC-24SEP21-8000-P","change_id":33195894355,"bids":[],
             "asks":[["new",0.001,2.6]]}}}
            {"jsonrpc":"2.0","id":0,"result":["trades.ETH-30JUL21-2800-C.raw",...],"usIn":...}
            {"jsonrpc":"2.0","method":"heartbeat","params":{"type":"test_request"}}

        Returns:
            The events; for a ``test_request`` heartbeat, a ``public/test`` reply; for
            a broken book, a :class:`BookResync` and its unsubscribe + subscribe frames.

        Raises:
            FrameError: ``not_json``, ``unknown_event``, ``missing_field``,
                ``invalid_value``, ``unsubscribed``, ``stale_update``,
                ``subscribe_error`` or ``request_error``.
        """
        message = wire.exact_object(frame)
        method = message.get("method")
        with FrameErrors(method):
            if method == "subscription":
                params = wire.json_object("params", message["params"])
                channel = parse.text("channel", params["channel"])
                return self._notification(channel, params["data"], received_at_ms)
            if method == "heartbeat":
                return self._heartbeat(wire.json_object("params", message["params"]))
            if "result" in message or "error" in message:
                return self._answer(message)
        raise FrameError("unknown_event", wire.clip(f"method {wire.brief(method)}"))

    def _heartbeat(self, params: dict[str, Any]) -> FrameOutcome:
        kind = params["type"]
        if kind == "test_request":
            return FrameOutcome([], [], [self._call("public/test", {})])
        if kind == "heartbeat":
            return FrameOutcome([], [], [])
        raise FrameError("unknown_event", wire.clip(f"heartbeat type {wire.brief(kind)}"))

    def _answer(self, message: dict[str, Any]) -> FrameOutcome:
        """A request's answer: acks are empty outcomes; errors and dropped channels raise."""
        request_id = message.get("id")
        pending = self._pending.pop(request_id, None) if type(request_id) is int else None
        method, channels = pending if pending is not None else ("", ())
        if "error" in message:
            reason = "subscribe_error" if method == "public/subscribe" else "request_error"
            raise FrameError(
                reason,
                wire.clip(
                    f"id {wire.brief(request_id)} {wire.label(method)}: "
                    f"{wire.label(message['error'])}"
                ),
            )
        if method == "public/subscribe":
            result = message["result"]
            granted = set(result) if isinstance(result, list) else set()
            missing = [c for c in channels if c not in granted]
            if missing:
                raise FrameError("subscribe_error", wire.clip(f"not subscribed: {missing}"))
        return FrameOutcome([], [], [])

    def _notification(self, channel: str, data: Any, received_at_ms: int) -> FrameOutcome:
        parts = channel.split(".")
        kind = parts[0]
        if kind == "chart" and len(parts) == 4 and parts[1] == "trades":
            return FrameOutcome([self._candle(parts[2], parts[3], data, received_at_ms)], [], [])
        if len(parts) != 3:
            raise FrameError("unknown_event", wire.clip(f"channel {wire.brief(channel)}"))
        name = parts[1]
        if kind == "book":
            return self._book(name, wire.json_object("data", data), received_at_ms)
        if kind == "trades":
            return FrameOutcome(self._trades(name, data, received_at_ms), [], [])
        if kind == "ticker":
            ticker = wire.json_object("data", data)
            return FrameOutcome(self._ticker(name, ticker, received_at_ms), [], [])
        raise FrameError("unknown_event", wire.clip(f"channel {wire.brief(channel)}"))

    def _instrument(self, name: str, data_types: frozenset[DataType]) -> Instrument:
        instrument = self._instruments.get(name)
        if instrument is None or not data_types & self._wanted[name]:
            raise FrameError("unsubscribed", f"{name} {sorted(t.value for t in data_types)}")
        return instrument

    def _book(self, name: str, data: dict[str, Any], received_at_ms: int) -> FrameOutcome:
        """A book snapshot or change (see :mod:`.book` for the rules)."""
        self._instrument(name, frozenset({DataType.L2_ORDERBOOK}))
        sync = self._books[name]
        kind = data.get("type")
        change_id = wire.integer("change_id", data["change_id"])
        timestamp = wire.integer("timestamp", data["timestamp"])
        bids = parse.book_levels("bids", data["bids"])
        asks = parse.book_levels("asks", data["asks"])
        if kind == "snapshot" or (kind is None and "prev_change_id" not in data):
            sync.snapshot(bids, asks, change_id)
            book_bids, book_asks = sync.book.levels()
            event = MarketEvent(
                sync.instrument,
                DataType.L2_ORDERBOOK,
                received_at_ms,
                timestamp,
                L2Update(book_bids, book_asks, True, change_id, change_id),
                f"snapshot:{change_id}",
            )
            return FrameOutcome([event], [], [])
        if kind not in ("change", None):
            raise InvalidValueError("type", kind, "expected snapshot or change")
        previous = wire.integer("prev_change_id", data["prev_change_id"])
        if not sync.gate.synced:
            return FrameOutcome([], [], [])
        check = sync.check(change_id, previous)
        if check is Change.STALE:
            raise FrameError(
                "stale_update", f"{name}: change_id={change_id} <= book's {sync.change_id}"
            )
        if check is Change.GAP:
            return self._resync(sync, "gap")
        sync.apply(bids, asks, change_id)
        event = MarketEvent(
            sync.instrument,
            DataType.L2_ORDERBOOK,
            received_at_ms,
            timestamp,
            L2Update(bids, asks, False, change_id, change_id),
            f"{sync.snapshot_id}:{change_id}",
        )
        return FrameOutcome([event], [], [])

    def _resync(self, sync: DeribitBook, reason: str) -> FrameOutcome:
        """Throw the book away; unsubscribe and subscribe its one channel again."""
        return self.resync_books([sync.instrument.instrument], reason)

    def resync_books(self, instruments: Collection[str] | None, reason: str) -> FrameOutcome:
        """Throw the named books away (all when None); unsubscribe and subscribe their channels.

        The channels go in requests of at most :data:`CHANNELS_PER_SUBSCRIBE`
        each; instruments without a book here are ignored.
        """
        names = books_to_resync(self._books, instruments)
        channels = []
        for name in names:
            self._books[name].reset(reason)
            channels.append(self._books[name].channel)
        chunks = [
            channels[start : start + CHANNELS_PER_SUBSCRIBE]
            for start in range(0, len(channels), CHANNELS_PER_SUBSCRIBE)
        ]
        replies = [self._call("public/unsubscribe", {"channels": c}) for c in chunks]
        replies += [self._call("public/subscribe", {"channels": c}) for c in chunks]
        return FrameOutcome(
            [], [], replies, [BookResync(self._books[name].instrument, reason) for name in names]
        )

    def _trades(self, name: str, data: Any, received_at_ms: int) -> list[MarketEvent]:
        """``trades.<instrument>.<interval>``: trades and liquidations
        (see :func:`.parse.trade_events`)."""
        instrument = self._instrument(name, frozenset({DataType.TRADE, DataType.LIQUIDATION}))
        return parse.trade_events(instrument, self._wanted[name], data, received_at_ms)

    def _ticker(self, name: str, data: dict[str, Any], received_at_ms: int) -> list[MarketEvent]:
        """``ticker.<instrument>.<interval>``: best bid/ask, funding (perpetuals), open
        interest (published when it changes); see :func:`.parse.ticker_event`."""
        instrument = self._instrument(
            name, frozenset({DataType.TICKER, DataType.FUNDING_RATE, DataType.OPEN_INTEREST})
        )
        wanted = self._wanted[name]
        timestamp = wire.integer("timestamp", data["timestamp"])
        events: list[MarketEvent] = []
        if DataType.TICKER in wanted:
            events.append(parse.ticker_event(instrument, data, timestamp, received_at_ms))
        if DataType.FUNDING_RATE in wanted and "funding_8h" in data:
            events.append(parse.funding_event(instrument, data, timestamp, received_at_ms))
        if DataType.OPEN_INTEREST in wanted and "open_interest" in data:
            open_interest = parse.quantity("open_interest", data["open_interest"])
            if self._open_interest.get(name) != open_interest:
                self._open_interest[name] = open_interest
                events.append(
                    open_interest_event(instrument, open_interest, timestamp, received_at_ms)
                )
        return events

    def _candle(self, name: str, resolution: str, data: Any, received_at_ms: int) -> MarketEvent:
        """``chart.trades.<instrument>.<resolution>`` (see :func:`.parse.candle_event`)."""
        instrument = self._instrument(name, frozenset({DataType.CANDLE}))
        return parse.candle_event(instrument, resolution, data, received_at_ms)
