"""The connection's ``message_id`` numbering as the indexer's socks service assigns it.

Source: dydxprotocol/v4-chain ``indexer/services/socks/src`` (``websocket/index.ts``:
a subscribe is numbered on receipt, an unsubscribe's answer when sent;
``lib/subscription.ts``: the ``subscribed`` answer goes out after its REST fetch,
with the subscribe's number; ``lib/message-forwarder.ts``: data numbered when sent).
"""

from __future__ import annotations

from relay.infrastructure.venues.dydx.continuity import STALE_WINDOW, Continuity, MessageIds


def test_a_late_subscribed_answer_fills_the_hole_data_left_for_it() -> None:
    ids = MessageIds()
    ids.expect_answers(2)
    ids.connected()
    assert ids.data(3) is Continuity.IN_ORDER  # 1 and 2: the two subscribes, answers pending
    assert ids.holes == {1, 2}
    assert ids.answer(2) is Continuity.IN_ORDER
    assert ids.answer(1) is Continuity.IN_ORDER
    assert (ids.holes, ids.awaited, ids.last) == (set(), 0, 3)
    assert ids.data(4) is Continuity.IN_ORDER


def test_more_numbers_skipped_than_answers_awaited_is_a_gap_and_a_new_baseline() -> None:
    ids = MessageIds()
    ids.expect_answers(1)
    ids.connected()
    assert ids.data(1) is Continuity.IN_ORDER
    assert ids.data(4) is Continuity.GAP  # 2 and 3 missing, one answer awaited
    assert (ids.last, ids.holes) == (4, set())
    assert ids.data(5) is Continuity.IN_ORDER


def test_a_repeated_number_is_stale_and_one_far_below_is_a_gap() -> None:
    ids = MessageIds()
    ids.connected()
    assert ids.data(1) is Continuity.IN_ORDER
    assert ids.data(1) is Continuity.STALE
    assert ids.data(2**63 - 1) is Continuity.GAP  # a corrupted number
    assert ids.data(2) is Continuity.GAP  # far below it: the new baseline, not stale forever
    assert ids.data(3) is Continuity.IN_ORDER
    assert ids.data(3 + STALE_WINDOW) is Continuity.GAP
    assert ids.data(3) is Continuity.STALE  # STALE_WINDOW below: still a repeat
    assert ids.data(2) is Continuity.GAP


def test_an_answer_repeating_a_number_or_jumping_ahead() -> None:
    ids = MessageIds()
    ids.expect_answers(1)
    ids.connected()
    assert ids.data(1) is Continuity.IN_ORDER
    assert ids.answer(1) is Continuity.IN_ORDER  # an error repeats the current number
    assert ids.awaited == 0
    assert ids.answer(5) is Continuity.GAP  # 2..4 lost before it
    assert ids.last == 5


def test_numbering_before_any_connected_message_starts_at_the_first_number() -> None:
    ids = MessageIds()
    assert ids.data(484) is Continuity.IN_ORDER
    assert ids.data(485) is Continuity.IN_ORDER
    assert ids.data(480) is Continuity.STALE
