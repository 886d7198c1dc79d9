"""What the relay publishes of an L2 book: its top ``depth`` levels, in messages that fit.

Two pure pieces the pipeline applies to ``l2_orderbook`` events:

- :class:`DepthView` turns a venue's book stream (snapshot, then deltas) into
  the stream of its best ``depth`` levels per side (a subscription's ``depth``).
- :func:`split_snapshot` cuts a snapshot too large for one NATS message into
  parts (``snapshot_part`` 1..``snapshot_parts``) a consumer puts back together.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from relay.application.order_book import OrderBook
from relay.domain.errors import InvalidValueError
from relay.domain.model import L2Update, PriceLevel

_ZERO = Decimal(0)


class DepthView:
    """The best ``depth`` levels per side of one venue book, as snapshots and deltas.

    Every level the venue sends is kept in an :class:`OrderBook`; what comes
    out is its top ``depth`` levels: a snapshot cut to them, and for each venue
    delta the changes it makes to them (levels changed inside the top, levels
    pushed out or removed as quantity ``0``, levels pulled up from below when a
    better one went away, with their quantity). A delta that changes nothing
    inside the top gives ``None``. Update ids and the snapshot flag pass through.

    Costs O(``depth``) per update (the top is rebuilt and compared).

    Args:
        depth: levels per side, >= 1.
    """

    __slots__ = ("_asks", "_bids", "_book", "_depth")

    def __init__(self, depth: int) -> None:
        self._depth = depth
        self._book = OrderBook()
        self._bids: dict[Decimal, Decimal] = {}
        self._asks: dict[Decimal, Decimal] = {}

    def apply(self, update: L2Update) -> L2Update | None:
        """Apply a venue update; returns what changes in the top ``depth`` levels, if anything."""
        book = self._book
        if update.is_snapshot:
            book.reset(update.bids, update.asks)
        else:
            book.apply(update.bids, update.asks)
        bids, asks = book.top(self._depth)
        old_bids, old_asks = self._bids, self._asks
        self._bids, self._asks = bids, asks
        if update.is_snapshot:
            return replace(update, bids=tuple(bids.items()), asks=tuple(asks.items()))
        bid_changes = _changes(old_bids, bids)
        ask_changes = _changes(old_asks, asks)
        if not bid_changes and not ask_changes:
            return None
        return replace(update, bids=bid_changes, asks=ask_changes)


def _changes(old: dict[Decimal, Decimal], new: dict[Decimal, Decimal]) -> tuple[PriceLevel, ...]:
    """Levels that turn side ``old`` into side ``new`` (quantity 0: the level goes)."""
    changed = [(price, quantity) for price, quantity in new.items() if old.get(price) != quantity]
    changed.extend((price, _ZERO) for price in old if price not in new)
    return tuple(changed)


def split_snapshot(update: L2Update, parts: int) -> list[L2Update]:
    """A snapshot as ``parts`` snapshot messages, each with a slice of both sides.

    Part ``i`` (1-based) holds the ``i``-th of ``parts`` near-equal slices of
    the bids and of the asks, best first, so part 1 carries the top of the
    book. Applied in order (part 1 replacing the book, later parts adding
    their levels) they give the whole snapshot.

    Raises:
        InvalidValueError: ``update`` is a delta (a delta has no parts), or
            ``parts`` < 1.
    """
    if not update.is_snapshot:
        raise InvalidValueError("is_snapshot", False, "only a snapshot is cut into parts")
    if parts < 1:
        raise InvalidValueError("parts", parts, "expected >= 1")
    bids, asks = update.bids, update.asks
    nb, na = len(bids), len(asks)
    return [
        replace(
            update,
            bids=bids[-(-nb * i // parts) : -(-nb * (i + 1) // parts)],
            asks=asks[-(-na * i // parts) : -(-na * (i + 1) // parts)],
            snapshot_part=i + 1,
            snapshot_parts=parts,
        )
        for i in range(parts)
    ]
