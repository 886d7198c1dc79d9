"""The per-venue circuit breaker, walked through every transition with exact timestamps."""

from __future__ import annotations

import pytest

from relay.application.circuit_breaker import BreakerConfig, BreakerState, CircuitBreaker
from relay.domain.errors import InvalidValueError

CLOSED, OPEN, HALF_OPEN = BreakerState.CLOSED, BreakerState.OPEN, BreakerState.HALF_OPEN
CONFIG = BreakerConfig(failure_threshold=3, reset_timeout_s=10.0, success_threshold=2)


def recording_breaker(
    config: BreakerConfig = CONFIG,
) -> tuple[CircuitBreaker, list[tuple[str, BreakerState, BreakerState]]]:
    changes: list[tuple[str, BreakerState, BreakerState]] = []
    breaker = CircuitBreaker(
        "binance-usdm", config, lambda name, old, new: changes.append((name, old, new))
    )
    return breaker, changes


def opened_breaker(
    at_s: float,
) -> tuple[CircuitBreaker, list[tuple[str, BreakerState, BreakerState]]]:
    breaker, changes = recording_breaker()
    for _ in range(CONFIG.failure_threshold):
        breaker.record_failure(at_s)
    return breaker, changes


def test_default_config_is_five_failures_thirty_seconds_two_successes() -> None:
    assert BreakerConfig() == BreakerConfig(
        failure_threshold=5, reset_timeout_s=30.0, success_threshold=2
    )


@pytest.mark.parametrize(
    ("field", "kwargs"),
    [
        ("failure_threshold", {"failure_threshold": 0}),
        ("reset_timeout_s", {"reset_timeout_s": 0.0}),
        ("reset_timeout_s", {"reset_timeout_s": -1.0}),
        ("reset_timeout_s", {"reset_timeout_s": float("inf")}),
        ("reset_timeout_s", {"reset_timeout_s": float("nan")}),
        ("success_threshold", {"success_threshold": -2}),
    ],
)
def test_config_refuses_non_positive_values(field: str, kwargs: dict[str, float]) -> None:
    with pytest.raises(InvalidValueError) as raised:
        BreakerConfig(**kwargs)  # type: ignore[arg-type]
    assert raised.value.field == field


def test_new_breaker_is_closed_and_allows() -> None:
    breaker, changes = recording_breaker()
    assert breaker.state(0.0) is CLOSED
    assert breaker.allow(0.0) is True
    assert breaker.seconds_until_allowed(0.0) == 0.0
    assert breaker.consecutive_failures == 0
    assert breaker.opened_at_s is None
    assert changes == []


def test_closed_opens_after_threshold_consecutive_failures() -> None:
    breaker, changes = recording_breaker()
    breaker.record_failure(1.0)
    breaker.record_failure(2.0)
    assert breaker.state(2.0) is CLOSED
    assert breaker.consecutive_failures == 2
    assert changes == []

    breaker.record_failure(3.0)
    assert breaker.state(3.0) is OPEN
    assert breaker.opened_at_s == 3.0
    assert breaker.consecutive_failures == 0
    assert changes == [("binance-usdm", CLOSED, OPEN)]


def test_a_success_resets_the_consecutive_failure_count() -> None:
    breaker, changes = recording_breaker()
    breaker.record_failure(1.0)
    breaker.record_failure(2.0)
    breaker.record_success(3.0)
    assert breaker.consecutive_failures == 0
    breaker.record_failure(4.0)
    breaker.record_failure(5.0)
    assert breaker.state(5.0) is CLOSED
    assert breaker.consecutive_failures == 2
    assert changes == []


def test_open_refuses_until_the_reset_timeout_and_counts_down() -> None:
    breaker, changes = opened_breaker(at_s=100.0)
    assert breaker.allow(100.0) is False
    assert breaker.seconds_until_allowed(100.0) == 10.0
    assert breaker.allow(107.5) is False
    assert breaker.seconds_until_allowed(107.5) == 2.5
    assert breaker.state(109.75) is OPEN
    assert changes == [("binance-usdm", CLOSED, OPEN)]


def test_open_turns_half_open_exactly_at_the_reset_timeout() -> None:
    breaker, changes = opened_breaker(at_s=100.0)
    assert breaker.state(110.0) is HALF_OPEN
    assert breaker.allow(110.0) is True
    assert breaker.seconds_until_allowed(110.0) == 0.0
    assert breaker.opened_at_s == 100.0
    assert changes == [("binance-usdm", CLOSED, OPEN), ("binance-usdm", OPEN, HALF_OPEN)]


def test_allow_after_the_timeout_makes_the_breaker_half_open() -> None:
    breaker, changes = opened_breaker(at_s=100.0)
    assert breaker.allow(125.0) is True
    assert changes[-1] == ("binance-usdm", OPEN, HALF_OPEN)
    assert breaker.state(125.0) is HALF_OPEN


