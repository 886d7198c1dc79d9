"""One frame with an untrustworthy sequence number or update id never silences a venue.

Property, for every venue id in the registry: take the venue's real session (the
recorded capture with its REST snapshots, or, without a capture, its documented
frames), stop at several points, and feed one real frame whose every integer
field (``sequence_num``, ``u``, ``seqId``, ``change_id``, ``time``, ``ts``...) is,
or string of digits, one at a time, set to the largest id the wire allows
(2**63-1), then the next
:data:`TAIL` real frames of the session. Every data type the unmutated run
publishes from those tail frames is still published after the mutated frame,
or, for a book, the venue's resync procedure runs for it (a ``BookResync`` or a
REST snapshot request): a single frame must not make every later real frame
``stale_update`` until the connection is replaced.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from support.fuzz_frames import Replay, recorded, session_steps

from relay.application.errors import FrameError
from relay.application.ports import FrameOutcome
from relay.domain.model import DataType
from relay.infrastructure.venues.common.wire import MAX_ID
from relay.infrastructure.venues.registry import registered_venues

VENUES = registered_venues()
RECORDED_VENUES = tuple(v for v in VENUES if recorded(v).steps)
"""Venues with a recorded session (documented examples are no coherent session: their
ids do not follow each other; the fuzz module's probes cover those venues)."""
TAIL = 400
"""Real frames fed after the mutated one."""
SPLITS = (0.3, 0.6)
"""Where in the session (fraction of its frames) the mutated frame goes."""


def _int_slots(document: Any) -> Iterator[tuple[Any, Any]]:
    stack = [document]
    while stack:
        node = stack.pop()
        items = (
            list(node.items())
            if isinstance(node, dict)
            else (list(enumerate(node)) if isinstance(node, list) else [])
        )
        for key, value in items:
            if type(value) is int or (type(value) is str and value.isdigit()):
                yield node, key
            stack.append(value)


def poisoned(frame: str) -> list[str]:
    """``frame`` once per integer field (a JSON integer, or a string of digits: OKX's
    ``ts``), that field set to 2**63-1 (as the same JSON type)."""
    count = sum(1 for _ in _int_slots(orjson.loads(frame)))
    variants = []
    for index in range(count):
        document = orjson.loads(frame)
        node, key = list(_int_slots(document))[index]
        node[key] = MAX_ID if type(node[key]) is int else str(MAX_ID)
        variants.append(orjson.dumps(document).decode())
    return variants


Stream = tuple[DataType, str]
"""(data type, instrument)."""


def _tail_outcome(
    replay: Replay,
    steps: list[tuple[str, str, str]],
    wanted: set[Stream] | None = None,
    resynced: set[str] | None = None,
) -> tuple[set[Stream], set[str]]:
    """Streams published by the steps, and instruments whose books were resynced
    (added to ``resynced`` when given).

    With ``wanted``, feeding stops once :func:`_missing` is empty: published and
    resynced sets only grow, so later steps cannot change the verdict.
    """
    published: set[Stream] = set()
    resynced = set() if resynced is None else resynced
    for step in steps:
        result = replay.step(*step)
        if isinstance(result, FrameOutcome):
            published.update((e.data_type, e.instrument.instrument) for e in result.events)
            resynced.update(r.instrument.instrument for r in result.resyncs)
            resynced.update(r.instrument.instrument for r in result.snapshot_requests)
            if wanted is not None and not _missing(wanted, published, resynced):
                break
    return published, resynced


def _missing(wanted: set[Stream], published: set[Stream], resynced: set[str]) -> set[Stream]:
    """Wanted streams neither published nor, for a book, resynced."""
    return {
        (data_type, name)
        for data_type, name in wanted - published
        if not (data_type is DataType.L2_ORDERBOOK and name in resynced)
    }


def _record(replay: Replay, frame: str, resynced: set[str]) -> None:
    result = replay.step("recv", frame, "")
    if isinstance(result, FrameOutcome):
        resynced.update(r.instrument.instrument for r in result.resyncs)
        resynced.update(r.instrument.instrument for r in result.snapshot_requests)


def _targets(replay: Replay, steps: list[tuple[str, str, str]], start: int) -> dict[DataType, int]:
    """Per data type, the first real frame from ``start`` that publishes it and has
    integer fields (the frames to poison)."""
    trial = copy.deepcopy(replay)
    found: dict[DataType, int] = {}
    for index in range(start, len(steps)):
        kind, data, _ = steps[index]
        result = trial.step(*steps[index])
        if kind == "recv" and isinstance(result, FrameOutcome) and result.events:
            for data_type in {e.data_type for e in result.events} - set(found):
                if poisoned(data):
                    found[data_type] = index
    return found


@pytest.mark.parametrize("venue", RECORDED_VENUES)
def test_a_frame_with_a_huge_id_never_makes_the_later_real_frames_stale(venue: str) -> None:
    steps = session_steps(venue)
    frame_at = [i for i, (kind, _, _) in enumerate(steps) if kind == "recv"]
    checked: set[DataType] = set()
    variants = 0
    for split in SPLITS:
        start = frame_at[int(len(frame_at) * split)]
        base = Replay.start(venue)
        for step in steps[:start]:
            base.step(*step)
        for target in sorted(set(_targets(base, steps, start).values())):
            replay = copy.deepcopy(base)
            for step in steps[start:target]:
                replay.step(*step)
            tail = steps[target + 1 : target + 1 + TAIL]
            control = copy.deepcopy(replay)
            control.step(*steps[target])
            wanted, _ = _tail_outcome(control, tail)
            for variant in poisoned(steps[target][1]):
                trial = copy.deepcopy(replay)
                resynced: set[str] = set()
                _record(trial, variant, resynced)
                published, _ = _tail_outcome(trial, tail, wanted, resynced)
                missing = _missing(wanted, published, resynced)
                assert not missing, (venue, split, variant[:300], sorted(missing))
                variants += 1
            checked |= {data_type for data_type, _ in wanted}
    print(
        f"{venue}: {variants} poisoned frames, each followed by up to {TAIL} real ones; "
        f"data types checked: {sorted(d.value for d in checked)}"
    )
    assert variants > 0 and checked, venue


def test_replay_refuses_nothing_silently() -> None:
    """The harness itself: FrameErrors are returned, never swallowed into events."""
    replay = Replay.start(VENUES[0])
    assert isinstance(replay.step("recv", "{", ""), FrameError)
