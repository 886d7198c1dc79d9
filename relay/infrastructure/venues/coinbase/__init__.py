"""Coinbase Advanced Trade: the public market data WebSocket (``wss://advanced-trade-ws.coinbase.com``).

The package: :mod:`.parse` (message fields and events, dedup keys), :mod:`.book`
(the level2 book and its crossed-book rule), :mod:`.protocol` (subscribe frames,
``sequence_num`` checks, frames -> events, resyncs), :mod:`.listing` (``relay
instruments``); importing it registers the ``coinbase`` venue.

No recorded session of this feed exists; every format parsed follows the
documented example messages of these pages (found with the documentation
search, copied in the code corpus with their ``source_url``):

- Channels (heartbeats, candles, market_trades, ticker, level2 examples):
  https://docs.cdp.coinbase.com/coinbase-app/advanced-trade-apis/websocket/websocket-channels
- Overview (subscribe within 5 s, one channel per subscribe message,
  ``sequence_num`` rules):
  https://docs.cdp.coinbase.com/coinbase-app/advanced-trade-apis/websocket/websocket-overview
- Rate limits (unauthenticated messages: 8 per second per IP):
  https://docs.cdp.coinbase.com/coinbase-app/advanced-trade-apis/websocket/websocket-rate-limits
- Public products (instrument listing):
  https://docs.cdp.coinbase.com/api-reference/advanced-trade-api/rest-api/public/list-public-products

Two shapes are not in those pages' examples and follow other sources: the
``subscriptions`` acknowledgement (``{"channel":"subscriptions",...,"events":
[{"subscriptions":{"level2":["BTC-USD"]}}]}``, as in nautilus_trader's Coinbase
test data) and the error message (``{"type":"error","message":...}``, as ccxt's
coinbase WebSocket handler reads it).

FrameError reasons raised here: ``not_json``, ``unknown_event``,
``missing_field``, ``invalid_value``, ``unsubscribed``, ``stale_update``
(a ``sequence_num`` not above the last one) and ``subscribe_error``.
"""

from __future__ import annotations

from relay.infrastructure.venues.coinbase.listing import (
    LISTING,
    PRODUCTS_DOC,
    REST_REQUESTS_PER_MINUTE,
    REST_URL,
)
from relay.infrastructure.venues.coinbase.protocol import (
    CHANNEL_FOR,
    CHANNELS_DOC,
    MAX_SUBSCRIPTIONS_PER_CONNECTION,
    OVERVIEW_DOC,
    RATE_LIMITS_DOC,
    SUBSCRIBE_INTERVAL_S,
    WS_URL,
    CoinbaseProtocol,
)
from relay.infrastructure.venues.registry import VenueSpec, register

VENUE_ID = "coinbase"
"""The venue id in config and subjects."""

SPEC = register(
    VenueSpec(
        id=VENUE_ID,
        data_types=frozenset(CHANNEL_FOR),
        default_ws_url=WS_URL,
        default_rest_url=REST_URL,
        protocol_factory=CoinbaseProtocol,
        docs=(CHANNELS_DOC, OVERVIEW_DOC, RATE_LIMITS_DOC, PRODUCTS_DOC),
        rest_weight_per_minute=REST_REQUESTS_PER_MINUTE,
        subscribe_interval_s=SUBSCRIBE_INTERVAL_S,
        max_subscriptions_per_connection=MAX_SUBSCRIPTIONS_PER_CONNECTION,
        instrument_listing=LISTING,
    )
)
"""The ``coinbase`` venue, as registered."""

__all__ = ["SPEC", "VENUE_ID"]
