"""The one check of a subscription's ``candle_interval`` against what a venue offers.

Each venue keeps its own table of offered intervals (relay words: ``"1m"``,
``"4h"``, ``"1d"``, with the venue's document cited next to it) and calls
:func:`check_candle_intervals` when its protocol is built and on a runtime
subscribe, so that a candle stream the venue has no channel for is refused at
load time (``relay validate``) instead of subscribing to nothing.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

from relay.config.model import SubscriptionConfig
from relay.domain.errors import InvalidValueError
from relay.domain.model import DataType


def offered_interval(venue: str, offered: Collection[str], interval: str) -> str:
    """``interval`` itself when ``offered`` holds it.

    Args:
        venue: the venue's name as the message shows it (``"Binance"``).
        offered: the venue's candle intervals, in the order the message lists them.
        interval: a configured ``candle_interval`` (``"1m"``).

    Raises:
        InvalidValueError: ``candle_interval='7m': <venue> offers 1m, 3m, ...``.
    """
    if interval not in offered:
        raise InvalidValueError("candle_interval", interval, f"{venue} offers {', '.join(offered)}")
    return interval


def check_candle_intervals(
    venue: str, offered: Collection[str], subscriptions: Iterable[SubscriptionConfig]
) -> None:
    """Refuse the first candle subscription whose interval ``offered`` lacks.

    Subscriptions without the ``candle`` data type are not looked at (their
    ``candle_interval`` is the unused default).

    Raises:
        InvalidValueError: as :func:`offered_interval`.
    """
    for subscription in subscriptions:
        if DataType.CANDLE in subscription.data_types:
            offered_interval(venue, offered, subscription.candle_interval)
