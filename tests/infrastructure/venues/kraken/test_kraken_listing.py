"""Kraken's instrument listing (AssetPairs) on the documented response.

No recorded Kraken v2 session exists in shared/captures, so every frame here is
a documented example (each test names its page) or one derived from one by a
stated change.
"""

from __future__ import annotations

import pytest

from relay.infrastructure.venues.kraken.listing import parse_asset_pairs
from relay.infrastructure.venues.registry import ListingRequest, venue_spec

# --- listing ------------------------------------------------------------------------------

ASSET_PAIRS = """{"error": [], "result": {"XETHXXBT": {"altname": "ETHXBT", "wsname": "ETH/XBT",
  "aclass_base": "currency", "base": "XETH", "aclass_quote": "currency", "quote": "XXBT",
  "lot": "unit", "cost_decimals": 6, "pair_decimals": 5, "lot_decimals": 8, "lot_multiplier": 1,
  "leverage_buy": [2, 3, 4, 5], "leverage_sell": [2, 3, 4, 5],
  "fee_volume_currency": "ZUSD", "margin_call": 80, "margin_stop": 40, "ordermin": "0.01",
  "costmin": "0.00002", "tick_size": "0.00001", "status": "online",
  "long_position_limit": 1100, "short_position_limit": 400}}}"""
"""The documented AssetPairs response example, fee tables left out
(https://docs.kraken.com/rest/#tag/Spot-Market-Data/operation/getTradableAssetPairs)."""


def test_asset_pairs_listing_names_pairs_by_their_v2_symbol() -> None:
    """wsname "ETH/XBT" is "ETH/BTC" on v2 (v1 XBT/USD vs v2 BTC/USD:
    https://docs.kraken.com/exchange/api-reference/spot-websocket)."""
    listing = venue_spec("kraken").instrument_listing
    assert listing is not None
    assert listing.requests == (ListingRequest("/0/public/AssetPairs"),)
    listed = listing.parse(listing.requests[0], ASSET_PAIRS.encode())
    assert [(i.instrument, i.canonical_symbol, i.kind) for i in listed] == [
        ("ETH/BTC", "ETH/BTC", "spot")
    ]


def test_asset_pairs_without_wsname_are_left_out_and_errors_are_refused() -> None:
    body = b'{"error": [], "result": {"XXDGZUSD": {"wsname": "XDG/USD"}, "X.d": {"altname": "X"}}}'
    assert [i.instrument for i in parse_asset_pairs(ListingRequest("/"), body)] == ["DOGE/USD"]
    with pytest.raises(ValueError, match="EGeneral"):
        parse_asset_pairs(ListingRequest("/"), b'{"error": ["EGeneral:Invalid arguments"]}')
