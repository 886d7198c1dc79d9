"""``relay instruments cryptocom``: ``public/get-instruments`` answers -> listed instruments.

Entries follow the response shape of the v1 reference's ``public/get-instruments``
(https://exchange-docs.crypto.com/exchange/v1/rest-ws/index.html#public-get-instruments)
as quoted in ccxt's ``cryptocom`` ``fetchMarkets`` (BTC_USDT, RUNEUSD-PERP, a BTCUSD future).
"""

from __future__ import annotations

import json

import pytest

from relay.infrastructure.venues.cryptocom.listing import LISTING, parse_instruments
from relay.infrastructure.venues.registry import ListedInstrument

ANSWER = {
    "id": 1,
    "method": "public/get-instruments",
    "code": 0,
    "result": {
        "data": [
            {
                "symbol": "BTC_USDT",
                "inst_type": "CCY_PAIR",
                "display_name": "BTC/USDT",
                "base_ccy": "BTC",
                "quote_ccy": "USDT",
                "tradable": True,
                "expiry_timestamp_ms": 0,
            },
            {
                "symbol": "RUNEUSD-PERP",
                "inst_type": "PERPETUAL_SWAP",
                "display_name": "RUNEUSD Perpetual",
                "base_ccy": "RUNE",
                "quote_ccy": "USD",
                "tradable": True,
                "expiry_timestamp_ms": 0,
            },
            {
                "symbol": "BTCUSD-221028",
                "inst_type": "FUTURE",
                "display_name": "BTCUSD Futures 20221028",
                "base_ccy": "BTC",
                "quote_ccy": "USD",
                "tradable": True,
                "expiry_timestamp_ms": 1666944000000,
            },
            {
                "symbol": "AAVEUSD-PERP",
                "inst_type": "PERPETUAL_SWAP",
                "base_ccy": "AAVE",
                "quote_ccy": "USD",
                "tradable": False,
                "expiry_timestamp_ms": 0,
            },
        ]
    },
}


def test_listing_gives_spot_perpetuals_and_futures_with_canonical_symbols() -> None:
    (request,) = LISTING.requests
    assert request.path == "/exchange/v1/public/get-instruments"
    assert parse_instruments(request, json.dumps(ANSWER).encode()) == [
        ListedInstrument("BTC_USDT", "BTC/USDT", "spot"),
        ListedInstrument("RUNEUSD-PERP", "RUNE/USD:PERP", "perpetual"),
        ListedInstrument("BTCUSD-221028", "BTC/USD:221028", "future"),
    ]


@pytest.mark.parametrize(
    "body",
    [b"[]", b'{"result":{}}', b'{"result":{"data":[{"inst_type":"CCY_PAIR","tradable":true}]}}'],
)
def test_a_body_that_is_not_a_listing_is_a_value_error(body: bytes) -> None:
    with pytest.raises(ValueError):
        parse_instruments(LISTING.requests[0], body)
