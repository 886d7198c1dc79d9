"""The relay's order book: levels replaced or removed, best bid/ask tracked, crossing seen."""

from __future__ import annotations

import random
from decimal import Decimal as D

from relay.application.order_book import OrderBook, apply_levels, apply_raw_levels


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


def test_the_three_level_appliers_hold_the_same_book_for_any_sequence_of_levels() -> None:
    """OrderBook.apply (sorted sides), apply_levels (parsed levels with their texts, as
    OKX and Kraken keep them) and apply_raw_levels (the venue's strings, as simulated
    venues and the bench keep them) end with the same price -> quantity on each step,
    zero written in any spelling removing the price."""
    rng = random.Random(11)
    sorted_book = OrderBook()
    parsed: dict[D, tuple[D, D, str, str]] = {}
    raw: dict[D, list[str]] = {}
    for _ in range(300):
        texts = [
            (
                f"{rng.randint(95, 105)}.{rng.choice(['', '0', '5', '50'])}".rstrip("."),
                rng.choice(["0", "0.000", "1", "2.5", "0.10"]),
            )
            for _ in range(rng.randint(0, 6))
        ]
        sorted_book.apply([(D(p), D(q)) for p, q in texts], [])
        apply_levels(parsed, [(D(p), D(q), p, q) for p, q in texts])
        apply_raw_levels(raw, [[p, q] for p, q in texts])
        assert {p: level[1] for p, level in parsed.items()} == sorted_book.bids
        assert {p: D(level[1]) for p, level in raw.items()} == sorted_book.bids
        assert all(level[1] for level in parsed.values())
    assert len(sorted_book.bids) > 5


def test_a_raw_level_is_kept_as_the_venue_wrote_it() -> None:
    side: dict[D, list[str]] = {}
    apply_raw_levels(side, [["30238.8", "2", "0", "1"], ["30238.9", "0.5", "0", "2"]])
    apply_raw_levels(side, [["30238.80", "3", "0", "4"], ["30238.9", "0.00000000", "0", "0"]])
    assert side == {D("30238.8"): ["30238.80", "3", "0", "4"]}
