"""BitMEX's book rules: ``orderBookL2`` levels keyed by id, resynced when an id is unknown.

Source: https://www.bitmex.com/app/wsAPI (``orderBookL2``: a ``partial`` with the
whole book, then ``insert``, ``update`` and ``delete`` of rows keyed by
``symbol``, ``id`` and ``side``; ``update`` and ``delete`` rows carry no price: the
id stands for a price level, known from its ``partial`` or ``insert`` row), and
the frames of ``bitmex.jsonl``.

Book rules (one :class:`BitmexBook` per instrument): a ``partial`` replaces the
book (and its id -> price map) and is published as a snapshot event. BitMEX
sends no sequence numbers; the integrity check is the id map itself: an
``update`` or ``delete`` for an id the book does not hold, or an ``insert`` of an
id it already holds, means a message was missed or the book is wrong, a
``gap``: the book is thrown away, a ``BookResync`` is reported and
``unsubscribe`` + ``subscribe`` of that one ``orderBookL2:<symbol>`` are sent
back; rows arriving before the fresh ``partial`` are dropped silently.

Dedup keys (there are no update ids): a snapshot ``snapshot:<s>``; a delta
``<s>:<n>:<action>:<digest of its rows>``, ``n`` counting the deltas applied
since that snapshot, so a delta that repeats an earlier one (same rows) still
has its own key, and a re-sent session maps to the same keys. ``s`` is the
digest of the snapshot's levels for the book's first partial on a connection
and ``<digest>:<k>`` for its ``k``-th (a resync's), so a fresh partial equal to
an earlier one is not taken for a duplicate.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from decimal import Decimal

from relay.application.book_state import BookGate
from relay.application.order_book import OrderBook
from relay.domain.model import Instrument, PriceLevel, Side

Row = tuple[int, Side, Decimal | None, Decimal]
"""A parsed ``orderBookL2`` row: (id, side, price or None, size); see :func:`.parse.book_row`."""


def digest(parts: Iterable[object]) -> str:
    """A short content digest (16 hex characters) for dedup keys."""
    return hashlib.blake2b("|".join(map(str, parts)).encode(), digest_size=8).hexdigest()


class BitmexBook:
    """One instrument's ``orderBookL2`` as the relay holds it.

    Attributes:
        instrument: whose book.
        channel: the subscription argument (``"orderBookL2:XBTUSD"``).
        gate: the sync gate: awaiting a partial (at start), synced, or resyncing.
        book: the price levels.
        ids: level id -> (side, price), for every level in the book.
        snapshot_key: the key of the partial the book started from (see the module docstring).
        deltas: deltas applied since that partial.
        partials: partials applied on this connection.
    """

    __slots__ = (
        "book",
        "channel",
        "deltas",
        "gate",
        "ids",
        "instrument",
        "partials",
        "snapshot_key",
    )

    def __init__(self, instrument: Instrument, channel: str) -> None:
        self.instrument = instrument
        self.channel = channel
        self.gate = BookGate()
        self.book = OrderBook()
        self.ids: dict[int, tuple[Side, Decimal]] = {}
        self.snapshot_key = ""
        self.deltas = 0
        self.partials = 0

    def partial(self, rows: Iterable[Row]) -> None:
        """Replace the book with a ``partial``'s rows (each with a price); synced.

        Raises:
            ValueError: a row without a price.
        """
        ids: dict[int, tuple[Side, Decimal]] = {}
        bids: list[PriceLevel] = []
        asks: list[PriceLevel] = []
        for level_id, side, price, size in rows:
            if price is None:
                raise ValueError(f"partial row {level_id} has no price")
            ids[level_id] = (side, price)
            (bids if side is Side.BUY else asks).append((price, size))
        self.book.reset(bids, asks)
        self.ids = ids
        self.gate.snapshot_applied()
        book_bids, book_asks = self.book.levels()
        self.partials += 1
        key = digest((*book_bids, "|", *book_asks))
        self.snapshot_key = key if self.partials == 1 else f"{key}:{self.partials}"
        self.deltas = 0

    def apply(
        self, action: str, rows: Iterable[Row]
    ) -> tuple[tuple[PriceLevel, ...], tuple[PriceLevel, ...]] | None:
        """Apply an ``insert``, ``update`` or ``delete``; the changed levels (bids, asks),
        or None when a row breaks the id map (a gap: nothing applied, see the module
        docstring). The caller checks :attr:`gate` first."""
        ids = self.ids
        changes: list[tuple[int, Side, Decimal, Decimal]] = []
        pending: dict[int, bool] = {}
        for level_id, side, price, size in rows:
            present = pending.get(level_id, level_id in ids)
            if action == "insert":
                if present or price is None:
                    return None
                pending[level_id] = True
                changes.append((level_id, side, price, size))
                continue
            if not present:
                return None
            known_side, known_price = ids[level_id]
            if action == "delete":
                pending[level_id] = False
                changes.append((level_id, known_side, known_price, Decimal(0)))
            else:
                changes.append((level_id, known_side, known_price, size))
        bids: list[PriceLevel] = []
        asks: list[PriceLevel] = []
        for level_id, side, price, size in changes:
            if action == "delete":
                ids.pop(level_id, None)
            else:
                ids[level_id] = (side, price)
            (bids if side is Side.BUY else asks).append((price, size))
        self.book.apply(bids, asks)
        self.deltas += 1
        return tuple(bids), tuple(asks)

    def reset(self, reason: str) -> None:
        """Throw the book away (``reason``: why) until the next ``partial``."""
        self.gate.resync(reason)
        self.book = OrderBook()
        self.ids = {}
        self.snapshot_key = ""
        self.deltas = 0
