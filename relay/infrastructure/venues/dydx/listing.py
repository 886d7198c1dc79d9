"""dYdX's instrument listing: ``GET /v4/perpetualMarkets`` of the indexer, canonical symbols.

Source: the indexer REST API, "Get Perpetual Markets"
(https://docs.dydx.exchange/api_integration-indexer/indexer_api; the WebSocket
page's ``v4_markets`` ``subscribed`` example shows the same body:
``{"markets":{"BTC-USD":{"clobPairId":"0","ticker":"BTC-USD","status":"ACTIVE",...}}}``).

Every dYdX v4 market is a USDC-margined perpetual named ``<base>-USD``; its
ticker is the instrument (``BTC-USD`` -> ``BTC/USD:PERP``). Markets whose
``status`` is not ``ACTIVE`` (``PAUSED``, ``CANCEL_ONLY``, ``POST_ONLY``,
``INITIALIZING``, ``FINAL_SETTLEMENT``) are left out.
"""

from __future__ import annotations

import orjson

from relay.domain.errors import InvalidValueError
from relay.infrastructure.venues.common import wire
from relay.infrastructure.venues.registry import (
    InstrumentListing,
    ListedInstrument,
    ListingRequest,
)

REST_URL = "https://indexer.dydx.trade"
"""The indexer's public REST base (the WebSocket page's host)."""


def canonical_symbol(ticker: str) -> str:
    """``BTC-USD`` -> ``BTC/USD:PERP``; a ticker without ``-`` -> ``<ticker>:PERP``."""
    base, _, quote = ticker.partition("-")
    return f"{base}/{quote}:PERP" if quote else f"{ticker}:PERP"


def parse_listing(request: ListingRequest, body: bytes) -> list[ListedInstrument]:
    """The active markets of a ``/v4/perpetualMarkets`` body, in the body's order.

    Raises:
        ValueError: the body is not JSON of that shape (the message names the field).
    """
    try:
        return _parse(body)
    except InvalidValueError as exc:
        raise ValueError(str(exc)) from None


def _parse(body: bytes) -> list[ListedInstrument]:
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"not JSON: {exc}") from None
    markets = wire.json_object("markets", wire.json_object("body", document).get("markets"))
    result = []
    for name, raw in markets.items():
        market = wire.json_object(name, raw)
        if market.get("status") != "ACTIVE":
            continue
        ticker = wire.text("ticker", market.get("ticker", name))
        if not ticker:
            raise InvalidValueError("ticker", ticker, "expected a market ticker")
        result.append(ListedInstrument(ticker, canonical_symbol(ticker), "perpetual"))
    return result


LISTING = InstrumentListing((ListingRequest("/v4/perpetualMarkets"),), parse_listing)
"""``relay instruments dydx``."""
