"""The weighted token bucket and Retry-After parsing."""

from __future__ import annotations

import random

import pytest

from relay.application.rate_limit import TokenBucket, parse_retry_after
from relay.domain.errors import InvalidValueError

# Wed, 21 Oct 2015 07:28:00 GMT as Unix epoch seconds.
OCT_21_2015_0728_EPOCH_S = 1_445_412_480.0


def test_a_new_bucket_is_full() -> None:
    bucket = TokenBucket(capacity=20, refill_per_s=10, now_s=100.0)
    assert bucket.available(100.0) == 20
    assert bucket.blocked_until_s is None


def test_weighted_requests_wait_exactly_for_the_refill() -> None:
    bucket = TokenBucket(capacity=20, refill_per_s=10, now_s=0.0)
    assert [bucket.try_acquire(10, 0.0) for _ in range(3)] == [0.0, 0.0, 1.0]
    assert bucket.available(0.0) == 0.0

    assert bucket.try_acquire(10, 0.5) == 0.5
    assert bucket.try_acquire(10, 1.0) == 0.0
    assert bucket.try_acquire(10, 1.0) == 1.0
    assert bucket.try_acquire(5, 1.5) == 0.0
    assert bucket.try_acquire(20, 1.5) == 2.0
    assert bucket.try_acquire(5, 1.5) == 0.5


def test_a_refused_request_deducts_nothing() -> None:
    bucket = TokenBucket(capacity=20, refill_per_s=10, now_s=0.0)
    assert bucket.try_acquire(15, 0.0) == 0.0
    assert bucket.try_acquire(10, 0.0) == 0.5
    assert bucket.available(0.0) == 5.0
    assert bucket.try_acquire(5, 0.0) == 0.0


def test_tokens_never_accumulate_beyond_capacity() -> None:
    bucket = TokenBucket(capacity=20, refill_per_s=10, now_s=0.0)
    assert bucket.try_acquire(20, 0.0) == 0.0
    assert bucket.available(1.0) == 10.0
    assert bucket.available(60.0) == 20.0
    assert bucket.try_acquire(20, 60.0) == 0.0
    assert bucket.try_acquire(20, 60.0) == 2.0


@pytest.mark.parametrize(
    ("now_s", "capacity", "refill_per_s"), [(0.1, 20, 10.0), (0.3, 6, 0.7), (7.7, 1200, 20.0)]
)
def test_a_full_bucket_grants_its_whole_capacity_despite_float_rounding(
    now_s: float, capacity: int, refill_per_s: float
) -> None:
    # (now_s - capacity / refill_per_s) + capacity / refill_per_s lands an ulp past now_s here
    bucket = TokenBucket(capacity=capacity, refill_per_s=refill_per_s, now_s=now_s)
    assert bucket.try_acquire(capacity, now_s) == 0.0
    assert bucket.available(now_s) == 0.0


@pytest.mark.parametrize("weight", [21, 0, -1, float("nan"), float("inf")])
def test_a_weight_that_could_never_be_granted_is_refused(weight: float) -> None:
    bucket = TokenBucket(capacity=20, refill_per_s=10, now_s=0.0)
    with pytest.raises(InvalidValueError) as raised:
        bucket.try_acquire(weight, 0.0)
    assert raised.value.field == "weight"
    assert bucket.available(0.0) == 20


def test_a_weight_equal_to_capacity_is_granted_from_a_full_bucket() -> None:
    bucket = TokenBucket(capacity=20, refill_per_s=10, now_s=0.0)
    assert bucket.try_acquire(20, 0.0) == 0.0


@pytest.mark.parametrize(
    ("field", "capacity", "refill_per_s"),
    [
        ("capacity", 0, 10),
        ("capacity", float("inf"), 10),
        ("refill_per_s", 20, 0),
        ("refill_per_s", 20, -1),
    ],
)
def test_bucket_refuses_non_positive_capacity_or_refill(
    field: str, capacity: float, refill_per_s: float
) -> None:
    with pytest.raises(InvalidValueError) as raised:
        TokenBucket(capacity=capacity, refill_per_s=refill_per_s, now_s=0.0)
    assert raised.value.field == field


def test_retry_after_block_refuses_every_request_until_it_ends() -> None:
    bucket = TokenBucket(capacity=20, refill_per_s=10, now_s=0.0)
    bucket.block_until(5.0)
    assert bucket.blocked_until_s == 5.0
    assert bucket.try_acquire(1, 0.0) == 5.0
    assert bucket.try_acquire(1, 4.0) == 1.0
    assert bucket.available(4.0) == 20
    assert bucket.try_acquire(20, 5.0) == 0.0
    assert bucket.try_acquire(5, 5.0) == 0.5


