"""Hot standby: the bounded ring of recent events a standby keeps, and where it resumes.

A standby relay follows the venues like the leader but publishes nothing: each
stream's events (after message-id de-duplication) go to a :class:`StandbyRing`.
When it becomes the leader it reads, for each stream, the last message the
stream's subject holds in JetStream (its message id and ``sequence``: the
:class:`Anchor`), and :func:`resume_plan` says what to publish::

    anchor          ring                       plan
    ------          ----                       ----
    none            never overflowed           every ring event, sequence from 1
    none            overflowed                 gap: every ring event, sequence from 2
    found in ring   -                          the events after it, sequence anchor+1
    not in ring     -                          gap: every ring event, sequence anchor+2
    book stream, anchor not in ring,           resync: nothing from the ring; the book
    a snapshot cut off before its last part,   is resynced (a fresh snapshot, sequence
    or a depth view to rebuild                 anchor+1)

A gap skips one ``sequence`` number, so a consumer sees a hole exactly where
events may be missing; it is also counted (``relay_failover_gaps_total``).
Events the leader had stored and the ring still re-sends are removed by
JetStream's duplicate window (same ``Nats-Msg-Id``).

Catching up: a standby may be *behind* its leader at the takeover (it has not
read the anchor's event yet: a slower venue connection). :func:`start_catch_up`
decides it, and the stream then holds (its ring keeps filling, nothing of it is
published) until :meth:`CatchUp.settled`: the anchor's event arrives (the plan
is then ``continued``), an event newer than the anchor arrives (the anchor will
not come: the plan is what it would have been at once), or the bound passes.
"Behind" compares venue times: the ring's newest event is not newer than the
anchor's event, by ``exchange_timestamp`` when both carry one, else by
``received_at`` (the two processes' clocks: a skew costs at most the bound, or
a gap as without the wait), or the ring is empty. A stream whose ring already
holds a newer event (the standby is ahead: the anchor fell out of its ring or
predates its start) resumes at once. A book with a ``depth`` view, or whose
anchor is a snapshot part before the last, resyncs whatever comes, so it never
waits; a book whose message ids derive from its own snapshot (another base
than the leader's) waits only until its ring passes the anchor's time, then
resyncs as before.
"""

from __future__ import annotations

import enum
import re
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass

from relay.domain.model import MarketEvent

_PART = re.compile(r"^(?P<id>.*):(?P<part>\d+)/(?P<parts>\d+)$")
"""A snapshot part's message id: ``<id>:<part>/<parts>`` (``application/pipeline.py``)."""


@dataclass(frozen=True, slots=True)
class Anchor:
    """The last message a subject holds in JetStream.

    Attributes:
        msg_id: its ``Nats-Msg-Id``.
        sequence: its envelope ``sequence``.
        exchange_timestamp_ms: its envelope ``exchange_timestamp`` (epoch ms), None when
            the venue sent none.
        received_at_ms: its envelope ``received_at`` (epoch ms, the leader's clock),
            None when unknown.
    """

    msg_id: str
    sequence: int
    exchange_timestamp_ms: int | None = None
    received_at_ms: int | None = None


@dataclass(frozen=True, slots=True)
class RingEntry:
    """One event a standby held back: the event, its message id, when its frame was read (ns)."""

    event: MarketEvent
    msg_id: str
    read_ns: int


class StandbyRing:
    """The last ``capacity`` events of one stream (full policy: the oldest is forgotten, counted).

    Args:
        capacity: events kept, at least 1.
    """

    __slots__ = ("_entries", "evicted")

    def __init__(self, capacity: int) -> None:
        self._entries: deque[RingEntry] = deque(maxlen=capacity)
        self.evicted = 0
        """Events forgotten because the ring was full."""

    def add(self, entry: RingEntry) -> None:
        """Keep ``entry``, forgetting the oldest when full."""
        if len(self._entries) == self._entries.maxlen:
            self.evicted += 1
        self._entries.append(entry)

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[RingEntry]:
        return iter(self._entries)

    def clear(self) -> None:
        """Forget every entry (after a resume)."""
        self._entries.clear()


class ResumeKind(enum.Enum):
    """How a stream resumes after a takeover (see the module's table)."""

    FROM_START = "from_start"
    CONTINUED = "continued"
    GAP = "gap"
    RESYNC = "resync"


