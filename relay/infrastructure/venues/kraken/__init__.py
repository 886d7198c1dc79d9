"""Kraken spot: WebSocket API v2 (``wss://ws.kraken.com/v2``), books verified by CRC32 checksum.

The package: :mod:`.parse` (message fields and events), :mod:`.book` (the book's
depth and checksum rules), :mod:`.protocol` (subscribe frames, keepalive, frames
-> events, resyncs), :mod:`.listing` (``relay instruments``); importing it
registers the ``kraken`` venue.

No recorded Kraken v2 session exists in ``shared/captures``; every format parsed
follows Kraken's documented example messages (the stored copies of these pages
were read through the ``search`` tool):

- Trade channel: https://docs.kraken.com/api/docs/websocket-v2/trade
- Ticker channel: https://docs.kraken.com/api/docs/websocket-v2/ticker
- Book channel: https://docs.kraken.com/api/docs/websocket-v2/book
- Book checksum guide (with its worked example):
  https://docs.kraken.com/api/docs/guides/spot-ws-book-v2
  (also https://docs.kraken.com/exchange/guides/websockets/book-checksum-v2)
- OHLC channel: https://docs.kraken.com/api/docs/websocket-v2/ohlc
- Ping: https://docs.kraken.com/api/docs/websocket-v2/ping
- Heartbeat: https://docs.kraken.com/api/docs/websocket-v2/heartbeat
- Status: https://docs.kraken.com/api/docs/websocket-v2/status
- Connection limits: https://docs.kraken.com/api/docs/guides/spot-ws-intro
- v1 vs v2 symbols (``XBT/USD`` vs ``BTC/USD``):
  https://docs.kraken.com/exchange/api-reference/spot-websocket
- Instrument listing: https://docs.kraken.com/api/docs/rest-api/get-tradable-asset-pairs

Symbols: the configured ``instrument`` is the v2 symbol (``"BTC/USD"``); it is
used as is in subscribe frames and matched against each message's ``symbol``.

Keepalive: ``{"method":"ping"}`` every 30 s (the server closes a connection
after about a minute of inactivity); pongs, heartbeats (about once per second
while subscribed), status messages and subscribe/unsubscribe acks give an empty
outcome; a failed ack (``"success": false``) raises ``subscribe_error``.

Limits: Kraken documents no fixed subscribe rate for public channels (it is
dynamic, excess is answered with an error), so subscribe frames are paced at
one per second and each frame carries every symbol of one channel (and depth
or interval). Connection attempts are limited to about 150 per rolling 10
minutes per IP; no streams-per-connection limit is documented for public
channels, so one connection carries every subscription.

FrameError reasons raised here: ``not_json``, ``unknown_event``,
``missing_field``, ``invalid_value``, ``unsubscribed``, ``subscribe_error``.
BookResync reasons: ``checksum``.
"""

from __future__ import annotations

from relay.domain.model import DataType
from relay.infrastructure.venues.kraken.listing import LISTING, REST_URL
from relay.infrastructure.venues.kraken.protocol import (
    SUBSCRIBE_INTERVAL_S,
    WS_URL,
    KrakenProtocol,
)
from relay.infrastructure.venues.registry import VenueSpec, register

VENUE_ID = "kraken"
"""The venue id in config and subjects."""

SPEC = register(
    VenueSpec(
        id=VENUE_ID,
        data_types=frozenset(
            {DataType.TRADE, DataType.TICKER, DataType.L2_ORDERBOOK, DataType.CANDLE}
        ),
        default_ws_url=WS_URL,
        default_rest_url=REST_URL,
        protocol_factory=KrakenProtocol,
        docs=(
            "https://docs.kraken.com/api/docs/websocket-v2/book",
            "https://docs.kraken.com/api/docs/guides/spot-ws-book-v2",
            "https://docs.kraken.com/api/docs/websocket-v2/trade",
            "https://docs.kraken.com/api/docs/websocket-v2/ticker",
            "https://docs.kraken.com/api/docs/websocket-v2/ohlc",
            "https://docs.kraken.com/api/docs/guides/spot-ws-intro",
            "https://docs.kraken.com/api/docs/rest-api/get-tradable-asset-pairs",
        ),
        rest_weight_per_minute=60,
        max_connection_age_s=0.0,
        subscribe_interval_s=SUBSCRIBE_INTERVAL_S,
        max_subscriptions_per_connection=0,
        instrument_listing=LISTING,
    )
)
"""The ``kraken`` venue, as registered."""

__all__ = ["SPEC", "VENUE_ID"]
