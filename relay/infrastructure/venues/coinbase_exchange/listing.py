"""Coinbase Exchange's instrument listing: ``GET /products``, online products as spot.

Source: https://docs.cdp.coinbase.com/api-reference/exchange-api/rest-api/products/get-all-known-trading-pairs
"""

from __future__ import annotations

import orjson

from relay.infrastructure.venues.common import wire
from relay.infrastructure.venues.registry import (
    InstrumentListing,
    ListedInstrument,
    ListingRequest,
)

DEFAULT_REST_URL = "https://api.exchange.coinbase.com"


def parse_products(request: ListingRequest, body: bytes) -> list[ListedInstrument]:
    """``GET /products``: every product whose ``status`` is ``online``, as ``BASE/QUOTE`` spot.

    Shape (fields as in the documented product objects)::

        [{"id":"BTC-USD","base_currency":"BTC","quote_currency":"USD",
          "status":"online",...}, ...]

    Raises:
        ValueError: the body is not a JSON list of product objects.
    """
    products = orjson.loads(body)
    if not isinstance(products, list):
        raise ValueError("expected a JSON list of products")
    listed: list[ListedInstrument] = []
    for product in products:
        if not isinstance(product, dict):
            raise ValueError(f"expected a product object, got {product!r}")
        if product.get("status", "online") != "online":
            continue
        product_id = wire.text("id", product["id"])
        base = wire.text("base_currency", product["base_currency"])
        quote = wire.text("quote_currency", product["quote_currency"])
        listed.append(ListedInstrument(product_id, f"{base}/{quote}", "spot"))
    return listed


LISTING = InstrumentListing((ListingRequest("/products"),), parse_products)
"""How ``relay instruments`` lists the Exchange's products: one request."""
