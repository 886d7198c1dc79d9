"""Gate.io spot and USDT futures: v4 WebSocket + REST order book snapshots.

Sources (the formats parsed here follow these pages and the recorded sessions
``gate-spot.jsonl`` and ``gate-futures.jsonl`` in ``shared/captures``):

- Spot WebSocket v4: https://www.gate.io/docs/developers/apiv4/ws/en/
  (``spot.trades``, ``spot.book_ticker``, ``spot.order_book_update``, ``spot.candlesticks``,
  ``spot.ping``; "How to maintain local order book")
- Futures WebSocket v4: https://www.gate.io/docs/developers/futures/ws/en/
  (``futures.trades``, ``futures.book_ticker``, ``futures.order_book_update``,
  ``futures.candlesticks``, ``futures.tickers`` for funding rate and open interest
  (``total_size``), ``futures.public_liquidates``, ``futures.ping``)
- REST v4: https://www.gate.io/docs/developers/apiv4/en/ (``GET /spot/order_book``,
  ``GET /futures/{settle}/order_book``, both with ``with_id=true``; public endpoints
  limited to 200 requests per 10 s per endpoint)

Book procedure (the shared update-id splice,
:class:`~relay.infrastructure.venues.common.update_id_book.BookSync`, spot continuity
on both markets): buffer ``order_book_update`` diffs, fetch the REST snapshot with
``with_id=true``, drop diffs with ``u <= id``, require the first kept diff to have
``U <= id + 1``, then ``U == previous u + 1``. A break is a ``gap`` resync of that
book (a new REST snapshot); a duplicate ``u`` is skipped as ``stale_update``; a
crossed book is a ``crossed_book`` resync. Both recordings chain this way (spot
172 diffs, futures 352, no break).

Keepalive: ``{"channel":"spot.ping"}`` / ``{"channel":"futures.ping"}`` every 10 s,
answered by ``*.pong``.

FrameError reasons raised here: ``not_json``, ``unknown_event``, ``subscribe_error``,
``missing_field``, ``invalid_value``, ``unsubscribed``, ``stale_update`` (from
:meth:`GateProtocol.on_frame`) and ``bad_snapshot`` (from :meth:`GateProtocol.on_snapshot`).

The package: :mod:`.parse` (frames and REST bodies), :mod:`.protocol` (the
connection), :mod:`.listing` (``relay instruments``); this module registers the two
venue ids.
"""

from __future__ import annotations

from collections.abc import Callable

from relay.application.ports import VenueProtocol
from relay.config.model import VenueConfig
from relay.domain.model import DataType
from relay.infrastructure.venues.gate.listing import FUTURES_LISTING, SPOT_LISTING, listing
from relay.infrastructure.venues.gate.protocol import SPOT, USDT_FUTURES, GateMarket, GateProtocol
from relay.infrastructure.venues.registry import InstrumentListing, VenueSpec, register

__all__ = ["VENUE_IDS"]

VENUE_IDS = ("gate-futures", "gate-spot")
"""The venue ids this package registers."""

REST_REQUESTS_PER_MINUTE = 1200
"""Public REST endpoints: 200 requests per 10 s per endpoint (1,200 a minute)."""

SUBSCRIBE_INTERVAL_S = 0.02
"""A small spacing between subscribe frames; Gate.io documents no subscribe rate limit."""


def _factory(market: GateMarket, default_ws_url: str) -> Callable[[VenueConfig], VenueProtocol]:
    def build(config: VenueConfig) -> VenueProtocol:
        return GateProtocol(config, market, default_ws_url)

    return build


_TYPES = frozenset({DataType.TRADE, DataType.TICKER, DataType.L2_ORDERBOOK, DataType.CANDLE})
_FUTURES_TYPES = _TYPES | {DataType.FUNDING_RATE, DataType.OPEN_INTEREST, DataType.LIQUIDATION}

for _venue_id, _types, _listing, _market, _ws_url, _doc in (
    (
        "gate-spot",
        _TYPES,
        SPOT_LISTING,
        SPOT,
        "wss://api.gateio.ws/ws/v4/",
        "https://www.gate.io/docs/developers/apiv4/ws/en/",
    ),
    (
        "gate-futures",
        _FUTURES_TYPES,
        FUTURES_LISTING,
        USDT_FUTURES,
        "wss://fx-ws.gateio.ws/v4/ws/usdt",
        "https://www.gate.io/docs/developers/futures/ws/en/",
    ),
):
    register(
        VenueSpec(
            id=_venue_id,
            data_types=_types,
            default_ws_url=_ws_url,
            default_rest_url="https://api.gateio.ws",
            protocol_factory=_factory(_market, _ws_url),
            docs=(_doc, "https://www.gate.io/docs/developers/apiv4/en/"),
            rest_weight_per_minute=REST_REQUESTS_PER_MINUTE,
            subscribe_interval_s=SUBSCRIBE_INTERVAL_S,
            instrument_listing=InstrumentListing((_listing,), listing),
        )
    )
