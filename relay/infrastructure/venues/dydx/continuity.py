"""The ``message_id`` continuity of one dYdX indexer connection.

Source: the indexer's socks service (dydxprotocol/v4-chain
``indexer/services/socks/src/websocket/index.ts``, ``lib/subscription.ts``,
``lib/message-forwarder.ts``) and the WebSocket page's ``connected`` example
(``"message_id": 0``). Every message of a connection carries ``message_id``, one
more than the message numbered before it, whatever its channel:

- ``connected`` is 0;
- ``channel_data`` and ``unsubscribed`` are numbered when sent, so they arrive in order;
- a ``subscribe`` is numbered when the indexer receives it, but its
  ``subscribed`` answer (the initial data, fetched from the REST API) is sent
  later: messages of other subscriptions numbered meanwhile arrive first, and
  the answer fills the hole they left;
- an ``error`` repeats the number of the subscribe it answers, or the
  connection's current number.

So :class:`MessageIds` allows as many holes as subscribe answers are awaited;
a data message that skips more numbers than that means messages were lost on
the connection (``GAP``); a data message numbered at or below the last one is
a repeat (``STALE``). After a gap the message's number is the new baseline, and
a number more than :data:`STALE_WINDOW` below the last is a gap too (the last
came from a corrupted frame), never an endless run of stale messages.
"""

from __future__ import annotations

import enum

STALE_WINDOW = 10_000
"""A data message at most this far below the last is a repeat (stale); further, a gap."""


class Continuity(enum.Enum):
    """How a message's ``message_id`` stands to the connection's (see :class:`MessageIds`)."""

    IN_ORDER = "in_order"
    STALE = "stale"
    GAP = "gap"


class MessageIds:
    """The numbers seen on one connection (sans-IO; one instance per connection).

    Attributes:
        last: the highest ``message_id`` seen (None before the first).
        holes: numbers skipped and not seen yet (at most :attr:`awaited` of them).
        awaited: subscribe answers still to come.
    """

    __slots__ = ("awaited", "holes", "last")

    def __init__(self) -> None:
        self.last: int | None = None
        self.holes: set[int] = set()
        self.awaited = 0

    def connected(self) -> None:
        """The ``connected`` message (number 0): numbering starts over."""
        self.last = 0
        self.holes.clear()

    def expect_answers(self, count: int) -> None:
        """``count`` subscribe frames are going out; each gets one answer."""
        self.awaited += count

    def answer(self, message_id: int) -> Continuity:
        """A ``subscribed`` or ``error`` answer numbered ``message_id``: it fills its hole
        (IN_ORDER), repeats a number (IN_ORDER: an error's), or comes next, where
        skipping more numbers than the answers still awaited is a GAP."""
        self.awaited = max(0, self.awaited - 1)
        if message_id in self.holes:
            self.holes.discard(message_id)
            return Continuity.IN_ORDER
        if self.last is None or message_id > self.last:
            return self.data(message_id)
        return Continuity.IN_ORDER

    def data(self, message_id: int) -> Continuity:
        """A ``channel_data`` or ``unsubscribed`` message numbered ``message_id``."""
        last = self.last
        if last is None:
            self.last = message_id
            return Continuity.IN_ORDER
        if message_id in self.holes:
            self.holes.discard(message_id)
            return Continuity.IN_ORDER
        if message_id <= last:
            if last - message_id <= STALE_WINDOW:
                return Continuity.STALE
            return self._restart(message_id)
        skipped = message_id - last - 1
        if len(self.holes) + skipped > self.awaited:
            return self._restart(message_id)
        self.holes.update(range(last + 1, message_id))
        self.last = message_id
        return Continuity.IN_ORDER

    def _restart(self, message_id: int) -> Continuity:
        self.holes.clear()
        self.last = message_id
        return Continuity.GAP
