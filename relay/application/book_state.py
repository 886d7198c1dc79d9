"""The book-sync gate every venue book passes: publish only a book built from a snapshot.

A venue's book rules (sequence ids, checksums, REST or in-stream snapshots)
stay in that venue's module; what they share is this gate::

    AWAITING_SNAPSHOT --snapshot applied--> SYNCED
    SYNCED --gap, bad checksum, resync asked--> AWAITING_SNAPSHOT

Updates that reach a book AWAITING_SNAPSHOT are buffered or dropped (the
frame error ``awaiting_snapshot``), as the venue's procedure says. A resync is
no state of its own: the book goes back to AWAITING_SNAPSHOT and the venue asks
for a new snapshot (REST, or unsubscribe + subscribe).
"""

from __future__ import annotations

import enum


class BookState(enum.Enum):
    """Whether a book may be published (see the module docstring)."""

    AWAITING_SNAPSHOT = "awaiting_snapshot"
    SYNCED = "synced"
