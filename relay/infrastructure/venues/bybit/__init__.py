"""Bybit v5 public WebSocket: spot, linear (USDT/USDC contracts) and inverse contracts.

Sources (no recorded Bybit session exists in ``shared/captures``; every format
parsed here follows the documented examples of these pages, as stored in the
``bybit-exchange/docs`` repository and on bybit-exchange.github.io):

- Connect, limits, ping/pong, subscribe acks: https://bybit-exchange.github.io/docs/v5/ws/connect
- Orderbook: https://bybit-exchange.github.io/docs/v5/websocket/public/orderbook
- Trade: https://bybit-exchange.github.io/docs/v5/websocket/public/trade
- Ticker: https://bybit-exchange.github.io/docs/v5/websocket/public/ticker
- Kline: https://bybit-exchange.github.io/docs/v5/websocket/public/kline
- All Liquidation: https://bybit-exchange.github.io/docs/v5/websocket/public/all-liquidation
- Instruments: https://bybit-exchange.github.io/docs/v5/market/instrument

Every data frame is ``{"topic": "<kind>.<...>.<SYMBOL>", "type": "snapshot"|"delta",
"ts": <ms>, "data": ...}``; control frames carry ``"op"`` instead of ``"topic"``.

Topics per data type (one ``[[venues.subscriptions]]`` entry opens at most five):

============== ======================================= =====================
data type      linear / inverse                        spot
============== ======================================= =====================
trade          ``publicTrade.<S>``                     ``publicTrade.<S>``
ticker         ``tickers.<S>`` (``bid1Price``...)      ``orderbook.1.<S>``
l2_orderbook   ``orderbook.<depth>.<S>``               ``orderbook.<depth>.<S>``
funding_rate   ``tickers.<S>``                         --
open_interest  ``tickers.<S>``                         --
liquidation    ``allLiquidation.<S>``                  --
candle         ``kline.<interval>.<S>``                ``kline.<interval>.<S>``
============== ======================================= =====================

Spot tickers carry no best bid/ask in v5 (the documented spot ticker has
``lastPrice``, ``highPrice24h``... only), so the spot ``ticker`` comes from the
level 1 order book ``orderbook.1.<S>``, kept and verified like any other book.

Linear/inverse tickers send a ``snapshot`` and then ``delta`` messages holding
only the changed fields ("If a response param is not found in the message,
then its value has not changed"): deltas are merged onto the last snapshot,
and each data type is published when the message carried at least one of its
fields (ticker: ``bid1Price``, ``bid1Size``, ``ask1Price``, ``ask1Size``;
funding_rate: ``fundingRate``, ``nextFundingTime``, ``markPrice``,
``indexPrice``; open_interest: ``openInterest``), from the merged values.
Dated futures send ``"fundingRate": ""`` and publish no funding_rate.

Depth mapping (the orderbook page's "Depths": linear, inverse and spot all offer
1, 50, 200 and 1000 levels; 500 was withdrawn for linear/inverse): ``depth = N``
subscribes the smallest offered depth >= N, 1000 for N > 1000, and 50 (the
documented example's depth, 20 ms pushes) for ``depth = 0``.

Book procedure (one :class:`~.book.TopicBook` per ``orderbook.*`` topic): a
``snapshot`` replaces the book (also one with ``u == 1``, sent after a venue
service restart); each ``delta`` must carry ``u == previous u + 1``. A delta
whose ``u`` is not newer than the book's (and at most
:data:`~.book.STALE_WINDOW_UPDATES` behind it) is skipped as ``stale_update``; one
further behind is a break (the book's ``u`` came from a corrupted frame, e.g.
a snapshot with ``u`` = 2**63-1, and would make every later delta stale). A
break throws the book away and reports a ``gap`` resync; a delta leaving the
book crossed (best bid >= best ask) reports ``crossed_book``. Either way the
one topic is unsubscribed and subscribed again (the frames go in
:attr:`FrameOutcome.replies`) and nothing more is published for that book until
the fresh snapshot arrives. Deltas reaching a book that awaits its snapshot are
dropped without an error (trailing deltas of the old subscription).

Keepalive: ``{"op":"ping"}`` every 20 s (the connect page recommends 20 s); the
answer (``{"success":true,"ret_msg":"pong",...,"op":"ping"}`` or
``{"op":"pong",...}``) gives an empty outcome, as do subscribe/unsubscribe
acks with ``"success": true``.

Limits (connect page, "Public channel - Args limits"): the ``args`` of one
public connection may not exceed 21,000 characters; spot takes at most 10
args per subscribe request, linear/inverse have no per-request limit. So spot
subscribe frames carry 10 topics each, linear/inverse one frame carries them
all; ``max_subscriptions_per_connection`` keeps a connection's args under
21,000 characters (see :data:`~.protocol.MAX_TOPIC_CHARS`). No subscribe rate is
documented; frames are spaced by :data:`~.protocol.SUBSCRIBE_INTERVAL_S` as a courtesy.

Canonical symbols (listing): spot ``BTCUSDT`` -> ``BTC/USDT``; linear
perpetual ``BTCUSDT`` -> ``BTC/USDT:PERP``; inverse perpetual ``BTCUSD`` ->
``BTC/USD:PERP``; dated futures ``<base>/<quote>:<YYYYMMDD>`` of their delivery day (UTC).

FrameError reasons raised here: ``not_json``, ``unknown_event``, ``missing_field``,
``invalid_value``, ``unsubscribed``, ``stale_update``, ``subscribe_error`` (a
subscribe or unsubscribe answered with ``"success": false``) and ``bad_snapshot``
(:meth:`BybitProtocol.on_snapshot`: Bybit needs no REST snapshot).
"""

