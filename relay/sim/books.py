"""Book-accurate REST depth snapshots for the venue simulator.

When the simulator's replay has moved past a recorded REST snapshot (frames
skipped, or a ``resume`` reconnect that lost frames), a client resyncing its
book needs the snapshot the venue would give *now*, not the recorded one. A
:class:`SnapshotBuilder` computes it from the recorded snapshot and the
recorded book updates the replay has passed.

Builders are venue-specific; each venue id's builder is registered with its
simulated side (:mod:`relay.sim.venues.registry`), so the simulator itself
never tests a venue name.

Binance's builder is in :mod:`relay.sim.venues.binance`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol


class SnapshotBuilder(Protocol):
    """Rebuilds a venue's REST book snapshot at the replay's current position."""

    def snapshot(
        self, path: str, query: str, recorded_body: str, positions: Sequence[int]
    ) -> str | None:
        """The snapshot body the venue would answer now, if it differs from the recording.

        Args:
            path: request path without the simulator's venue prefix
                (``"/fapi/v1/depth"``).
            query: raw query string (``"symbol=SUSHIUSDT&limit=1000"``).
            recorded_body: the recorded response body for this request (JSON text).
            positions: per recorded connection of the capture, in capture order,
                how many of its ``recv`` frames the replay has passed (sent or
                skipped).

        Returns:
            The rebuilt body (JSON text), or ``None`` to serve ``recorded_body``
            unchanged (not a book request, or the replay has not yet passed
            the recorded snapshot).
        """
        ...


SnapshotBuilderFactory = Callable[[Sequence[Sequence[str]]], SnapshotBuilder]
"""Builds a :class:`SnapshotBuilder` from the ``recv`` frame texts of each recorded connection."""
