"""Bybit's book rules: a ``snapshot`` replaces the book; a ``delta`` needs ``u == previous u + 1``.

From the orderbook page (https://bybit-exchange.github.io/docs/v5/websocket/public/orderbook):
a snapshot with ``u == 1`` after a venue service restart also resets the book.
"""

from __future__ import annotations

from typing import Any

from relay.application.book_state import BookGate
from relay.application.errors import FrameError
from relay.application.order_book import OrderBook
from relay.domain.model import DataType, Instrument, L2Update, MarketEvent, Ticker
from relay.infrastructure.venues.common import wire

STALE_WINDOW_UPDATES = 1_000_000
"""A delta ``u`` at most this far behind the book's is stale; further behind, a gap."""


class TopicBook:
    """One ``orderbook.<depth>.<S>`` topic's book (sans-IO), publishing l2 and/or ticker events.

    Args:
        instrument: whose book.
        topic: the topic, for the resync frames.
        l2: publish ``l2_orderbook`` events.
        ticker: publish ``ticker`` events from the book's best levels (spot ``orderbook.1``).
    """

    def __init__(self, instrument: Instrument, topic: str, l2: bool, ticker: bool) -> None:
        self.instrument = instrument
        self.topic = topic
        self.l2 = l2
        self.ticker = ticker
        self.gate = BookGate()
        self.book = OrderBook()
        self.last_update_id = 0

    def on_message(
        self,
        is_snapshot: bool,
        data: dict[str, Any],
        ts_ms: int,
        received_at_ms: int,
        events: list[MarketEvent],
    ) -> str | None:
        """Take one snapshot or delta; append what it publishes to ``events``.

        Returns:
            None, or why the book was thrown away: ``"gap"`` or ``"crossed_book"``.

        Raises:
            FrameError: ``stale_update`` (a synced book got a delta whose ``u``
                is not newer than its own; the book is left untouched).
            KeyError, InvalidValueError: a missing or malformed field.
        """
        update_id = wire.integer("u", data["u"])
        seq = data.get("seq")
        key = f"{update_id}:{'' if seq is None else wire.integer('seq', seq)}"
        bids = wire.levels("b", data["b"])
        asks = wire.levels("a", data["a"])
        if is_snapshot:
            self.book.reset(bids, asks)
            self.gate.snapshot_applied()
            self.last_update_id = update_id
            if self.l2:
                book_bids, book_asks = self.book.levels()
                events.append(
                    MarketEvent(
                        self.instrument,
                        DataType.L2_ORDERBOOK,
                        received_at_ms,
                        ts_ms,
                        L2Update(book_bids, book_asks, True, update_id, update_id),
                        f"snapshot:{key}",
                    )
                )
            self._publish_ticker(update_id, key, ts_ms, received_at_ms, events)
            return None
        if not self.gate.synced:
            return None
        if self.last_update_id - STALE_WINDOW_UPDATES <= update_id <= self.last_update_id:
            raise FrameError(
                "stale_update",
                f"{self.topic}: u={update_id} <= book's {self.last_update_id}",
            )
        if update_id != self.last_update_id + 1:
            self.resync("gap")
            return "gap"
        self.book.apply(bids, asks)
        if self.book.crossed:
            self.resync("crossed_book")
            return "crossed_book"
        self.last_update_id = update_id
        if self.l2:
            events.append(
                MarketEvent(
                    self.instrument,
                    DataType.L2_ORDERBOOK,
                    received_at_ms,
                    ts_ms,
                    L2Update(bids, asks, False, update_id, update_id),
                    key,
                )
            )
        self._publish_ticker(update_id, key, ts_ms, received_at_ms, events)
        return None

    def _publish_ticker(
        self,
        update_id: int,
        key: str,
        ts_ms: int,
        received_at_ms: int,
        events: list[MarketEvent],
    ) -> None:
        bid, ask = self.book.best_bid, self.book.best_ask
        if not self.ticker or bid is None or ask is None:
            return
        events.append(
            MarketEvent(
                self.instrument,
                DataType.TICKER,
                received_at_ms,
                ts_ms,
                Ticker(bid, self.book.bids[bid], ask, self.book.asks[ask], update_id),
                key,
            )
        )

    def resync(self, reason: str) -> None:
        """Throw the book away (``reason`` goes to its gate); deltas wait for the next snapshot."""
        self.gate.resync(reason)
        self.book = OrderBook()
