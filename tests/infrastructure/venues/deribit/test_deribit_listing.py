"""Deribit's instrument listing and canonical symbols."""

from __future__ import annotations

import pytest
from support.deribit_frames import PUT

from relay.infrastructure.venues.deribit.listing import canonical_symbol
from relay.infrastructure.venues.registry import ListingRequest, venue_spec

# -- listing and the simulated venue -----------------------------------------------------------

LISTING_EXAMPLE = b"""{"jsonrpc": "2.0", "id": 1, "result": [
 {"tick_size": 2.5, "settlement_period": "month", "settlement_currency": "BTC",
  "quote_currency": "USD", "kind": "future", "is_active": true, "instrument_name": "BTC-29SEP23",
  "instrument_id": 138583, "expiration_timestamp": 1695974400000, "base_currency": "BTC"},
 {"tick_size": 0.5, "settlement_period": "perpetual", "settlement_currency": "BTC",
  "quote_currency": "USD", "kind": "future", "is_active": true,
  "instrument_name": "BTC-PERPETUAL", "instrument_id": 124972, "base_currency": "BTC"}]}"""


def test_listing_parser_reads_the_documented_get_instruments_example() -> None:
    """Trimmed example of https://docs.deribit.com/api-reference/market-data/public-get_instruments."""
    listing = venue_spec("deribit").instrument_listing
    assert listing is not None
    assert [r.path for r in listing.requests] == [
        f"/api/v2/public/get_instruments?currency={c}" for c in ("BTC", "ETH", "USDC", "USDT")
    ]
    listed = listing.parse(ListingRequest("/x"), LISTING_EXAMPLE)
    assert [(i.instrument, i.canonical_symbol, i.kind) for i in listed] == [
        ("BTC-29SEP23", "BTC/29SEP23", "future"),
        ("BTC-PERPETUAL", "BTC/USD:PERP", "perpetual"),
    ]
    with pytest.raises(ValueError):
        listing.parse(ListingRequest("/x"), b'{"error":{"code":1}}')


def test_canonical_symbols_keep_the_instrument_name_readable() -> None:
    assert canonical_symbol("BTC_USDC-PERPETUAL", "perpetual", "BTC", "USDC") == "BTC/USDC:PERP"
    assert canonical_symbol("BTC_USDC", "spot", "BTC", "USDC") == "BTC/USDC"
    assert canonical_symbol(PUT, "option", "BTC", "USD") == "BTC/24SEP21-8000-P"
