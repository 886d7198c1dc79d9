"""Coinbase Advanced Trade's instrument listing: the public products, spot only.

Source: https://docs.cdp.coinbase.com/api-reference/advanced-trade-api/rest-api/public/list-public-products
"""

from __future__ import annotations

import orjson

from relay.infrastructure.venues.registry import (
    InstrumentListing,
    ListedInstrument,
    ListingRequest,
)

REST_URL = "https://api.coinbase.com"

PRODUCTS_DOC = (
    "https://docs.cdp.coinbase.com/api-reference/advanced-trade-api/rest-api/public/"
    "list-public-products"
)

PRODUCTS_PATH = "/api/v3/brokerage/market/products?product_type=SPOT"
"""The public products listing, spot products only."""

REST_REQUESTS_PER_MINUTE = 600
"""Public REST requests: 10 per second (the Advanced Trade REST rate-limit page is
not in the searchable documents; ccxt's coinbase module states this figure). Only
the instrument listing uses REST."""


def parse_products(request: ListingRequest, body: bytes) -> list[ListedInstrument]:
    """The public products listing -> spot instruments (``BTC-USD`` -> ``BTC/USD``).

    Shape (trimmed from the List Public Products example response)::

        {"products":[{"product_id":"BTC-USD","base_display_symbol":"BTC",
          "quote_display_symbol":"USD","product_type":"SPOT","quote_currency_id":"USD",
          "base_currency_id":"BTC","is_disabled":false,"alias":"BTC-USD",
          "alias_to":["BTC-USDC"],...}],"num_products":100}

    Left out: non-spot products, disabled ones, and aliases (a product whose
    ``alias`` names another product, like ``BTC-USDC`` -> ``BTC-USD``: the
    market data channels send the aliased product's data).

    Raises:
        ValueError: the body is not JSON or not of that shape.
    """
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"products: not JSON: {exc}") from None
    if not isinstance(document, dict) or not isinstance(document.get("products"), list):
        raise ValueError("products: expected an object with a products list")
    listed: list[ListedInstrument] = []
    for product in document["products"]:
        if not isinstance(product, dict) or not isinstance(product.get("product_id"), str):
            raise ValueError(f"products: malformed product {str(product)[:80]}")
        product_id: str = product["product_id"]
        if product.get("product_type") != "SPOT" or product.get("is_disabled") is True:
            continue
        alias = product.get("alias")
        if isinstance(alias, str) and alias and alias != product_id:
            continue
        base = product.get("base_currency_id")
        quote = product.get("quote_currency_id")
        if not (isinstance(base, str) and base and isinstance(quote, str) and quote):
            base, _, quote = product_id.partition("-")
        listed.append(ListedInstrument(product_id, f"{base}/{quote}", "spot"))
    return listed


LISTING = InstrumentListing((ListingRequest(PRODUCTS_PATH),), parse_products)
"""How ``relay instruments`` lists Coinbase's spot products: one request."""
