"""One side mapping for every venue's pair of words."""

from __future__ import annotations

import pytest

from relay.domain.errors import InvalidValueError
from relay.domain.model import Side
from relay.infrastructure.venues.common.sides import opposite, side

VENUE_WORDS = [("Buy", "Sell"), ("buy", "sell"), ("BUY", "SELL"), ("B", "A")]
"""Bybit; OKX, Deribit, Kraken, Coinbase Exchange; Coinbase Advanced Trade; Hyperliquid."""


@pytest.mark.parametrize(("buy", "sell"), VENUE_WORDS)
def test_each_venue_word_maps_to_its_side_and_opposite_swaps_it(buy: str, sell: str) -> None:
    assert (side("S", buy, buy, sell), side("S", sell, buy, sell)) == (Side.BUY, Side.SELL)
    assert (opposite(side("S", buy, buy, sell)), opposite(Side.SELL)) == (Side.SELL, Side.BUY)


@pytest.mark.parametrize(("buy", "sell"), VENUE_WORDS)
def test_another_word_or_case_is_refused_with_the_venue_words(buy: str, sell: str) -> None:
    for raw in (buy.swapcase(), "", None, 1, [buy]):
        with pytest.raises(InvalidValueError) as caught:
            side("direction", raw, buy, sell)
        assert (caught.value.field, caught.value.value) == ("direction", raw)
        assert caught.value.reason == f"expected {buy} or {sell}"


def test_quoted_words_keep_hyperliquids_error_text() -> None:
    with pytest.raises(InvalidValueError) as caught:
        side("side", "C", "B", "A", quoted=True)
    assert caught.value.reason == "expected 'B' or 'A'"
