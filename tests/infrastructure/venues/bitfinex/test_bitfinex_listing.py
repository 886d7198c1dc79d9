"""Bitfinex listing: the ``pub:list:pair:*`` answers of
https://docs.bitfinex.com/reference/rest-public-conf as ``relay instruments`` lists them."""

from __future__ import annotations

import pytest

from relay.infrastructure.venues.bitfinex.listing import (
    EXCHANGE_PAIRS,
    FUTURES_PAIRS,
    LISTING,
    parse_pairs,
)
from relay.infrastructure.venues.registry import ListedInstrument


def test_exchange_pairs_and_perpetuals_get_websocket_symbols_and_canonical_names() -> None:
    assert LISTING.requests == (EXCHANGE_PAIRS, FUTURES_PAIRS)
    assert parse_pairs(EXCHANGE_PAIRS, b'[["BTCUSD","BTCUST","TESTBTC:TESTUSD"]]') == [
        ListedInstrument("tBTCUSD", "BTC/USD", "spot"),
        ListedInstrument("tBTCUST", "BTC/USDT", "spot"),
        ListedInstrument("tTESTBTC:TESTUSD", "TESTBTC/TESTUSD", "spot"),
    ]
    assert parse_pairs(FUTURES_PAIRS, b'[["BTCF0:USTF0"]]') == [
        ListedInstrument("tBTCF0:USTF0", "BTC/USDT:PERP", "perpetual")
    ]


@pytest.mark.parametrize("body", [b"{", b"{}", b"[]", b'["BTCUSD"]', b"[[1]]", b'[[""]]'])
def test_a_body_that_is_no_pair_list_is_one_value_error(body: bytes) -> None:
    with pytest.raises(ValueError):
        parse_pairs(EXCHANGE_PAIRS, body)
