"""The staleness watchdog's bookkeeping, the rotation age and the REST bucket, clock passed in.

Their timers and sockets are exercised against the real simulator in
``tests/e2e/test_resilience.py`` (stall, REST 429/500) and ``test_rotation.py``.
"""

from __future__ import annotations

import pytest

from relay.config.model import StaleAfterConfig, SubscriptionConfig, VenueConfig
from relay.domain.errors import InvalidValueError
from relay.domain.model import DataType
from relay.infrastructure.connection.rest import rest_bucket
from relay.infrastructure.connection.rotation import ROTATION_MARGIN_S, rotate_after_s
from relay.infrastructure.connection.watchdog import StalenessWatchdog, watched_subscriptions

USDM = VenueConfig(
    id="binance-usdm",
    subscriptions=(
        SubscriptionConfig(
            "SUSHIUSDT",
            "SUSHI/USDT",
            (DataType.TRADE, DataType.TICKER, DataType.L2_ORDERBOOK, DataType.CANDLE),
        ),
        SubscriptionConfig("CTKUSDT", "CTK/USDT", (DataType.TICKER,)),
    ),
    stale_after_s=StaleAfterConfig(ticker=2.0, l2_orderbook=3.0, candle=0.0),
)


def test_only_subscriptions_with_a_threshold_are_watched() -> None:
    assert watched_subscriptions(USDM) == {
        ("SUSHIUSDT", DataType.TICKER): 2.0,
        ("SUSHIUSDT", DataType.L2_ORDERBOOK): 3.0,
        ("CTKUSDT", DataType.TICKER): 2.0,
    }


def test_a_subscription_is_stale_once_silent_longer_than_its_threshold() -> None:
    watchdog = StalenessWatchdog(watched_subscriptions(USDM))
    watchdog.start(100.0)
    assert watchdog.stale(102.0) is None  # 2.0 s is not longer than 2.0 s
    watchdog.saw(("SUSHIUSDT", DataType.TICKER), 101.5)
    assert watchdog.stale(102.5) == (("CTKUSDT", DataType.TICKER), 2.5)
    watchdog.saw(("CTKUSDT", DataType.TICKER), 102.5)
    watchdog.saw(("SUSHIUSDT", DataType.L2_ORDERBOOK), 102.5)
    assert watchdog.stale(103.5) is None
    assert watchdog.stale(103.75) == (("SUSHIUSDT", DataType.TICKER), 2.25)


def test_events_of_unwatched_subscriptions_never_make_the_connection_stale() -> None:
    watchdog = StalenessWatchdog(watched_subscriptions(USDM))
    watchdog.start(0.0)
    for key in watchdog.thresholds:
        watchdog.saw(key, 10.0)
    watchdog.saw(("SUSHIUSDT", DataType.TRADE), 0.0)
    watchdog.saw(("SUSHIUSDT", DataType.CANDLE), 0.0)
    assert watchdog.stale(11.9) is None


@pytest.mark.parametrize(
    ("configured_s", "age_limit_s", "expected_s"),
    [
        (0.0, 24 * 3600, 24 * 3600 - ROTATION_MARGIN_S),  # Binance: 10 min before 24 h
        (0.0, 900.0, 450.0),  # a short limit: at half of it, not 300 s
        (0.0, 0.0, 0.0),  # no limit: never
        (2.0, 24 * 3600, 2.0),  # configured wins
    ],
)
def test_rotation_age_is_configured_or_a_margin_before_the_venue_limit(
    configured_s: float,
    age_limit_s: float,
    expected_s: float,
) -> None:
    config = VenueConfig(
        id="binance-usdm", subscriptions=USDM.subscriptions, rotate_after_s=configured_s
    )
    assert rotate_after_s(config, age_limit_s) == expected_s


def test_the_rest_bucket_grants_a_sixth_at_once_and_the_rest_over_a_minute() -> None:
    bucket = rest_bucket(1200, now_s=0.0)  # Binance USD-M: 1,200 weight per minute
    granted = 0
    while bucket.try_acquire(20, 0.0) == 0:
        granted += 20
    assert granted == 200
    assert bucket.try_acquire(20, 0.0) == pytest.approx(1.2)  # 1,000 / 60 weight per s
    assert bucket.try_acquire(20, 1.2) == 0


def test_a_rest_limit_that_is_not_positive_is_refused() -> None:
    with pytest.raises(InvalidValueError):
        rest_bucket(0, now_s=0.0)
