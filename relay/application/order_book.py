"""An L2 order book kept by the relay, and the one rule for applying levels to a book side.

Every venue's delta format the relay speaks replaces a level's quantity and
removes the level when the quantity is zero. :meth:`OrderBook.apply` applies
parsed levels (Decimal price and quantity) with its sides kept sorted;
:func:`apply_levels` applies parsed levels to a plain price -> level dict (a
venue book that keeps more per level, such as the text its checksum covers);
:func:`apply_raw_levels` applies levels kept as the venue wrote them (simulated
venues and recorded-session replays).
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any, TypeVar

from relay.domain.model import PriceLevel

_ZERO = Decimal(0)

Level = TypeVar("Level", bound=tuple[Any, ...])
"""A parsed level that may carry more: ``(price, quantity, ...)``, both Decimal."""

RawLevel = TypeVar("RawLevel", bound=Sequence[Any])
"""A level as the venue wrote it: ``[price text, quantity text, ...]`` (a list or tuple)."""


class OrderBook:
    """Price levels of one instrument: price -> quantity on each side, and the best of each.

    Quantities are replaced, not added; a quantity of zero removes the level,
    as in every venue's delta format the relay speaks.

    Attributes:
        bids, asks: price -> quantity; changed only by :meth:`reset` and :meth:`apply`,
            which keep each side's prices in ascending order beside it.
        best_bid, best_ask: the highest bid and lowest ask, None for an empty side;
            kept up to date by :meth:`reset` and :meth:`apply`.
    """

    __slots__ = ("_ask_prices", "_bid_prices", "asks", "best_ask", "best_bid", "bids")

    def __init__(self) -> None:
        self.bids: dict[Decimal, Decimal] = {}
        self.asks: dict[Decimal, Decimal] = {}
        self._bid_prices: list[Decimal] = []
        self._ask_prices: list[Decimal] = []
        self.best_bid: Decimal | None = None
        self.best_ask: Decimal | None = None

    def reset(self, bids: Iterable[PriceLevel], asks: Iterable[PriceLevel]) -> None:
        """Replace the whole book (a snapshot); zero-quantity levels are left out."""
        self.bids = {p: q for p, q in bids if q != _ZERO}
        self.asks = {p: q for p, q in asks if q != _ZERO}
        self._bid_prices = sorted(self.bids)
        self._ask_prices = sorted(self.asks)
        self.best_bid = self._bid_prices[-1] if self._bid_prices else None
        self.best_ask = self._ask_prices[0] if self._ask_prices else None

    def apply(self, bids: Iterable[PriceLevel], asks: Iterable[PriceLevel]) -> None:
        """Apply a delta and move the best bid and ask past it.

        Costs O(log(levels in the book)) comparisons per level of the delta
        that adds or removes a price (a list insert or delete moves pointers),
        a dict update for one that changes a quantity.
        """
        prices = self._bid_prices
        _apply_side(self.bids, prices, bids)
        self.best_bid = prices[-1] if prices else None
        prices = self._ask_prices
        _apply_side(self.asks, prices, asks)
        self.best_ask = prices[0] if prices else None

    @property
    def crossed(self) -> bool:
        """True when both sides are set and the best bid >= the best ask."""
        return (
            self.best_bid is not None
            and self.best_ask is not None
            and self.best_bid >= self.best_ask
        )

    def levels(self) -> tuple[tuple[PriceLevel, ...], tuple[PriceLevel, ...]]:
        """(bids best first, asks best first)."""
        bids = self.bids
        asks = self.asks
        return (
            tuple((price, bids[price]) for price in reversed(self._bid_prices)),
            tuple((price, asks[price]) for price in self._ask_prices),
        )

    def top(self, depth: int) -> tuple[dict[Decimal, Decimal], dict[Decimal, Decimal]]:
        """The best ``depth`` levels of each side as price -> quantity (bids, asks)."""
        bids = self.bids
        asks = self.asks
        bid_prices = self._bid_prices
        return (
            {price: bids[price] for price in bid_prices[: -depth - 1 : -1]},
            {price: asks[price] for price in self._ask_prices[:depth]},
        )


def _apply_side(
    side: dict[Decimal, Decimal], prices: list[Decimal], levels: Iterable[PriceLevel]
) -> None:
    """Apply ``levels`` to ``side`` and keep ``prices`` (its keys, ascending) in step."""
    for price, quantity in levels:
        if quantity:
            if price not in side:
                insort(prices, price)
            side[price] = quantity
        elif side.pop(price, None) is not None:
            del prices[bisect_left(prices, price)]


def apply_raw_levels(side: dict[Decimal, RawLevel], levels: Iterable[RawLevel]) -> None:
    """Apply levels kept as the venue wrote them to one book side, in place.

    Args:
        side: ``Decimal(price text)`` -> the level as received (the object itself is kept).
        levels: ``[price text, quantity text, ...]`` (OKX ``["30238.8", "2", "0", "1"]``,
            Binance ``["7.6110", "12"]``), plain decimal strings; a quantity of zero
            in any spelling (``"0"``, ``"0.00000000"``) removes the price, any other
            quantity sets the level.

    Raises:
        decimal.InvalidOperation: a price or quantity that is no decimal (callers
            pass levels already checked, e.g. by ``wire.simulated_levels``).
    """
    for level in levels:
        price = Decimal(level[0])
        if Decimal(level[1]):
            side[price] = level
        else:
            side.pop(price, None)


def apply_levels(side: dict[Decimal, Level], levels: Iterable[Level]) -> None:
    """Apply parsed levels to one book side, in place.

    Args:
        side: price -> the level last received for it (the object itself is kept).
        levels: ``(price, quantity, ...)`` with Decimal price and quantity (OKX's
            ``(price, size, price text, size text)``, Kraken's ``(price, qty)``); a
            quantity of zero removes the price, any other sets the level.
    """
    for level in levels:
        if level[1]:
            side[level[0]] = level
        else:
            side.pop(level[0], None)
