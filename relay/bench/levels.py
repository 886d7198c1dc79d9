"""Book sides of recorded levels, kept as the venue wrote them; id/time ranges; the frames.

Shared by the recorded-session readers (:mod:`relay.bench.binance`,
:mod:`relay.bench.okx`): a level is the venue's list of strings, price first
and size second (Binance ``["7.6110", "12"]``, OKX ``["30238.8", "2", "0", "1"]``),
kept unchanged so that checksums over the venue's text (OKX) stay right. Levels are
applied to a side by :func:`relay.application.order_book.apply_raw_levels`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from relay.bench.errors import BenchError
from relay.sim.captures import Capture, RecordKind

Level = list[Any]
"""One level as recorded: ``[price text, size text, ...]``."""

RawSide = dict[Decimal, Level]
"""price -> the level as recorded; zero sizes are never kept."""

CANDLE_ALIGN_MS = 60_000
"""Time shifts are whole minutes, so that shifted candles stay aligned to their bars."""


def reset_levels(
    start: RawSide,
    end: RawSide,
    overridden: set[Decimal],
    removal: Callable[[str], Level],
) -> list[Level]:
    """Levels that turn the side ``end`` back into ``start``, in ascending price order.

    Args:
        start: the side to return to (at the snapshot).
        end: the side as it is (after the recorded updates).
        overridden: prices the carrying update sets itself (left out).
        removal: the venue's level that removes a price (``["7.6", "0"]``).

    Returns:
        A removal for every price only in ``end``, and the recorded level of
        every price of ``start`` that ``end`` lacks or holds with other text.
    """
    reset: list[Level] = []
    for price in sorted(set(start) | set(end)):
        if price in overridden:
            continue
        before, after = start.get(price), end.get(price)
        if before is None:
            assert after is not None
            reset.append(removal(after[0]))
        elif after != before:
            reset.append(list(before))
    return reset


def id_range(ids: Sequence[int]) -> int:
    """``max - min + 1`` of recorded ids (1 when there are none): one repetition's id shift."""
    return (max(ids) - min(ids) + 1) if ids else 1


def time_shift_ms(times_ms: Sequence[int]) -> int:
    """One repetition's time shift: the recorded span, rounded up to whole minutes."""
    span_ms = (max(times_ms) - min(times_ms) + 1) if times_ms else 1
    return math.ceil(span_ms / CANDLE_ALIGN_MS) * CANDLE_ALIGN_MS


def received_frames(capture: Capture) -> list[str]:
    """The ``recv`` frames of the session's first WebSocket connection, in order.

    Raises:
        BenchError: no connection recorded.
    """
    conns = [r.conn for r in capture.records if r.kind is RecordKind.CONNECT]
    if not conns:
        raise BenchError(f"{capture.path}: no WebSocket connection recorded")
    return [
        r.data
        for r in capture.records
        if r.kind is RecordKind.RECV and r.conn == conns[0] and r.data is not None
    ]
