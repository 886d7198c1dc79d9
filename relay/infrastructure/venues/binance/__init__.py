"""Binance spot, USD-M and COIN-M futures: combined-stream WebSocket + REST depth snapshots.

Sources (the formats parsed here follow these pages and the recorded sessions
``binance-spot.jsonl``, ``binance-usdm.jsonl``, ``binance-coinm.jsonl`` in
``shared/captures``):

- Spot streams and the spot book procedure:
  https://developers.binance.com/docs/binance-spot-api-docs/web-socket-streams
- USD-M streams: https://developers.binance.com/docs/derivatives/usds-margined-futures/websocket-market-streams
  (Aggregate-Trade-Streams, Diff-Book-Depth-Streams, Individual-Symbol-Book-Ticker-Streams,
  Kline-Candlestick-Streams, Mark-Price-Stream, Liquidation-Order-Streams,
  How-to-manage-a-local-order-book-correctly)
- COIN-M streams: https://developers.binance.com/docs/derivatives/coin-margined-futures/websocket-market-streams

Every frame of a combined stream is ``{"stream": "<symbol>@<kind>", "data": {...}}``.

Book procedure (one :class:`~.book.BookSync` per instrument): buffer diffs, fetch the
REST snapshot, drop diffs older than ``lastUpdateId``, require the first kept
diff to straddle it, then require continuity: ``U == previous u + 1`` on spot,
``pu == previous u`` on futures. A break publishes nothing more for that book
until a new snapshot is in, and is reported as a ``gap`` resync. A diff of a
synced book whose ``u`` is not newer than the book (a duplicate or out-of-order
update) is skipped as ``stale_update``. A diff that leaves the relay's book
crossed (best bid >= best ask) means the book is wrong: the sync restarts as
for a gap, with a ``crossed_book`` resync.

REST polls (:mod:`.rest`): futures open interest, only offered over REST, is
polled every ``rest_poll_interval_s``; while the WebSocket is down longer than
``rest_fallback_after_s``, trades (aggregate trades lists) and tickers (book
tickers) are polled on all three, with the WebSocket's message ids.

FrameError reasons raised here: ``not_json``, ``unknown_event``, ``missing_field``,
``invalid_value``, ``unsubscribed``, ``stale_update`` (from :meth:`BinanceProtocol.on_frame`)
and ``bad_snapshot`` (from :meth:`BinanceProtocol.on_snapshot`).

The package: :mod:`.parse` (frames and REST bodies), :mod:`.book` (the book
procedure), :mod:`.protocol` (the connection), :mod:`.listing` (``exchangeInfo``),
:mod:`.rest` (the REST-polled endpoints); this module registers the three venue ids.
"""

from __future__ import annotations

from collections.abc import Callable

from relay.application.ports import VenueProtocol
from relay.application.rest_polls import RestPolling
from relay.config.model import VenueConfig
from relay.domain.model import DataType
from relay.infrastructure.venues.binance.listing import exchange_info
from relay.infrastructure.venues.binance.protocol import (
    COINM,
    SPOT,
    USDM,
    BinanceMarket,
    BinanceProtocol,
)
from relay.infrastructure.venues.binance.rest import COINM_POLLING, SPOT_POLLING, USDM_POLLING
from relay.infrastructure.venues.registry import (
    InstrumentListing,
    ListingRequest,
    VenueSpec,
    register,
)

__all__ = ["VENUE_IDS"]

VENUE_IDS = ("binance-spot", "binance-usdm", "binance-coinm")
"""The venue ids this package registers."""

STREAMS_PER_SUBSCRIPTION = 6
"""Streams one subscription can open: trade, ticker, book, candle, mark price, liquidation.
A connection carries at most its streams limit (spot 1024, futures 200) divided by this."""

SUBSCRIBE_INTERVAL_S = 0.2
"""Binance accepts 5 incoming messages per second per connection (spot: 5, futures: 10)."""


def _factory(market: BinanceMarket, default_ws_url: str) -> Callable[[VenueConfig], VenueProtocol]:
    def build(config: VenueConfig) -> VenueProtocol:
        return BinanceProtocol(config, market, default_ws_url)

    return build


_SPOT_TYPES = frozenset({DataType.TRADE, DataType.TICKER, DataType.L2_ORDERBOOK, DataType.CANDLE})
_FUTURES_TYPES = _SPOT_TYPES | {
    DataType.FUNDING_RATE,
    DataType.LIQUIDATION,
    DataType.OPEN_INTEREST,
}


def _register(
    venue_id: str,
    market: BinanceMarket,
    data_types: frozenset[DataType],
    ws_url: str,
    rest_url: str,
    doc: str,
    rest_weight_per_minute: int,
    listing_path: str,
    max_streams: int,
    rest_polling: RestPolling,
) -> None:
    register(
        VenueSpec(
            id=venue_id,
            data_types=data_types,
            default_ws_url=ws_url,
            default_rest_url=rest_url,
            protocol_factory=_factory(market, ws_url),
            docs=(doc,),
            rest_weight_per_minute=rest_weight_per_minute,
            max_connection_age_s=24 * 3600,
            subscribe_interval_s=SUBSCRIBE_INTERVAL_S,
            max_subscriptions_per_connection=max_streams // STREAMS_PER_SUBSCRIPTION,
            instrument_listing=InstrumentListing((ListingRequest(listing_path),), exchange_info),
            live_subscribe=True,
            rest_polling=rest_polling,
        )
    )


_DOCS = "https://developers.binance.com/docs/"
_register(
    "binance-spot",
    SPOT,
    _SPOT_TYPES,
    "wss://stream.binance.com:9443/stream",
    "https://api.binance.com",
    _DOCS + "binance-spot-api-docs/web-socket-streams",
    6000,
    "/api/v3/exchangeInfo",
    1024,
    SPOT_POLLING,
)
_register(
    "binance-usdm",
    USDM,
    _FUTURES_TYPES,
    "wss://fstream.binance.com/stream",
    "https://fapi.binance.com",
    _DOCS + "derivatives/usds-margined-futures/websocket-market-streams",
    2400,
    "/fapi/v1/exchangeInfo",
    200,
    USDM_POLLING,
)
_register(
    "binance-coinm",
    COINM,
    _FUTURES_TYPES,
    "wss://dstream.binance.com/stream",
    "https://dapi.binance.com",
    _DOCS + "derivatives/coin-margined-futures/websocket-market-streams",
    2400,
    "/dapi/v1/exchangeInfo",
    200,
    COINM_POLLING,
)
