"""LogRateLimit: one line per key per interval, with the count held back."""

from __future__ import annotations

from relay.application.log_rate_limit import LogRateLimit


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_repeated_lines_within_the_interval_are_held_back_and_counted() -> None:
    clock = FakeClock()
    limit = LogRateLimit(interval_s=10.0, clock=clock)
    outcomes = [limit.allow("nats") for _ in range(5)]
    assert outcomes == [0, None, None, None, None]
    clock.now += 9.999
    assert limit.allow("nats") is None
    clock.now += 0.001
    assert limit.allow("nats") == 5
    assert limit.allow("nats") is None


def test_keys_are_limited_independently() -> None:
    clock = FakeClock()
    limit = LogRateLimit(interval_s=1.0, clock=clock)
    assert limit.allow(("venue", "a")) == 0
    assert limit.allow(("venue", "b")) == 0
    assert limit.allow(("venue", "a")) is None
    assert limit.allow(("venue", "b")) is None


def test_the_least_recently_written_key_is_forgotten_beyond_max_keys() -> None:
    clock = FakeClock()
    limit = LogRateLimit(interval_s=60.0, max_keys=2, clock=clock)
    assert limit.allow("a") == 0
    assert limit.allow("a") is None
    assert limit.allow("b") == 0
    assert limit.allow("c") == 0
    # "a" was forgotten with its held-back count: its next line is written at once.
    assert limit.allow("a") == 0
    assert limit.allow("c") is None