def test_an_empty_bucket_waits_for_tokens_beyond_a_shorter_block() -> None:
    bucket = TokenBucket(capacity=20, refill_per_s=10, now_s=0.0)
    assert bucket.try_acquire(20, 0.0) == 0.0
    bucket.block_until(0.5)
    assert bucket.try_acquire(10, 0.0) == 1.0
    assert bucket.try_acquire(10, 0.25) == 0.75


def test_an_earlier_block_does_not_shorten_a_later_one() -> None:
    bucket = TokenBucket(capacity=20, refill_per_s=10, now_s=0.0)
    bucket.block_until(8.0)
    bucket.block_until(3.0)
    assert bucket.blocked_until_s == 8.0
    assert bucket.try_acquire(1, 2.0) == 6.0
    bucket.block_until(9.0)
    assert bucket.try_acquire(1, 2.0) == 7.0


def simulate(
    bucket: TokenBucket, rng: random.Random, requests: int, start_s: float
) -> tuple[list[tuple[float, int]], int]:
    """One client sending requests in order, each retried after exactly the wait it is
    told. Returns the grants as (time s, weight) and the largest number of waits any
    single request needed."""
    grants: list[tuple[float, int]] = []
    most_waits = 0
    now_s = start_s
    for _ in range(requests):
        if rng.random() < 0.2:
            now_s += rng.uniform(0.0, 3.0)  # a pause between bursts
        weight = rng.randint(1, int(bucket.capacity))
        waits = 0
        while (wait_s := bucket.try_acquire(weight, now_s)) > 0.0:
            now_s += wait_s
            waits += 1
        grants.append((now_s, weight))
        most_waits = max(most_waits, waits)
    return grants, most_waits


@pytest.mark.parametrize(
    ("seed", "capacity", "refill_per_s"), [(1, 20, 10.0), (2, 1200, 20.0), (3, 7, 3.3)]
)
def test_granted_weight_in_any_one_second_window_never_exceeds_capacity_plus_refill(
    seed: int, capacity: int, refill_per_s: float
) -> None:
    rng = random.Random(seed)
    start_s = 1234.567
    bucket = TokenBucket(capacity=capacity, refill_per_s=refill_per_s, now_s=start_s)
    grants, most_waits = simulate(bucket, rng, requests=2000, start_s=start_s)

    assert len(grants) == 2000
    assert most_waits == 1  # waiting exactly the returned time is always enough
    times = [at_s for at_s, _ in grants]
    assert times == sorted(times)
    bound = capacity + refill_per_s
    busiest = 0
    end = 0
    window_weight = 0
    for start, (start_at_s, _) in enumerate(grants):
        while end < len(grants) and grants[end][0] < start_at_s + 1.0:
            window_weight += grants[end][1]
            end += 1
        busiest = max(busiest, window_weight)
        window_weight -= grants[start][1]
    assert busiest <= bound
    # the client was throttled, so the bound was actually approached
    assert busiest > bound - capacity


def test_a_sustained_stream_is_granted_at_the_refill_rate() -> None:
    bucket = TokenBucket(capacity=20, refill_per_s=10, now_s=0.0)
    now_s = 0.0
    granted_at_s: list[float] = []
    while len(granted_at_s) < 12:
        wait_s = bucket.try_acquire(5, now_s)
        if wait_s == 0.0:
            granted_at_s.append(now_s)
        now_s += wait_s
    assert granted_at_s == [0.0, 0.0, 0.0, 0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0]


def test_retry_after_delay_seconds() -> None:
    assert parse_retry_after("120", now_epoch_s=OCT_21_2015_0728_EPOCH_S) == 120.0
    assert parse_retry_after(" 0 ", now_epoch_s=OCT_21_2015_0728_EPOCH_S) == 0.0


def test_retry_after_http_date_is_counted_from_now() -> None:
    now_epoch_s = OCT_21_2015_0728_EPOCH_S - 90.5
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now_epoch_s) == 90.5


def test_retry_after_obsolete_date_forms_are_accepted() -> None:
    now_epoch_s = 784_111_777.0 - 7
    assert parse_retry_after("Sunday, 06-Nov-94 08:49:37 GMT", now_epoch_s) == 7.0
    assert parse_retry_after("Sun Nov  6 08:49:37 1994", now_epoch_s) == 7.0


def test_retry_after_date_in_the_past_is_zero() -> None:
    now_epoch_s = OCT_21_2015_0728_EPOCH_S + 3600
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now_epoch_s) == 0.0


def test_retry_after_absent_is_none() -> None:
    assert parse_retry_after(None, now_epoch_s=0.0) is None
    assert parse_retry_after("", now_epoch_s=0.0) is None


@pytest.mark.parametrize(
    "value", ["soon", "-5", "1.5", "1e3", "٣", "Wed, 99 Oct 2015 07:28:00 GMT"]
)
def test_retry_after_garbage_is_none(value: str) -> None:
    assert parse_retry_after(value, now_epoch_s=OCT_21_2015_0728_EPOCH_S) is None
