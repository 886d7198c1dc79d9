"""OKX's book integrity: ``seqId``/``prevSeqId`` chaining, CRC32 checksum of the top 25 levels.

From https://www.okx.com/docs-v5/en/#order-book-trading-market-data-ws-order-book-channel
(and the checksum deprecation, https://www.okx.com/docs-v5/log_en/#2026-06-23),
checked against the recorded ``okx.jsonl``: the book keeps the venue's price and
size strings, which the checksum is computed over.
"""

from __future__ import annotations

import heapq
import zlib
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from relay.application.book_state import BookGate
from relay.application.order_book import apply_levels
from relay.domain.errors import InvalidValueError
from relay.domain.model import DataType, Instrument, L2Update, MarketEvent, PriceLevel
from relay.infrastructure.venues.okx.parse import BookLevel, book_levels, ms, seq

CHECKSUM_LEVELS = 25
"""Levels per side in the checksum string."""


TextLevel = tuple[str, str]
"""(price, size) as the venue wrote them."""


def checksum(bids: Sequence[TextLevel], asks: Sequence[TextLevel]) -> int:
    """OKX's book checksum: CRC32 of the top 25 levels, interleaved, as a signed 32-bit int.

    Args:
        bids: best (highest) first; asks: best (lowest) first; the venue's strings.

    Returns:
        ``crc32("bid1p:bid1s:ask1p:ask1s:bid2p:...")`` in -2**31..2**31-1; a
        side with fewer than 25 levels just stops (documented example:
        bids [3366.1:7], asks [3366.8:9, 3368:8, 3372:8] ->
        ``"3366.1:7:3366.8:9:3368:8:3372:8"``).
    """
    parts: list[str] = []
    for i in range(CHECKSUM_LEVELS):
        if i < len(bids):
            parts.append(f"{bids[i][0]}:{bids[i][1]}")
        if i < len(asks):
            parts.append(f"{asks[i][0]}:{asks[i][1]}")
    value = zlib.crc32(":".join(parts).encode())
    return value - 2**32 if value >= 2**31 else value


def raw_book_checksum(
    bids: Mapping[Decimal, Sequence[str]], asks: Mapping[Decimal, Sequence[str]]
) -> int:
    """:func:`checksum` of the top 25 levels of two price-keyed sides of recorded levels.

    Args:
        bids, asks: price -> the level as the venue wrote it, price text and size
            text first (``["30238.8", "2", "0", "1"]``); any order.
    """
    top_bids = [(bids[p][0], bids[p][1]) for p in heapq.nlargest(CHECKSUM_LEVELS, bids)]
    top_asks = [(asks[p][0], asks[p][1]) for p in heapq.nsmallest(CHECKSUM_LEVELS, asks)]
    return checksum(top_bids, top_asks)


_Side = dict[Decimal, BookLevel]