@dataclass(frozen=True, slots=True)
class ResumePlan:
    """What a new leader publishes for one stream.

    Attributes:
        kind: :class:`ResumeKind`.
        entries: the ring events to publish, oldest first.
        next_sequence: the ``sequence`` of the first message published.
    """

    kind: ResumeKind
    entries: tuple[RingEntry, ...]
    next_sequence: int


def _whole_id(msg_id: str) -> tuple[str, bool]:
    """A message id without a snapshot part suffix, and whether it was a last (or only) part."""
    match = _PART.match(msg_id)
    if match is None:
        return msg_id, True
    return match["id"], match["part"] == match["parts"]


def resume_plan(
    ring: StandbyRing, anchor: Anchor | None, *, book: bool, rebuild_needed: bool = False
) -> ResumePlan:
    """Where a stream resumes when this process becomes the leader.

    Args:
        ring: the stream's held-back events.
        anchor: the subject's last stored message; None when it holds none.
        book: an ``l2_orderbook`` stream (a book can resync instead of leaving a gap).
        rebuild_needed: a book whose published form needs state the standby did not
            keep (a ``depth`` view): it always resyncs.

    Returns:
        The plan (module table). A resync plan carries no entries.
    """
    entries = tuple(ring)
    if anchor is None:
        if book and (rebuild_needed or ring.evicted):
            return ResumePlan(ResumeKind.RESYNC, (), 1)
        if ring.evicted:
            return ResumePlan(ResumeKind.GAP, entries, 2)
        return ResumePlan(ResumeKind.FROM_START, entries, 1)
    whole_id, complete = _whole_id(anchor.msg_id)
    after = anchor.sequence + 1
    if book and (rebuild_needed or not complete):
        return ResumePlan(ResumeKind.RESYNC, (), after)
    for index, entry in enumerate(entries):
        if entry.msg_id == whole_id:
            return ResumePlan(ResumeKind.CONTINUED, entries[index + 1 :], after)
    if book:
        return ResumePlan(ResumeKind.RESYNC, (), after)
    return ResumePlan(ResumeKind.GAP, entries, after + 1)


def _behind(event: MarketEvent, anchor: Anchor) -> bool:
    """``event`` is not newer than the anchor's event (module doc: "behind")."""
    exchange_ms = anchor.exchange_timestamp_ms
    if exchange_ms is not None and event.exchange_timestamp_ms is not None:
        return event.exchange_timestamp_ms <= exchange_ms
    received_ms = anchor.received_at_ms
    return received_ms is not None and event.received_at_ms <= received_ms


@dataclass(frozen=True, slots=True)
class CatchUp:
    """A stream holding at a takeover until its ring reaches its anchor (module doc).

    Attributes:
        anchor: the subject's last stored message.
        anchor_id: its message id without a snapshot part suffix (what a ring entry carries).
        started_s: when the wait began (the pipeline's monotonic clock, seconds).
        deadline_s: when it ends at the latest (same clock).
    """

    anchor: Anchor
    anchor_id: str
    started_s: float
    deadline_s: float

    def settled(self, entry: RingEntry) -> bool:
        """True when ``entry``, just held, ends the wait: the anchor's event, or a newer one."""
        return entry.msg_id == self.anchor_id or not _behind(entry.event, self.anchor)


def start_catch_up(
    ring: StandbyRing,
    anchor: Anchor | None,
    *,
    book: bool,
    rebuild_needed: bool = False,
    now_s: float,
    bound_s: float,
) -> CatchUp | None:
    """A wait for the anchor's event when the standby is behind, else None (resume at once).

    Args:
        ring: the stream's held-back events.
        anchor: the subject's last stored message (None: nothing to wait for).
        book, rebuild_needed: as for :func:`resume_plan` (a plan that resyncs
            whatever the ring holds never waits).
        now_s: the clock's time now, seconds.
        bound_s: the longest wait, seconds (``[cluster] takeover_catchup_s``; 0 never waits).

    Returns:
        The wait, until ``now_s + bound_s`` at the latest; None when the anchor is
        already in the ring, the ring holds a newer event, or waiting cannot help.
    """
    if anchor is None or bound_s <= 0:
        return None
    anchor_id, complete = _whole_id(anchor.msg_id)
    if book and (rebuild_needed or not complete):
        return None
    newest: RingEntry | None = None
    for entry in ring:
        if entry.msg_id == anchor_id:
            return None
        newest = entry
    if newest is not None and not _behind(newest.event, anchor):
        return None
    return CatchUp(anchor, anchor_id, now_s, now_s + bound_s)
