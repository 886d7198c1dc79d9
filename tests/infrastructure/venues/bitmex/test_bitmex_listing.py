"""BitMEX's instrument listing and canonical symbols."""

from __future__ import annotations

import pytest

from relay.infrastructure.venues.bitmex.listing import canonical_symbol
from relay.infrastructure.venues.registry import ListedInstrument, ListingRequest, venue_spec

LISTING_EXAMPLE = b"""[
 {"symbol": "XBTUSD", "rootSymbol": "XBT", "state": "Open", "typ": "FFWCSX",
  "listing": "2016-05-13T12:00:00.000Z", "expiry": null, "positionCurrency": "USD",
  "underlying": "XBT", "quoteCurrency": "USD", "tickSize": 0.5, "openInterest": 983043322},
 {"symbol": "JTOUSDT", "rootSymbol": "JTO", "state": "Open", "typ": "FFWCSX",
  "listing": "2023-12-08T04:00:00.000Z", "positionCurrency": "JTO", "underlying": "JTO",
  "quoteCurrency": "USDT", "tickSize": 1e-05, "openInterest": 6780}]"""
"""Two instrument objects as the endpoint sends them, trimmed: XBTUSD from cryptofeed's
``bitmex.py`` instrument example, JTOUSDT from a stored ``/api/v1/instrument`` answer in a
public repository (DvoraksPadawan/FundingRateBotLimitAndMarket, ``response.py``)."""


def test_listing_parser_reads_perpetuals_with_btc_for_xbt() -> None:
    listing = venue_spec("bitmex").instrument_listing
    assert listing is not None
    assert [r.path for r in listing.requests] == ["/api/v1/instrument/active"]
    assert listing.parse(listing.requests[0], LISTING_EXAMPLE) == [
        ListedInstrument("XBTUSD", "BTC/USD:PERP", "perpetual"),
        ListedInstrument("JTOUSDT", "JTO/USDT:PERP", "perpetual"),
    ]


@pytest.mark.parametrize("body", [b"not json", b"{}", b'[{"symbol":"XBTUSD"}]'])
def test_an_unreadable_listing_raises_value_error(body: bytes) -> None:
    listing = venue_spec("bitmex").instrument_listing
    assert listing is not None
    with pytest.raises(ValueError):
        listing.parse(ListingRequest("/api/v1/instrument/active"), body)


def test_an_index_is_left_out_and_futures_carry_their_expiry_date() -> None:
    listing = venue_spec("bitmex").instrument_listing
    assert listing is not None
    index = b'[{"symbol":".BXBT","rootSymbol":"XBT","quoteCurrency":"USD","typ":"MRCXXX"}]'
    assert listing.parse(listing.requests[0], index) == []
    assert canonical_symbol("future", "XRP", "XBT", "2021-09-24T12:00:00.000Z") == "XRP/BTC:210924"
    assert canonical_symbol("spot", "XBT", "USDT", None) == "BTC/USDT"
