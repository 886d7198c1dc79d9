"""Coinbase Exchange's instrument listing on the documented product objects.

Documents followed (see the module docstring of
``relay.infrastructure.venues.coinbase_exchange``):
https://docs.cdp.coinbase.com/exchange/websocket-feed/channels (heartbeat example),
https://docs.cloud.coinbase.com/exchange/docs/websocket-overview (error example),
https://docs.cdp.coinbase.com/exchange/websocket-feed/rate-limits (limits).
"""

from __future__ import annotations

import orjson
import pytest
from support.coinbase_exchange_frames import VENUE

from relay.infrastructure.venues.coinbase_exchange.listing import parse_products
from relay.infrastructure.venues.registry import ListingRequest, venue_spec

# --- listing and simulated venue -----------------------------------------------------------------


def test_products_listing_parses_the_documented_product_objects() -> None:
    """Product fields as in the status channel example of
    https://docs.cdp.coinbase.com/exchange/websocket-feed/channels and
    https://docs.cdp.coinbase.com/api-reference/exchange-api/rest-api/products/get-all-known-trading-pairs.
    """
    listing = venue_spec(VENUE).instrument_listing
    assert listing is not None
    assert listing.requests == (ListingRequest("/products"),)
    body = orjson.dumps(
        [
            {
                "id": "BTC-USD",
                "base_currency": "BTC",
                "quote_currency": "USD",
                "base_increment": "0.00000001",
                "quote_increment": "0.01",
                "display_name": "BTC-USD",
                "status": "online",
                "status_message": None,
                "min_market_funds": "10",
                "post_only": False,
                "limit_only": False,
                "cancel_only": False,
                "fx_stablecoin": False,
            },
            {
                "id": "BAND-GBP",
                "base_currency": "BAND",
                "quote_currency": "GBP",
                "status": "delisted",
            },
        ]
    )
    [listed] = listing.parse(listing.requests[0], body)
    assert (listed.instrument, listed.canonical_symbol, listed.kind) == (
        "BTC-USD",
        "BTC/USD",
        "spot",
    )
    with pytest.raises(ValueError):
        parse_products(listing.requests[0], b'{"message": "NotFound"}')
