"""A consumer's L2 book kept from the relay's book stream and its book images (sans-IO).

:class:`BookAssembler` takes ``l2_orderbook`` messages (domain :class:`L2Update`
with the envelope ``sequence``) in arrival order and a book image read from
the ``relay-books`` bucket (all parts carrying one ``sequence``), and keeps the
book:

- before the first image (or a snapshot in the stream) messages are buffered;
- an image at sequence S is applied, buffered messages after S are applied in
  order; the book is ``synced`` when they follow S without a hole;
- while synced, a message whose sequence is not the next one is a hole: the
  book stops being synced, ``holes`` counts it, and the caller reads a new
  image (:attr:`needs_image`); a snapshot arriving in the stream (the relay
  resynced the book) also re-bootstraps it.

Full policy: at most ``max_buffered`` messages wait for an image; when more
come, the oldest are dropped (the image that follows covers them or the book
waits for a newer one).
"""

from __future__ import annotations

from collections import deque
from decimal import Decimal

from relay.domain.model import L2Update, PriceLevel


class BookAssembler:
    """One book's levels, its sequence and whether it is synced (see the module docstring).

    Args:
        max_buffered: messages held while not synced.
    """

    def __init__(self, max_buffered: int = 100_000) -> None:
        self.bids: dict[Decimal, Decimal] = {}
        self.asks: dict[Decimal, Decimal] = {}
        self.sequence = 0
        """Envelope sequence of the latest message (or image) applied; 0 before any."""
        self.synced = False
        self.holes = 0
        """Sequence holes seen while synced (each one re-bootstraps the book)."""
        self.bootstraps = 0
        """Images or stream snapshots the book was (re)built from."""
        self._building = False
        self._buffer: deque[tuple[L2Update, int]] = deque(maxlen=max_buffered)

    @property
    def needs_image(self) -> bool:
        """True while the book waits for an image (not synced, no stream snapshot under way)."""
        return not self.synced and not self._building

    def on_message(self, update: L2Update, sequence: int) -> bool:
        """Take one stream message; True when the book changed."""
        if self.synced or self._building:
            if sequence <= self.sequence:
                return False
            if sequence == self.sequence + 1:
                self._apply(update, sequence)
                return True
            self.holes += 1 if self.synced else 0
            self.synced = False
            self._building = False
        if update.is_snapshot and update.snapshot_part == 1:
            self._buffer.clear()
            self.bootstraps += 1
            self._apply(update, sequence)
            return True
        self._buffer.append((update, sequence))
        return False

    def on_image(self, parts: list[L2Update], sequence: int) -> bool:
        """Apply a book image (its parts in order, all at ``sequence``) and what was buffered.

        Returns:
            True when the book is synced afterwards; False when the image is
            older than the buffered messages (a newer image is needed) or
            ``parts`` are not 1..n of one image.
        """
        if [p.snapshot_part for p in parts] != list(range(1, len(parts) + 1)):
            return False
        while self._buffer and self._buffer[0][1] <= sequence:
            self._buffer.popleft()
        if self._buffer and self._buffer[0][1] != sequence + 1:
            return False
        self.bids, self.asks = {}, {}
        for part in parts:
            self._levels(part)
        self.sequence = sequence
        self.synced = True
        self._building = False
        self.bootstraps += 1
        buffered = list(self._buffer)
        self._buffer.clear()
        for update, number in buffered:
            self.on_message(update, number)
        return self.synced

    def _apply(self, update: L2Update, sequence: int) -> None:
        if update.is_snapshot and update.snapshot_part == 1:
            self.bids, self.asks = {}, {}
        self._levels(update)
        self.sequence = sequence
        if update.is_snapshot and update.snapshot_part < update.snapshot_parts:
            self._building = True
            self.synced = False
        else:
            self._building = False
            self.synced = True

    def _levels(self, update: L2Update) -> None:
        for side, levels in ((self.bids, update.bids), (self.asks, update.asks)):
            for price, quantity in levels:
                if quantity:
                    side[price] = quantity
                else:
                    side.pop(price, None)

    def top_bids(self, n: int) -> list[PriceLevel]:
        """The best ``n`` bids, highest first."""
        return sorted(self.bids.items(), reverse=True)[:n]

    def top_asks(self, n: int) -> list[PriceLevel]:
        """The best ``n`` asks, lowest first."""
        return sorted(self.asks.items())[:n]
