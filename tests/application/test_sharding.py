"""Shards of a relay group (relay.application.sharding): stable, complete, disjoint."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from relay.application.sharding import shard_of, split


def test_the_recorded_instruments_fall_in_fixed_shards() -> None:
    """Fixed values: a change of the hash would move subscriptions between running shards."""
    usdm = ["SUSHIUSDT", "AKROUSDT", "KEEPUSDT", "CTKUSDT"]
    assert [shard_of("binance-usdm", i, 2) for i in usdm] == [1, 0, 0, 1]
    assert [shard_of("binance-usdm", i, 3) for i in usdm] == [2, 2, 2, 2]
    assert shard_of("binance-usdm", "SUSHIUSDT", 1) == 0


@given(
    st.lists(st.tuples(st.sampled_from(["binance-usdm", "okx", "kraken"]), st.text(min_size=1))),
    st.integers(min_value=1, max_value=16),
)
def test_every_pair_is_in_exactly_one_shard_and_the_split_keeps_order(
    pairs: list[tuple[str, str]], shards: int
) -> None:
    parts = split(pairs, shards)
    assert len(parts) == shards
    assert sorted(p for part in parts for p in part) == sorted(pairs)
    for shard, part in enumerate(parts):
        assert all(shard_of(v, i, shards) == shard for v, i in part)
        assert part == [p for p in pairs if shard_of(p[0], p[1], shards) == shard]


def test_the_venue_is_part_of_the_key() -> None:
    assert shard_of("binance-usdm", "BTCUSDT", 1024) == 798
    assert shard_of("binance-spot", "BTCUSDT", 1024) == 797


def test_zero_shards_is_refused() -> None:
    with pytest.raises(ValueError, match="shards must be at least 1, got 0"):
        shard_of("okx", "BTC-USDT", 0)
