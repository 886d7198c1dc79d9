"""LatestId: recent repeats are refused, and no single id can make every later one stale."""

from __future__ import annotations

import pytest

from relay.application.latest_id import LatestId
from relay.infrastructure.venues.common.wire import MAX_ID


def test_newer_ids_are_taken_and_recent_repeats_refused() -> None:
    latest = LatestId(stale_window=10)
    assert [latest.accept("k", v) for v in (5, 6, 6, 4, 9, -1 + 9)] == [
        True,
        True,
        False,
        False,
        True,
        False,
    ]
    assert latest.last("k") == 9
    assert latest.accept("other", 1) is True


def test_an_id_far_ahead_does_not_make_the_real_ids_after_it_stale() -> None:
    latest = LatestId(stale_window=1_000)
    real = [177_100_030 + i for i in range(5)]
    assert latest.accept("BTC-USD", real[0]) is True
    assert latest.accept("BTC-USD", MAX_ID) is True
    assert [latest.accept("BTC-USD", v) for v in real[1:]] == [True, True, True, True]
    assert latest.last("BTC-USD") == real[-1]


def test_forget_takes_the_next_id_whatever_it_is() -> None:
    latest = LatestId(stale_window=1_000)
    latest.accept(None, 50)
    latest.forget(None)
    assert latest.last(None) is None
    assert latest.accept(None, 49) is True


def test_a_negative_window_is_refused() -> None:
    with pytest.raises(ValueError, match="stale_window"):
        LatestId(stale_window=-1)