class OkxBook:
    """One instrument's book as OKX sends it, with the venue's strings for the checksum.

    Attributes:
        instrument: whose book.
        channel: the subscribed channel (``books`` or ``books5``).
        gate: AWAITING_SNAPSHOT until a snapshot arrives (RESYNCING after a
            resync), then SYNCED.
        seq_id: the last ``seqId`` applied (None when the venue sends none).
    """

    def __init__(self, instrument: Instrument, channel: str) -> None:
        self.instrument = instrument
        self.channel = channel
        self.gate = BookGate()
        self.seq_id: int | None = None
        self.bids: _Side = {}
        self.asks: _Side = {}

    def reset(self, bids: Sequence[BookLevel], asks: Sequence[BookLevel]) -> None:
        """Replace the book (a snapshot); zero sizes are left out."""
        self.bids = {}
        self.asks = {}
        self.apply(bids, asks)
        self.gate.snapshot_applied()

    def apply(self, bids: Sequence[BookLevel], asks: Sequence[BookLevel]) -> None:
        """Apply received levels: size 0 removes the price, others replace it."""
        apply_levels(self.bids, bids)
        apply_levels(self.asks, asks)

    @property
    def synced(self) -> bool:
        """True once a snapshot is applied, until the next resync."""
        return self.gate.synced

    def clear(self, reason: str) -> None:
        """Throw the book away (``reason`` goes to its gate); it waits for a new snapshot."""
        self.bids = {}
        self.asks = {}
        self.gate.resync(reason)
        self.seq_id = None

    def checksum(self) -> int:
        """:func:`checksum` of the book's top 25 levels (O(levels) selection)."""
        bids = [self.bids[p][2:] for p in heapq.nlargest(CHECKSUM_LEVELS, self.bids)]
        asks = [self.asks[p][2:] for p in heapq.nsmallest(CHECKSUM_LEVELS, self.asks)]
        return checksum(bids, asks)

    def levels(self) -> tuple[tuple[PriceLevel, ...], tuple[PriceLevel, ...]]:
        """(bids best first, asks best first) as Decimals."""
        bids = tuple((p, self.bids[p][1]) for p in sorted(self.bids, reverse=True))
        asks = tuple((p, self.asks[p][1]) for p in sorted(self.asks))
        return bids, asks

    def on_entry(
        self,
        entry: dict[str, Any],
        is_snapshot: bool,
        received_at_ms: int,
        events: list[MarketEvent],
    ) -> str | None:
        """Apply one ``books`` snapshot or update entry; append its event to ``events``.

        Shape (``okx.jsonl``, one ``data`` entry)::

            {"asks":[["30249.4","0","0","0"]],"bids":[["30182.6","452","0","1"]],
             "ts":"1652459225464","checksum":-914047754,"prevSeqId":123,"seqId":124}

        Returns:
            None, or the resync reason: ``"gap"`` (``prevSeqId`` is not the
            book's last ``seqId``) or ``"checksum"`` (a non-zero ``checksum``
            the book does not give).

        Raises:
            KeyError, InvalidValueError: a missing or malformed field.
        """
        bids, asks, ts, seq_id = _book_fields(entry)
        prev = seq("prevSeqId", entry["prevSeqId"]) if "prevSeqId" in entry else None
        venue_checksum = entry.get("checksum")
        if venue_checksum is not None and (
            isinstance(venue_checksum, bool)
            or not isinstance(venue_checksum, int)
            or not -(2**31) <= venue_checksum < 2**31
        ):
            raise InvalidValueError("checksum", venue_checksum, "expected a signed 32-bit int")
        if is_snapshot:
            self.reset(bids, asks)
        else:
            if prev is not None and self.seq_id is not None and prev != self.seq_id:
                return "gap"
            self.apply(bids, asks)
        if seq_id is not None:
            self.seq_id = seq_id
        if venue_checksum and self.checksum() != venue_checksum:
            return "checksum"
        if is_snapshot:
            book_bids, book_asks = self.levels()
            key = f"snapshot:{seq_id}" if seq_id is not None else f"snapshot:{ts}:{venue_checksum}"
            payload = L2Update(book_bids, book_asks, True, seq_id, seq_id)
        elif not bids and not asks:
            return None  # a heartbeat (seqId == prevSeqId) or an empty update: nothing changed
        else:
            key = f"{prev}:{seq_id}" if seq_id is not None else f"{ts}:{venue_checksum}"
            payload = L2Update(
                tuple(level[:2] for level in bids),
                tuple(level[:2] for level in asks),
                False,
                seq_id,
                seq_id,
            )
        events.append(
            MarketEvent(self.instrument, DataType.L2_ORDERBOOK, received_at_ms, ts, payload, key)
        )
        return None

    def on_short_snapshot(
        self, entry: dict[str, Any], received_at_ms: int, events: list[MarketEvent]
    ) -> None:
        """``books5``: every push is the whole 5-level book, published as a snapshot.

        Raises:
            KeyError, InvalidValueError: a missing or malformed field.
        """
        bids, asks, ts, seq_id = _book_fields(entry)
        self.reset(bids, asks)
        self.seq_id = seq_id
        book_bids, book_asks = self.levels()
        events.append(
            MarketEvent(
                self.instrument,
                DataType.L2_ORDERBOOK,
                received_at_ms,
                ts,
                L2Update(book_bids, book_asks, True, seq_id, seq_id),
                f"{ts}:{seq_id}",
            )
        )


def _book_fields(
    entry: dict[str, Any],
) -> tuple[tuple[BookLevel, ...], tuple[BookLevel, ...], int, int | None]:
    """``bids``, ``asks``, ``ts`` and ``seqId`` (None when absent) of one ``books``
    or ``books5`` data entry, read in that order.

    Raises:
        KeyError, InvalidValueError: a missing or malformed field.
    """
    return (
        book_levels("bids", entry["bids"]),
        book_levels("asks", entry["asks"]),
        ms("ts", entry["ts"]),
        seq("seqId", entry["seqId"]) if "seqId" in entry else None,
    )
