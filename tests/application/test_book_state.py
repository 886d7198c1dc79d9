"""The book-sync gate: every transition and what it counts."""

from __future__ import annotations

import pytest

from relay.application.book_state import BookGate, BookState


def test_new_gate_awaits_its_first_snapshot() -> None:
    gate = BookGate()
    assert gate.state is BookState.AWAITING_SNAPSHOT
    assert not gate.synced
    assert (gate.resyncs, gate.last_reason) == (0, None)


def test_snapshot_then_gap_then_snapshot_counts_one_resync() -> None:
    gate = BookGate()
    gate.snapshot_applied()
    assert gate.synced
    gate.resync("gap")
    assert gate.state is BookState.RESYNCING
    assert not gate.synced
    assert (gate.resyncs, gate.last_reason) == (1, "gap")
    gate.snapshot_applied()
    assert gate.synced
    assert gate.resyncs == 1


@pytest.mark.parametrize("start", [BookState.AWAITING_SNAPSHOT, BookState.RESYNCING])
def test_resync_of_a_book_not_synced_is_not_counted_again(start: BookState) -> None:
    gate = BookGate(state=start, resyncs=3, last_reason="gap")
    gate.resync("checksum")
    assert gate.state is start
    assert (gate.resyncs, gate.last_reason) == (3, "checksum")


def test_restart_waits_for_a_snapshot_without_counting_a_resync() -> None:
    gate = BookGate()
    gate.snapshot_applied()
    gate.restart()
    assert gate.state is BookState.AWAITING_SNAPSHOT
    assert gate.resyncs == 0
