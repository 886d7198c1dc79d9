"""Kraken's instrument listing: ``GET /0/public/AssetPairs``, pairs named by their v2 symbol.

Sources: https://docs.kraken.com/api/docs/rest-api/get-tradable-asset-pairs and,
for v1 vs v2 symbols (``XBT/USD`` vs ``BTC/USD``),
https://docs.kraken.com/exchange/api-reference/spot-websocket.
"""

from __future__ import annotations

import orjson

from relay.infrastructure.venues.registry import (
    InstrumentListing,
    ListedInstrument,
    ListingRequest,
)

REST_URL = "https://api.kraken.com"
ASSET_PAIRS_PATH = "/0/public/AssetPairs"

_V2_ASSETS = {"XBT": "BTC", "XDG": "DOGE"}
"""v1 asset names in ``wsname`` that v2 spells differently (``XBT/USD`` is ``BTC/USD`` in v2)."""


def v2_symbol(wsname: str) -> str:
    """``"XBT/USD"`` -> ``"BTC/USD"``; ``"ETH/XBT"`` -> ``"ETH/BTC"``; other names unchanged."""
    return "/".join(_V2_ASSETS.get(part, part) for part in wsname.split("/"))


def parse_asset_pairs(request: ListingRequest, body: bytes) -> list[ListedInstrument]:
    """Parse ``GET /0/public/AssetPairs`` into spot instruments named by their v2 symbol.

    Shape (documented example, trimmed)::

        {"error": [], "result": {"XETHXXBT": {"altname": "ETHXBT", "wsname": "ETH/XBT",
         "base": "XETH", "quote": "XXBT", "pair_decimals": 5, "lot_decimals": 8,
         "status": "online", ...}}}

    Pairs without ``wsname`` (not on the WebSocket) are left out. The instrument
    and canonical symbol are both the v2 symbol (``"ETH/BTC"``).

    Raises:
        ValueError: not JSON, a non-empty ``error`` list, or no ``result`` object.
    """
    message = orjson.loads(body)
    if not isinstance(message, dict):
        raise ValueError("AssetPairs: not an object")
    errors = message.get("error")
    if errors:
        raise ValueError(f"AssetPairs: {errors}")
    result = message.get("result")
    if not isinstance(result, dict):
        raise ValueError("AssetPairs: no result object")
    listed: list[ListedInstrument] = []
    for pair in result.values():
        wsname = pair.get("wsname") if isinstance(pair, dict) else None
        if not isinstance(wsname, str) or "/" not in wsname:
            continue
        symbol = v2_symbol(wsname)
        listed.append(ListedInstrument(symbol, symbol, "spot"))
    return sorted(listed, key=lambda item: item.instrument)


LISTING = InstrumentListing((ListingRequest(ASSET_PAIRS_PATH),), parse_asset_pairs)
"""How ``relay instruments`` lists Kraken's pairs: one AssetPairs request."""
