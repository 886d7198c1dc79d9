"""Hyperliquid public WebSocket (perpetuals and spot): trades, bbo, l2Book, activeAssetCtx, candle.

Sources (no recorded session of this venue exists in ``shared/captures``; the
formats parsed here follow these pages):

- Subscriptions, channel names and the data types ``WsTrade``, ``WsBook``,
  ``WsBbo``, ``WsLevel``, ``Candle``, ``WsActiveAssetCtx``:
  https://hyperliquid.gitbook.io/hyperliquid-docs/for-developers/api/websocket/subscriptions
- The connection URL and the ``subscriptionResponse`` acknowledgement:
  https://hyperliquid.gitbook.io/hyperliquid-docs/for-developers/api/websocket
- Keepalive (the server closes a connection it has not heard from in 60 s;
  ``{"method":"ping"}`` is answered by ``{"channel":"pong"}``):
  https://hyperliquid.gitbook.io/hyperliquid-docs/for-developers/api/websocket/timeouts-and-heartbeats
- Limits per IP (1000 WebSocket subscriptions, 2000 messages sent per minute
  across all connections, REST weight 1200 per minute):
  https://hyperliquid.gitbook.io/hyperliquid-docs/for-developers/api/rate-limits
- Documented example bodies: the ``l2Book`` snapshot and ``candleSnapshot``
  responses of the info endpoint (the same ``WsBook`` / ``Candle`` shapes,
  prices as strings):
  https://hyperliquid.gitbook.io/hyperliquid-docs/for-developers/api/info-endpoint ;
  ``meta`` and ``metaAndAssetCtxs`` (asset contexts with ``funding``,
  ``openInterest``, ``markPx``, ``oraclePx`` as strings):
  https://hyperliquid.gitbook.io/hyperliquid-docs/for-developers/api/info-endpoint/perpetuals ;
  ``spotMeta``: https://hyperliquid.gitbook.io/hyperliquid-docs/for-developers/api/info-endpoint/spot
- The error frame ``{"channel":"error","data":"<text>"}`` is not on those
  pages; its shape is the one ccxt's Hyperliquid adapter quotes (``ccxt/ccxt``,
  ``ts/src/pro/hyperliquid.ts``, ``handleErrorMessage``).

The TypeScript types of the subscriptions page declare ``Candle`` prices and
the asset context fields as ``number``, while the documented example bodies
send them as strings. Both are accepted: those two (low-rate) channels are
decoded by :func:`relay.infrastructure.venues.common.wire.exact_object`
(``parse_float=Decimal``), so a JSON number keeps
the venue's digits; every other channel must send strings (``px``, ``sz``).

One subscription per channel and coin, one subscribe frame each (the venue has
no batch subscribe): a config entry opens at most five: ``trades`` (trade),
``bbo`` (ticker), ``l2Book`` (l2_orderbook), ``activeAssetCtx`` (funding_rate
and open_interest, shared) and ``candle`` (candle, the entry's
``candle_interval``; the venue offers 1m 3m 5m 15m 30m 1h 2h 4h 8h 12h 1d 3d
1w 1M, :data:`.parse.CANDLE_INTERVALS`, and any other is refused when the
protocol is built).

Book integrity: every ``l2Book`` message is a full snapshot of the top levels
(``WsBook``: "Snapshot feed, pushed on each block that is at least 0.5 since
last push"), so each accepted message is published as an ``is_snapshot=True``
:class:`~relay.domain.model.L2Update` holding exactly the venue's levels. A
snapshot is accepted only when its bids are strictly descending, its asks
strictly ascending, every size is > 0 and the best bid is below the best ask;
otherwise it is refused as ``invalid_value`` and the previous published book
stands until the next snapshot. A message whose ``time`` is not newer than the
last accepted one of the same channel and coin (``l2Book``, ``bbo``) is stale or
repeated: it is skipped as ``stale_update`` and nothing is published (unless it
is more than :data:`~.book.STALE_WINDOW_MS` older: then the last one's time came from a
corrupted frame, 2**63-1 say, and would otherwise make every later message stale;
the message is taken; likewise a candle more than :data:`~.protocol.STALE_CANDLE_WINDOW_MS`
older than the held one). No
resync is ever needed for the venue's sake, so frames give no
:class:`~relay.application.ports.BookResync`: the next snapshot replaces the
book whole. A resync asked for by the relay (:meth:`HyperliquidProtocol.resync_books`)
forgets the book's last ``time``, so the next message is published whatever
its time, and is reported as a ``BookResync`` to be counted. Each coin's
:class:`~.book.L2Book` holds its sync gate (synced once a message is taken,
resyncing from a resync until the next one); it publishes nothing differently.

Depth: ``l2Book`` has a fixed number of levels per side (20, aggregated at full
price precision: no ``nSigFigs`` is sent, ``nSigFigs`` only coarsens prices).
Every ``depth`` maps to that one channel: 0 and 1..20 give the 20-level book,
a depth above 20 is capped at 20 (the public WebSocket offers nothing deeper).

Canonical symbols: perpetuals are margined and settled in USDC, so the coin
``BTC`` is ``BTC/USDC:PERP``; a spot pair is ``BASE/QUOTE`` from its tokens
(``PURR/USDC``, or ``HFUN/USDC`` for the pair the venue calls ``@1``).

FrameError reasons raised here: ``not_json``, ``unknown_event``,
``missing_field``, ``invalid_value``, ``unsubscribed``, ``stale_update``,
``subscribe_error`` (an ``error`` frame) and ``one_sided_book`` (a ``bbo``
with a missing side, which a ticker cannot express).
"""

from __future__ import annotations

from relay.domain.model import DataType
from relay.infrastructure.venues.hyperliquid.listing import (
    PERP_LISTING,
    SPOT_LISTING,
    parse_listing,
)
from relay.infrastructure.venues.hyperliquid.protocol import (
    MAX_ENTRIES_PER_CONNECTION,
    SUBSCRIBE_INTERVAL_S,
    WS_URL,
    HyperliquidProtocol,
)
from relay.infrastructure.venues.registry import InstrumentListing, VenueSpec, register

__all__ = ["VENUE_ID"]

VENUE_ID = "hyperliquid"
REST_URL = "https://api.hyperliquid.xyz"

register(
    VenueSpec(
        id=VENUE_ID,
        data_types=frozenset(
            {
                DataType.TRADE,
                DataType.TICKER,
                DataType.L2_ORDERBOOK,
                DataType.FUNDING_RATE,
                DataType.OPEN_INTEREST,
                DataType.CANDLE,
            }
        ),
        default_ws_url=WS_URL,
        default_rest_url=REST_URL,
        protocol_factory=HyperliquidProtocol,
        docs=(
            "https://hyperliquid.gitbook.io/hyperliquid-docs/for-developers/api/websocket",
            "https://hyperliquid.gitbook.io/hyperliquid-docs/for-developers/api/websocket/subscriptions",
            "https://hyperliquid.gitbook.io/hyperliquid-docs/for-developers/api/websocket/timeouts-and-heartbeats",
            "https://hyperliquid.gitbook.io/hyperliquid-docs/for-developers/api/rate-limits",
            "https://hyperliquid.gitbook.io/hyperliquid-docs/for-developers/api/info-endpoint",
        ),
        rest_weight_per_minute=1200,
        subscribe_interval_s=SUBSCRIBE_INTERVAL_S,
        max_subscriptions_per_connection=MAX_ENTRIES_PER_CONNECTION,
        instrument_listing=InstrumentListing((PERP_LISTING, SPOT_LISTING), parse_listing),
    )
)
