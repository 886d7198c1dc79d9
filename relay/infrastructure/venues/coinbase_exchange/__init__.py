"""Coinbase Exchange WebSocket feed (``wss://ws-feed.exchange.coinbase.com``): book, trades, ticker.

This is the Exchange feed (formerly Coinbase Pro), not the Advanced Trade API.
The package: :mod:`.parse` (levels, changes, matches, tickers, digests),
:mod:`.book` (the full book per product, its crossed-book rule and dedup part),
:mod:`.protocol` (the subscribe frame, frames -> events, sequence checks,
resyncs), :mod:`.listing` (``relay instruments``); importing it registers the
``coinbase-exchange`` venue.

Sources (the formats parsed follow the recorded session
``coinbase-exchange.jsonl`` in ``shared/captures``, recorded 2021-04 on the same
protocol, and these pages):

- Channels (heartbeat, ticker, level2, level2_batch, matches; the heartbeat
  example message): https://docs.cdp.coinbase.com/exchange/websocket-feed/channels
- Overview (subscribe / unsubscribe, ``subscriptions`` answers, ``error``
  messages, "clients are expected to ignore messages they do not support"):
  https://docs.cloud.coinbase.com/exchange/docs/websocket-overview and
  https://coinbase-migration.mintlify.app/coinbase-exchange/websocket-feed/overview
- Limits (10 inbound messages per second, 1000 burst; 10 subscriptions per
  product and channel per account; "users can subscribe/unsubscribe to multiple
  channels and products within a single inbound message"):
  https://docs.cdp.coinbase.com/exchange/websocket-feed/rate-limits
- Products listing: https://docs.cdp.coinbase.com/api-reference/exchange-api/rest-api/products/get-all-known-trading-pairs
- Which side a match's ``side`` names: see :mod:`.parse`.

FrameError reasons raised here: ``not_json``, ``unknown_event``,
``missing_field``, ``invalid_value``, ``unsubscribed``, ``unsynced`` (an
``l2update`` for a book without a snapshot), ``stale_update`` (a duplicate or
out-of-order ``ticker`` or ``match``), ``subscribe_error`` (an ``error``
message).
"""

from __future__ import annotations

from relay.domain.model import DataType
from relay.infrastructure.venues.coinbase_exchange.listing import DEFAULT_REST_URL, LISTING
from relay.infrastructure.venues.coinbase_exchange.protocol import (
    DEFAULT_WS_URL,
    SUBSCRIBE_INTERVAL_S,
    CoinbaseExchangeProtocol,
)
from relay.infrastructure.venues.registry import VenueSpec, register

VENUE_ID = "coinbase-exchange"
"""The venue id in config and subjects."""

_DOCS = (
    "https://docs.cdp.coinbase.com/exchange/websocket-feed/channels",
    "https://docs.cloud.coinbase.com/exchange/docs/websocket-overview",
    "https://docs.cdp.coinbase.com/exchange/websocket-feed/rate-limits",
    "https://docs.cdp.coinbase.com/api-reference/exchange-api/rest-api/products/"
    "get-all-known-trading-pairs",
)

SPEC = register(
    VenueSpec(
        id=VENUE_ID,
        data_types=frozenset({DataType.TRADE, DataType.TICKER, DataType.L2_ORDERBOOK}),
        default_ws_url=DEFAULT_WS_URL,
        default_rest_url=DEFAULT_REST_URL,
        protocol_factory=CoinbaseExchangeProtocol,
        docs=_DOCS,
        subscribe_interval_s=SUBSCRIBE_INTERVAL_S,
        instrument_listing=LISTING,
    )
)
"""The ``coinbase-exchange`` venue, as registered."""

__all__ = ["SPEC", "VENUE_ID"]
