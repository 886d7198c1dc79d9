"""A weighted token bucket for a venue's REST requests, and ``Retry-After`` parsing.

Pure and clock-free: the bucket takes ``now_s``, a monotonic timestamp in seconds
(``time.monotonic()`` in production, plain numbers in tests), and never sleeps; it
says how long to wait and the caller sleeps.
"""

from __future__ import annotations

import math
from datetime import UTC
from email.utils import parsedate_to_datetime

from relay.domain.errors import InvalidValueError

_GRANT_TOLERANCE_S = 1e-9
"""A wait this short is granted at once, so that a caller that sleeps exactly the
wait it was given is never refused by float rounding."""


def _require_positive_finite(field: str, value: float) -> None:
    if not (math.isfinite(value) and value > 0):
        raise InvalidValueError(field, value, "must be finite and > 0")


class TokenBucket:
    """A token bucket: holds at most ``capacity`` tokens, refilled at ``refill_per_s``.

    A request of weight ``w`` (the venue's request weight) takes ``w`` tokens. The
    bucket starts full. Over any interval of length ``d`` seconds it grants a total
    weight of at most ``capacity + refill_per_s * d``.

    The state is one instant, ``_empty_at_s``: the (virtual) time at which the bucket
    held zero tokens, so that ``tokens(now_s) = min(capacity, (now_s - _empty_at_s) *
    refill_per_s)``. A grant moves it forward by ``weight / refill_per_s``.

    Args:
        capacity: most tokens held (> 0, finite), e.g. the venue's weight per window.
        refill_per_s: tokens added per second (> 0, finite).
        now_s: monotonic time (s) of creation; the bucket is full then.

    Raises:
        InvalidValueError: ``capacity`` or ``refill_per_s`` is not finite and > 0.
    """

    __slots__ = ("_blocked_until_s", "_empty_at_s", "capacity", "refill_per_s")

    def __init__(self, capacity: float, refill_per_s: float, now_s: float) -> None:
        _require_positive_finite("capacity", capacity)
        _require_positive_finite("refill_per_s", refill_per_s)
        self.capacity = capacity
        self.refill_per_s = refill_per_s
        self._empty_at_s = now_s - capacity / refill_per_s
        self._blocked_until_s: float | None = None

    @property
    def blocked_until_s(self) -> float | None:
        """Monotonic time (s) before which nothing is granted, or None (never blocked)."""
        return self._blocked_until_s

    def available(self, now_s: float) -> float:
        """Tokens in the bucket at ``now_s`` (monotonic s), in ``[0, capacity]``.

        A :meth:`block_until` does not show here; :meth:`try_acquire` honours it.
        """
        tokens = (now_s - self._empty_at_s) * self.refill_per_s
        return min(self.capacity, max(0.0, tokens))

    def try_acquire(self, weight: float, now_s: float) -> float:
        """Take ``weight`` tokens at ``now_s`` (monotonic s) if possible.

        Returns:
            0.0 when granted (the tokens are deducted); otherwise the seconds (> 0) to
            wait until ``weight`` tokens are available and no block is in force, with
            nothing deducted. Retrying after exactly that wait is granted unless
            another request took tokens in between.

        Raises:
            InvalidValueError: ``weight`` is not finite and > 0, or exceeds ``capacity``
                (it could never be granted).
        """
        _require_positive_finite("weight", weight)
        if weight > self.capacity:
            raise InvalidValueError("weight", weight, f"exceeds capacity {self.capacity}")
        # Tokens beyond capacity are not kept: the bucket was empty no earlier than this.
        empty_at_s = max(self._empty_at_s, now_s - self.capacity / self.refill_per_s)
        tokens_wait_s = empty_at_s + weight / self.refill_per_s - now_s
        block_wait_s = 0.0 if self._blocked_until_s is None else self._blocked_until_s - now_s
        wait_s = max(tokens_wait_s, block_wait_s)
        if wait_s > _GRANT_TOLERANCE_S:
            return wait_s
        self._empty_at_s = empty_at_s + weight / self.refill_per_s
        return 0.0

    def block_until(self, until_s: float) -> None:
        """Grant nothing before ``until_s`` (monotonic s), e.g. after a 429's Retry-After.

        A later block extends an earlier one; an earlier block never shortens it. The
        bucket keeps refilling meanwhile.
        """
        if self._blocked_until_s is None or until_s > self._blocked_until_s:
            self._blocked_until_s = until_s


def parse_retry_after(value: str | None, now_epoch_s: float) -> float | None:
    """Seconds to wait according to an HTTP ``Retry-After`` header value.

    RFC 9110 §10.2.3: ``Retry-After = HTTP-date / delay-seconds``, where
    ``delay-seconds = 1*DIGIT``. Examples: ``"120"`` -> 120.0;
    ``"Wed, 21 Oct 2015 07:28:00 GMT"`` -> that instant minus ``now_epoch_s``.

    Args:
        value: the header value as received, or None when the header is absent.
        now_epoch_s: the wall-clock time (Unix epoch s) the response was received;
            only used for the HTTP-date form.

    Returns:
        Seconds to wait (>= 0.0; a date in the past gives 0.0), or None when the value
        is absent, empty or neither form (``"soon"``, ``"-5"``, ``"1.5"``). To block a
        :class:`TokenBucket`, add the result to the monotonic clock's reading.
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    if text.isascii() and text.isdigit():
        return float(int(text))
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)  # HTTP-dates are always GMT
    return max(0.0, when.timestamp() - now_epoch_s)
