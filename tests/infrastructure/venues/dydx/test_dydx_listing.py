"""dYdX's instrument listing and canonical symbols.

Body: the shape of ``GET /v4/perpetualMarkets``
(https://docs.dydx.exchange/api_integration-indexer/indexer_api), as the WebSocket
page's ``v4_markets`` initial response prints it (trimmed), plus a paused market.
"""

from __future__ import annotations

import pytest

from relay.infrastructure.venues.dydx.listing import canonical_symbol
from relay.infrastructure.venues.registry import ListingRequest, venue_spec

LISTING_EXAMPLE = b"""{"markets": {
 "BTC-USD": {"clobPairId": "0", "ticker": "BTC-USD", "status": "ACTIVE",
  "oraclePrice": "27752.92", "nextFundingRate": "0", "openInterest": "1891.473716288"},
 "ETH-USD": {"clobPairId": "1", "ticker": "ETH-USD", "status": "ACTIVE",
  "oraclePrice": "1808.2", "nextFundingRate": "0", "openInterest": "44027.853711"},
 "LUNA-USD": {"clobPairId": "9", "ticker": "LUNA-USD", "status": "PAUSED"}}}"""


def test_listing_parser_lists_the_active_markets_as_perpetuals() -> None:
    listing = venue_spec("dydx").instrument_listing
    assert listing is not None
    assert [r.path for r in listing.requests] == ["/v4/perpetualMarkets"]
    listed = listing.parse(ListingRequest("/v4/perpetualMarkets"), LISTING_EXAMPLE)
    assert [(i.instrument, i.canonical_symbol, i.kind) for i in listed] == [
        ("BTC-USD", "BTC/USD:PERP", "perpetual"),
        ("ETH-USD", "ETH/USD:PERP", "perpetual"),
    ]


@pytest.mark.parametrize("body", [b"nope", b"[]", b'{"markets": []}', b'{"markets": {"X": 1}}'])
def test_a_body_of_another_shape_is_a_value_error(body: bytes) -> None:
    listing = venue_spec("dydx").instrument_listing
    assert listing is not None
    with pytest.raises(ValueError):
        listing.parse(ListingRequest("/v4/perpetualMarkets"), body)


def test_canonical_symbols() -> None:
    assert canonical_symbol("BTC-USD") == "BTC/USD:PERP"
    assert canonical_symbol("WEIRD") == "WEIRD:PERP"
