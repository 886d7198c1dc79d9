"""The staleness watchdog of one connection: which subscriptions went silent too long.

Each watched (instrument, data type) has a threshold ``stale_after_s`` (from the
venue's config; 0 means not watched). A subscription with no event for longer
than its threshold is stale; the session then replaces the connection. The
bookkeeping is pure (times are passed in); :meth:`StalenessWatchdog.wait_stale`
is the timer that checks every :data:`WATCHDOG_INTERVAL_S`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Collection, Mapping

from relay.config.model import VenueConfig
from relay.domain.model import DataType

WATCHDOG_INTERVAL_S = 0.5
"""Seconds between two checks of the watchdog."""

Subscription = tuple[str, DataType]
"""A watched subscription: (venue instrument id, data type)."""


def watched_subscriptions(
    config: VenueConfig, rest_only: Collection[DataType] = ()
) -> dict[Subscription, float]:
    """The subscriptions of ``config`` with a staleness threshold > 0, and that threshold (s).

    Data types in ``rest_only`` (polled over REST, never on the WebSocket) are
    not watched: their silence says nothing of the connection.
    """
    return {
        (sub.instrument, data_type): config.stale_after_s.for_type(data_type)
        for sub in config.subscriptions
        for data_type in sub.data_types
        if config.stale_after_s.for_type(data_type) > 0 and data_type not in rest_only
    }


class StalenessWatchdog:
    """When each watched subscription last had data, and whether one went stale.

    Args:
        thresholds: seconds of silence allowed per subscription (see
            :func:`watched_subscriptions`); events of other subscriptions are
            noted but never make the connection stale.
    """

    def __init__(self, thresholds: Mapping[Subscription, float]) -> None:
        self.thresholds = thresholds
        self.started_at_s = 0.0
        self.last_data_s: dict[Subscription, float] = {}

    def start(self, now_s: float) -> None:
        """The connection opened at monotonic ``now_s``: every subscription counts from then."""
        self.started_at_s = now_s
        for key in self.thresholds:
            self.last_data_s[key] = now_s

    def saw(self, key: Subscription, now_s: float) -> None:
        """An event of ``key`` arrived at monotonic ``now_s``."""
        self.last_data_s[key] = now_s

    def stale(self, now_s: float) -> tuple[Subscription, float] | None:
        """The first subscription silent longer than its threshold and its silence (s), or None."""
        for key, threshold_s in self.thresholds.items():
            silent_s = now_s - self.last_data_s.get(key, self.started_at_s)
            if silent_s > threshold_s:
                return key, silent_s
        return None

    async def wait_stale(self) -> tuple[Subscription, float]:
        """Check every :data:`WATCHDOG_INTERVAL_S` until a subscription is stale; return it."""
        while True:
            await asyncio.sleep(WATCHDOG_INTERVAL_S)
            found = self.stale(time.monotonic())
            if found is not None:
                return found
