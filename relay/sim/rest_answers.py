"""REST answers the simulator derives from the recording (the port; venues fill it).

A capture holds the REST answers its client fetched (book snapshots), not
those a relay polls: open interest, recent trades, book tickers. A venue's
simulated side may register a :class:`RestAnswers` built from the recorded
WebSocket frames, answering such requests as of the replay's clock, so a
relay polling over REST (data only offered there, or the fallback while the
WebSocket is refused) gets what the venue would have said at that moment.

The simulator asks it only for requests no recorded answer matches. Binance's
is in :mod:`relay.sim.venues.binance_rest`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol


class RestAnswers(Protocol):
    """Answers a venue's REST requests from the recorded frames the replay clock has passed."""

    def answer(self, path: str, query: str, positions: Sequence[int]) -> tuple[int, str] | None:
        """The answer to one GET, or None when this is not a request it answers.

        Args:
            path: request path without the simulator's venue prefix
                (``"/fapi/v1/aggTrades"``).
            query: raw query string (``"symbol=CTKUSDT&limit=1000"``).
            positions: per recorded connection of the capture, in capture order,
                how many of its ``recv`` frames the replay clock has passed: the
                frames due by now since the connection was first served (also
                while no client is connected), or those sent or skipped.

        Returns:
            ``(HTTP status, JSON body text)``.
        """
        ...


RestAnswersFactory = Callable[[Sequence[Sequence[str]]], RestAnswers]
"""Builds a :class:`RestAnswers` from the ``recv`` frame texts of each recorded connection."""