from __future__ import annotations

from collections.abc import Callable

from relay.application.ports import VenueProtocol
from relay.config.model import VenueConfig
from relay.domain.model import DataType
from relay.infrastructure.venues.bybit.listing import parse_instruments
from relay.infrastructure.venues.bybit.protocol import (
    INVERSE,
    LINEAR,
    SPOT,
    SUBSCRIBE_INTERVAL_S,
    BybitMarket,
    BybitProtocol,
    Category,
)
from relay.infrastructure.venues.registry import (
    InstrumentListing,
    ListingRequest,
    VenueSpec,
    register,
)

__all__ = ["VENUE_IDS"]

VENUE_IDS = ("bybit-spot", "bybit-linear", "bybit-inverse")
"""The venue ids this package registers."""


def _factory(market: BybitMarket, default_ws_url: str) -> Callable[[VenueConfig], VenueProtocol]:
    def build(config: VenueConfig) -> VenueProtocol:
        return BybitProtocol(config, market, default_ws_url)

    return build


_SPOT_TYPES = frozenset({DataType.TRADE, DataType.TICKER, DataType.L2_ORDERBOOK, DataType.CANDLE})
_DERIVATIVE_TYPES = _SPOT_TYPES | {
    DataType.FUNDING_RATE,
    DataType.OPEN_INTEREST,
    DataType.LIQUIDATION,
}

_DOCS = "https://bybit-exchange.github.io/docs/v5/"
DOCS = (
    _DOCS + "ws/connect",
    _DOCS + "websocket/public/orderbook",
    _DOCS + "websocket/public/trade",
    _DOCS + "websocket/public/ticker",
    _DOCS + "websocket/public/kline",
    _DOCS + "websocket/public/all-liquidation",
    _DOCS + "market/instrument",
)


def _register(venue_id: str, market: BybitMarket, data_types: frozenset[DataType]) -> None:
    ws_url = f"wss://stream.bybit.com/v5/public/{market.category.value}"
    listing = ListingRequest(
        f"/v5/market/instruments-info?category={market.category.value}"
        + ("" if market.category is Category.SPOT else "&limit=1000")
    )
    register(
        VenueSpec(
            id=venue_id,
            data_types=data_types,
            default_ws_url=ws_url,
            default_rest_url="https://api.bybit.com",
            protocol_factory=_factory(market, ws_url),
            docs=DOCS,
            subscribe_interval_s=SUBSCRIBE_INTERVAL_S,
            max_subscriptions_per_connection=market.max_subscriptions_per_connection,
            instrument_listing=InstrumentListing((listing,), parse_instruments),
            live_subscribe=True,
        )
    )


_register("bybit-spot", SPOT, _SPOT_TYPES)
_register("bybit-linear", LINEAR, _DERIVATIVE_TYPES)
_register("bybit-inverse", INVERSE, _DERIVATIVE_TYPES)
