"""dYdX v4 (indexer WebSocket): trades, books kept by message id, candles, funding, open interest.

The package: :mod:`.parse` (book levels, trades, candles, markets),
:mod:`.book` (one market's book, its level offsets and uncrossing),
:mod:`.continuity` (the connection's ``message_id`` numbering), :mod:`.protocol`
(subscribe frames, frames -> events, resyncs), :mod:`.listing` (``relay
instruments``, canonical symbols); importing it registers the ``dydx`` venue.

Sources (there is no recorded dYdX session; every format parsed comes from one
of these, and the tests use their examples):

- The indexer WebSocket page (endpoint, connect, keepalive, subscribe and
  unsubscribe, rate limiting, the ``v4_orderbook``, ``v4_trades`` and
  ``v4_markets`` examples):
  https://docs.dydx.exchange/api_integration-indexer/indexer_websocket
- Candles (``v4_candles``, id ``<ticker>/<resolution>``):
  https://docs.dydx.xyz/indexer-client/websockets and the indexer's
  ``CandleMessageContents`` (dydxprotocol/v4-chain,
  ``indexer/packages/postgres/src/types/websocket-message-types.ts``).
- Crossed books: https://docs.dydx.exchange/api_integration-guides/how_to_uncross_orderbook
- The indexer's socks service (numbering of ``message_id``, per-channel
  subscription limits, rate limits, heartbeat): dydxprotocol/v4-chain
  ``indexer/services/socks/src``.
- Listing: https://docs.dydx.exchange/api_integration-indexer/indexer_api
  (``GET /v4/perpetualMarkets``).
- Quirks: cryptofeed's ``cryptofeed/exchanges/dydx.py`` (v3 era: per-price
  offsets, an update older than a level's offset skipped; subscribe frames one
  per channel and market).

Book procedure: the ``subscribed`` answer of ``v4_orderbook`` is the book;
``channel_data`` levels replace levels; each level keeps the message id that
set it and crossed levels are removed as the uncrossing guide says (:mod:`.book`).
The connection's ``message_id`` numbering is checked (:mod:`.continuity`); a
gap resyncs the connection's books, each by ``unsubscribe`` + ``subscribe`` of
its ``v4_orderbook``, and a malformed update resyncs its own book (:mod:`.protocol`).

FrameError reasons raised here: ``not_json``, ``unknown_event``, ``missing_field``,
``invalid_value``, ``unsubscribed``, ``stale_update`` (a ``channel_data`` whose
``message_id`` is not above the connection's last) and ``subscribe_error`` (an
``error`` message).

BookResync reasons: ``gap`` (message ids skipped), ``bad_update`` (a book update
that cannot be read).
"""

from __future__ import annotations

from relay.domain.model import DataType
from relay.infrastructure.venues.dydx.listing import LISTING, REST_URL
from relay.infrastructure.venues.dydx.protocol import (
    MAX_SUBSCRIPTIONS_PER_CONNECTION,
    SUBSCRIBE_INTERVAL_S,
    WS_URL,
    DydxProtocol,
)
from relay.infrastructure.venues.registry import VenueSpec, register

VENUE_ID = "dydx"
"""The venue id in config and subjects."""

_DOCS = "https://docs.dydx.exchange"

SPEC = register(
    VenueSpec(
        id=VENUE_ID,
        data_types=frozenset(
            {
                DataType.TRADE,
                DataType.L2_ORDERBOOK,
                DataType.CANDLE,
                DataType.FUNDING_RATE,
                DataType.OPEN_INTEREST,
            }
        ),
        default_ws_url=WS_URL,
        default_rest_url=REST_URL,
        protocol_factory=DydxProtocol,
        docs=(
            _DOCS + "/api_integration-indexer/indexer_websocket",
            _DOCS + "/api_integration-guides/how_to_uncross_orderbook",
            _DOCS + "/api_integration-indexer/indexer_api",
            "https://docs.dydx.xyz/indexer-client/websockets",
        ),
        subscribe_interval_s=SUBSCRIBE_INTERVAL_S,
        max_subscriptions_per_connection=MAX_SUBSCRIPTIONS_PER_CONNECTION,
        instrument_listing=LISTING,
    )
)
"""The ``dydx`` venue, as registered."""

__all__ = ["SPEC", "VENUE_ID"]
