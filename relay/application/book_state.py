"""The book-sync gate every venue book passes: publish only a book built from a snapshot.

A venue's book rules (sequence ids, checksums, REST or in-stream snapshots)
stay in that venue's package; what they share is this gate::

    AWAITING_SNAPSHOT --snapshot applied--> SYNCED
    SYNCED --gap, bad checksum, resync asked--> RESYNCING
    RESYNCING --snapshot applied--> SYNCED

Updates that reach a book that is not SYNCED are buffered or dropped (the
frame error ``awaiting_snapshot``), as the venue's procedure says; AWAITING_SNAPSHOT
and RESYNCING differ only in what they tell an operator (first snapshot of
the session, or a book that was synced and lost its integrity). The venue asks
for the new snapshot itself (REST, or unsubscribe + subscribe).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class BookState(enum.Enum):
    """Where a book stands in the gate (see the module docstring)."""

    AWAITING_SNAPSHOT = "awaiting_snapshot"
    SYNCED = "synced"
    RESYNCING = "resyncing"


@dataclass(slots=True)
class BookGate:
    """The sync state of one book, with how often and why it was resynced.

    Every venue book holds one gate and changes state only through its
    methods, so "may this book be published" has one meaning everywhere.

    Attributes:
        state: the current :class:`BookState`.
        resyncs: how many times the book left SYNCED (a count since start).
        last_reason: the reason given to the latest :meth:`resync`, e.g.
            ``"gap"`` or ``"checksum"``; ``None`` before the first.
    """

    state: BookState = BookState.AWAITING_SNAPSHOT
    resyncs: int = 0
    last_reason: str | None = None

    @property
    def synced(self) -> bool:
        """True when the book was built from a snapshot and kept its integrity since."""
        return self.state is BookState.SYNCED

    def snapshot_applied(self) -> None:
        """A full snapshot was applied: the book may be published."""
        self.state = BookState.SYNCED

    def resync(self, reason: str) -> None:
        """The book lost its integrity (``reason``): hold it until the next snapshot.

        Counted once per loss: a book already waiting for a snapshot is not
        counted again, but the latest reason is kept.
        """
        if self.state is BookState.SYNCED:
            self.resyncs += 1
            self.state = BookState.RESYNCING
        self.last_reason = reason

    def restart(self) -> None:
        """A new session begins (fresh subscription): wait for its first snapshot."""
        self.state = BookState.AWAITING_SNAPSHOT
