"""Coinbase Advanced Trade instrument listing on the List Public Products example.

No recorded session of this feed exists. The messages below are the example
messages of the channels page, https://docs.cdp.coinbase.com/coinbase-app/
advanced-trade-apis/websocket/websocket-channels (``CHANNELS``), copied as
published, or built from them by changing only ``type``, ``sequence_num`` and the
``updates`` levels (said so where it happens).
"""

from __future__ import annotations

import json

import pytest

from relay.infrastructure.venues.registry import ListingRequest, venue_spec

# The List Public Products example response (PRODUCTS), trimmed to the product's
# scalar fields; ``product_type`` is "UNKNOWN_PRODUCT_TYPE" in the example and is
# set here to "SPOT", one of the enum values the page documents.
PRODUCT = {
    "product_id": "BTC-USD",
    "price": "140.21",
    "price_percentage_change_24h": "9.43%",
    "volume_24h": "1908432",
    "volume_percentage_change_24h": "9.43%",
    "base_increment": "0.00000001",
    "quote_increment": "0.00000001",
    "quote_min_size": "0.00000001",
    "quote_max_size": "1000",
    "base_min_size": "0.00000001",
    "base_max_size": "1000",
    "base_name": "Bitcoin",
    "quote_name": "US Dollar",
    "watched": True,
    "is_disabled": False,
    "new": True,
    "status": "<string>",
    "cancel_only": True,
    "limit_only": True,
    "post_only": True,
    "trading_disabled": False,
    "auction_mode": True,
    "base_display_symbol": "BTC",
    "quote_display_symbol": "USD",
    "product_type": "SPOT",
    "quote_currency_id": "USD",
    "base_currency_id": "BTC",
    "mid_market_price": "140.22",
    "alias": "BTC-USD",
    "alias_to": ["BTC-USDC"],
    "view_only": True,
    "price_increment": "0.00000001",
    "display_name": "BTC PERP",
    "product_venue": "neptune",
    "approximate_quote_24h_volume": "1908432",
}


def test_listing_parses_the_documented_products_response() -> None:
    """PRODUCTS example response: BTC-USD is the spot instrument BTC/USD."""
    listing = venue_spec("coinbase").instrument_listing
    assert listing is not None
    [request] = listing.requests
    assert request == ListingRequest("/api/v3/brokerage/market/products?product_type=SPOT")
    body = json.dumps({"products": [PRODUCT], "num_products": 100}).encode()
    from relay.infrastructure.venues.registry import ListedInstrument

    assert listing.parse(request, body) == [ListedInstrument("BTC-USD", "BTC/USD", "spot")]


def test_listing_leaves_out_aliases_disabled_and_non_spot_products() -> None:
    """PRODUCTS example product, varied: BTC-USDC is an alias of BTC-USD (CHANNELS notes
    -USDC products send the -USD data); the documented UNKNOWN_PRODUCT_TYPE is left out."""
    listing = venue_spec("coinbase").instrument_listing
    assert listing is not None
    products = [
        PRODUCT,
        {**PRODUCT, "product_id": "BTC-USDC", "quote_currency_id": "USDC", "alias_to": []},
        {
            **PRODUCT,
            "product_id": "ETH-EUR",
            "base_currency_id": "ETH",
            "quote_currency_id": "EUR",
            "alias": "",
        },
        {**PRODUCT, "product_id": "XYZ-USD", "is_disabled": True, "alias": ""},
        {**PRODUCT, "product_id": "BIP-20DEC30-CDE", "product_type": "FUTURE", "alias": ""},
        {**PRODUCT, "product_type": "UNKNOWN_PRODUCT_TYPE"},
    ]
    body = json.dumps({"products": products}).encode()
    assert [
        (i.instrument, i.canonical_symbol) for i in listing.parse(listing.requests[0], body)
    ] == [("BTC-USD", "BTC/USD"), ("ETH-EUR", "ETH/EUR")]


@pytest.mark.parametrize("body", [b"<html>", b"[]", b'{"products": [1]}', b'{"error": "x"}'])
def test_listing_refuses_a_body_it_cannot_read(body: bytes) -> None:
    listing = venue_spec("coinbase").instrument_listing
    assert listing is not None
    with pytest.raises(ValueError):
        listing.parse(listing.requests[0], body)