def test_half_open_allows_every_request() -> None:
    breaker, _ = opened_breaker(at_s=0.0)
    assert [breaker.allow(10.0) for _ in range(5)] == [True] * 5
    assert breaker.state(10.0) is HALF_OPEN


def test_half_open_closes_after_success_threshold_consecutive_successes() -> None:
    breaker, changes = opened_breaker(at_s=0.0)
    breaker.record_success(10.0)
    assert breaker.state(10.0) is HALF_OPEN
    assert breaker.consecutive_successes == 1

    breaker.record_success(11.0)
    assert breaker.state(11.0) is CLOSED
    assert breaker.opened_at_s is None
    assert breaker.consecutive_successes == 0
    assert breaker.consecutive_failures == 0
    assert changes == [
        ("binance-usdm", CLOSED, OPEN),
        ("binance-usdm", OPEN, HALF_OPEN),
        ("binance-usdm", HALF_OPEN, CLOSED),
    ]


def test_a_success_reported_after_the_timeout_counts_toward_closing() -> None:
    breaker, changes = opened_breaker(at_s=0.0)
    breaker.record_success(12.0)
    assert changes[-1] == ("binance-usdm", OPEN, HALF_OPEN)
    assert breaker.consecutive_successes == 1
    breaker.record_success(12.5)
    assert breaker.state(12.5) is CLOSED


def test_half_open_failure_reopens_at_once_and_restarts_the_timeout() -> None:
    breaker, changes = opened_breaker(at_s=0.0)
    breaker.record_success(10.0)
    breaker.record_failure(15.0)
    assert breaker.state(15.0) is OPEN
    assert breaker.opened_at_s == 15.0
    assert breaker.consecutive_successes == 0
    assert breaker.allow(24.0) is False
    assert breaker.seconds_until_allowed(24.0) == 1.0
    assert breaker.state(25.0) is HALF_OPEN
    assert changes == [
        ("binance-usdm", CLOSED, OPEN),
        ("binance-usdm", OPEN, HALF_OPEN),
        ("binance-usdm", HALF_OPEN, OPEN),
        ("binance-usdm", OPEN, HALF_OPEN),
    ]


def test_half_open_needs_fresh_successes_after_reopening() -> None:
    breaker, _ = opened_breaker(at_s=0.0)
    breaker.record_success(10.0)
    breaker.record_failure(11.0)
    breaker.record_success(21.0)
    assert breaker.state(21.0) is HALF_OPEN
    breaker.record_success(22.0)
    assert breaker.state(22.0) is CLOSED


def test_outcomes_reported_while_open_change_nothing() -> None:
    breaker, changes = opened_breaker(at_s=0.0)
    breaker.record_failure(4.0)
    breaker.record_success(5.0)
    assert breaker.state(5.0) is OPEN
    assert breaker.opened_at_s == 0.0
    assert breaker.seconds_until_allowed(5.0) == 5.0
    assert changes == [("binance-usdm", CLOSED, OPEN)]


def test_closed_again_needs_the_full_failure_threshold_to_reopen() -> None:
    breaker, changes = opened_breaker(at_s=0.0)
    breaker.record_success(10.0)
    breaker.record_success(10.0)
    breaker.record_failure(11.0)
    breaker.record_failure(12.0)
    assert breaker.state(12.0) is CLOSED
    breaker.record_failure(13.0)
    assert breaker.state(13.0) is OPEN
    assert breaker.opened_at_s == 13.0
    assert len(changes) == 4


def test_a_threshold_of_one_opens_on_the_first_failure_and_closes_on_the_first_success() -> None:
    breaker, changes = recording_breaker(
        BreakerConfig(failure_threshold=1, reset_timeout_s=0.5, success_threshold=1)
    )
    breaker.record_failure(1.0)
    assert breaker.state(1.0) is OPEN
    breaker.record_success(1.5)
    assert breaker.state(1.5) is CLOSED
    assert [new for _, _, new in changes] == [OPEN, HALF_OPEN, CLOSED]


def test_the_breaker_works_without_a_change_callback() -> None:
    breaker = CircuitBreaker("okx", BreakerConfig(failure_threshold=1))
    breaker.record_failure(0.0)
    assert breaker.name == "okx"
    assert breaker.state(29.0) is OPEN
    assert breaker.state(30.0) is HALF_OPEN


def test_the_callback_sees_the_breaker_already_in_its_new_state() -> None:
    seen: list[BreakerState] = []
    breaker = CircuitBreaker(
        "okx",
        BreakerConfig(failure_threshold=1),
        lambda _name, _old, _new: seen.append(breaker.state(0.0)),
    )
    breaker.record_failure(0.0)
    assert seen == [OPEN]


def test_state_values_are_the_health_and_metric_labels() -> None:
    assert [state.value for state in BreakerState] == ["closed", "open", "half_open"]
