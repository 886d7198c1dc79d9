"""Kraken Futures field readers on recorded and documented shapes."""

from __future__ import annotations

from decimal import Decimal

import pytest

from relay.domain.errors import InvalidValueError
from relay.domain.model import Side
from relay.infrastructure.venues.common import wire
from relay.infrastructure.venues.kraken_futures import parse


def test_book_levels_keep_the_digits_sent() -> None:
    message = wire.exact_object(
        '{"bids":[{"price":439.3,"qty":20108.0},{"price":438.9,"qty":23706.0}]}'
    )
    levels = parse.book_levels("bids", message["bids"])
    assert levels == (
        (Decimal("439.3"), Decimal("20108.0")),
        (Decimal("438.9"), Decimal("23706.0")),
    )
    assert [str(q) for _, q in levels] == ["20108.0", "23706.0"]


@pytest.mark.parametrize(
    "raw",
    [
        '{"bids":{"price":1.0,"qty":1.0}}',
        '{"bids":[[1.0,1.0]]}',
        '{"bids":[{"price":0,"qty":1.0}]}',
    ],
)
def test_book_levels_refuse_other_shapes(raw: str) -> None:
    with pytest.raises(InvalidValueError):
        parse.book_levels("bids", wire.exact_object(raw)["bids"])


def test_book_delta_reads_side_level_seq_and_time() -> None:
    message = wire.exact_object(
        '{"feed":"book","product_id":"PI_ETHUSD","side":"sell","seq":26660860,'
        '"price":2004.85,"qty":4787.0,"timestamp":1626994927744}'
    )
    assert parse.book_delta(message) == (
        Side.SELL,
        (Decimal("2004.85"), Decimal("4787.0")),
        26660860,
        1626994927744,
    )


def test_a_missing_field_is_a_key_error() -> None:
    with pytest.raises(KeyError):
        parse.book_delta(wire.exact_object('{"side":"buy","price":1.0,"qty":1.0}'))
