"""Kraken Futures' instrument listing and canonical symbols."""

from __future__ import annotations

import pytest

from relay.infrastructure.venues.kraken_futures.listing import canonical_symbol
from relay.infrastructure.venues.registry import ListingRequest, venue_spec

LISTING_EXAMPLE = b"""{"instruments": [
 {"symbol": "PF_XBTUSD", "pair": "XBT:USD", "base": "XBT", "quote": "USD",
  "type": "futures_inverse", "underlying": "rr_xbtusd", "tickSize": 0.5, "contractSize": 1,
  "tradeable": true},
 {"symbol": "FI_XBTUSD_220930", "pair": "XBT:USD", "base": "XBT", "quote": "USD",
  "type": "futures_inverse", "underlying": "rr_xbtusd",
  "lastTradingTime": "2022-09-30T15:00:00.000Z", "tickSize": 0.5, "contractSize": 1,
  "tradeable": true},
 {"symbol": "pi_ethusd", "type": "futures_inverse", "tradeable": true},
 {"symbol": "in_xbtusd", "type": "spot index", "tradeable": false},
 {"symbol": "FI_ETHUSD_210730", "base": "ETH", "quote": "USD", "tradeable": false}]}"""
"""The documented example (https://docs.kraken.com/api-reference/instrument-details/get-instruments,
trimmed), plus a lower-case symbol without base/quote, an index and an expired future."""


def test_listing_parser_reads_the_documented_instruments_example() -> None:
    listing = venue_spec("kraken-futures").instrument_listing
    assert listing is not None
    assert [r.path for r in listing.requests] == ["/derivatives/api/v3/instruments"]
    listed = listing.parse(ListingRequest("/x"), LISTING_EXAMPLE)
    assert [(i.instrument, i.canonical_symbol, i.kind) for i in listed] == [
        ("PF_XBTUSD", "BTC/USD:PERP", "perpetual"),
        ("FI_XBTUSD_220930", "BTC/USD:220930", "future"),
        ("PI_ETHUSD", "ETH/USD:PERP", "perpetual"),
    ]


@pytest.mark.parametrize(
    "body",
    [b"not json", b'{"result":"error"}', b'{"instruments":{}}', b'{"instruments":[{"symbol":1}]}'],
)
def test_listing_parser_refuses_other_answers(body: bytes) -> None:
    listing = venue_spec("kraken-futures").instrument_listing
    assert listing is not None
    with pytest.raises(ValueError):
        listing.parse(ListingRequest("/x"), body)


def test_canonical_symbols() -> None:
    assert canonical_symbol("PI_XBTUSD", "XBT", "USD") == "BTC/USD:PERP"
    assert canonical_symbol("FF_ETHUSD_261225", "ETH", "USD") == "ETH/USD:261225"
    assert canonical_symbol("RR_XBTUSD", "XBT", "USD") is None
