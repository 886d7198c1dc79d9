"""The relay's order book: levels replaced or removed, best bid/ask tracked, crossing seen."""

from __future__ import annotations

import random
from decimal import Decimal as D

from relay.application.order_book import OrderBook


def book() -> OrderBook:
    b = OrderBook()
    b.reset(
        [(D("100.5"), D("2")), (D("100.0"), D("1")), (D("99"), D("0"))],
        [(D("101"), D("3")), (D("102.25"), D("4"))],
    )
    return b


def test_a_snapshot_leaves_out_zero_levels_and_sets_the_best_prices() -> None:
    b = book()
    assert b.bids == {D("100.5"): D("2"), D("100.0"): D("1")}
    assert (b.best_bid, b.best_ask, b.crossed) == (D("100.5"), D("101"), False)


def test_removing_the_best_level_moves_the_best_to_the_next_one() -> None:
    b = book()
    b.apply([(D("100.5"), D("0"))], [(D("101"), D("0"))])
    assert (b.best_bid, b.best_ask) == (D("100.0"), D("102.25"))


def test_a_better_level_becomes_the_best_and_a_worse_one_does_not() -> None:
    b = book()
    b.apply([(D("100.7"), D("1")), (D("98"), D("5"))], [(D("103"), D("1"))])
    assert (b.best_bid, b.best_ask) == (D("100.7"), D("101"))


def test_emptying_a_side_clears_its_best_and_refilling_sets_it() -> None:
    b = book()
    b.apply([], [(D("101"), D("0")), (D("102.25"), D("0"))])
    assert (b.best_ask, b.crossed) == (None, False)
    b.apply([], [(D("104"), D("1"))])
    assert b.best_ask == D("104")


def test_a_bid_at_the_best_ask_crosses_the_book() -> None:
    b = book()
    b.apply([(D("101"), D("1"))], [])
    assert (b.best_bid, b.crossed) == (D("101"), True)
    assert b.levels() == (
        ((D("101"), D("1")), (D("100.5"), D("2")), (D("100.0"), D("1"))),
        ((D("101"), D("3")), (D("102.25"), D("4"))),
    )


def test_a_level_added_and_removed_in_one_delta_is_not_the_best() -> None:
    b = book()
    b.apply(
        [(D("100.9"), D("1")), (D("100.9"), D("0"))], [(D("100.8"), D("1")), (D("100.8"), D("0"))]
    )
    assert (b.best_bid, b.best_ask, b.crossed) == (D("100.5"), D("101"), False)


def test_random_deltas_keep_the_levels_and_best_prices_of_a_plain_dict_book() -> None:
    rng = random.Random(7)
    b = book()
    bids = dict(b.bids)
    asks = dict(b.asks)
    for _ in range(2_000):
        delta = []
        for side in (bids, asks):
            levels = [
                (D(rng.randrange(9_500, 10_500)) / 100, D(rng.choice((0, 0, 1, 2))))
                for _ in range(rng.randrange(0, 6))
            ]
            for price, quantity in levels:
                if quantity:
                    side[price] = quantity
                else:
                    side.pop(price, None)
            delta.append(levels)
        b.apply(iter(delta[0]), delta[1])
        assert (b.bids, b.asks) == (bids, asks)
        assert (b.best_bid, b.best_ask) == (max(bids, default=None), min(asks, default=None))
    assert b.levels() == (
        tuple(sorted(bids.items(), reverse=True)),
        tuple(sorted(asks.items())),
    )
