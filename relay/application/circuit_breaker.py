"""A per-venue circuit breaker: stop calling a venue that keeps failing, then probe it.

Pure and clock-free: every method takes ``now_s``, a monotonic timestamp in seconds
(``time.monotonic()`` in production, plain numbers in tests), so transitions are exact.

States::

    CLOSED    --failure_threshold consecutive failures-->      OPEN
    OPEN      --reset_timeout_s elapsed since opening-->       HALF_OPEN
    HALF_OPEN --success_threshold consecutive successes-->     CLOSED
    HALF_OPEN --any failure (timeout restarts)-->              OPEN
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable
from dataclasses import dataclass

from relay.domain.errors import InvalidValueError


class BreakerState(enum.Enum):
    """A circuit breaker's state; ``value`` is what ``/health`` and the metric label show."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass(frozen=True, slots=True)
class BreakerConfig:
    """When a breaker opens and closes.

    Attributes:
        failure_threshold: consecutive failures that open a closed breaker (> 0).
        reset_timeout_s: seconds an open breaker waits before turning half-open
            (> 0, finite).
        success_threshold: consecutive successes that close a half-open breaker (> 0).

    Raises:
        InvalidValueError: a field is zero, negative or (for the timeout) not finite.
    """

    failure_threshold: int = 5
    reset_timeout_s: float = 30.0
    success_threshold: int = 2

    def __post_init__(self) -> None:
        if self.failure_threshold <= 0:
            raise InvalidValueError("failure_threshold", self.failure_threshold, "must be > 0")
        if not (math.isfinite(self.reset_timeout_s) and self.reset_timeout_s > 0):
            raise InvalidValueError(
                "reset_timeout_s", self.reset_timeout_s, "must be finite and > 0"
            )
        if self.success_threshold <= 0:
            raise InvalidValueError("success_threshold", self.success_threshold, "must be > 0")


ChangeCallback = Callable[[str, BreakerState, BreakerState], None]
"""Called as ``on_change(name, old_state, new_state)`` after every transition."""


class CircuitBreaker:
    """One venue's circuit breaker.

    The caller asks :meth:`allow` before a request and reports its outcome with
    :meth:`record_success` or :meth:`record_failure`. The OPEN -> HALF_OPEN step
    happens lazily, on the first call at or after ``opened_at_s + reset_timeout_s``.

    Outcomes reported while OPEN (from requests started before the breaker opened)
    change nothing: neither the state nor the timeout.

    Args:
        name: what the breaker guards (the venue id); passed to ``on_change``.
        config: thresholds and timeout.
        on_change: called with ``(name, old, new)`` after each transition, once the
            breaker's own fields already show the new state; its exceptions propagate.
    """

    __slots__ = (
        "_config",
        "_consecutive_failures",
        "_consecutive_successes",
        "_on_change",
        "_opened_at_s",
        "_state",
        "name",
    )

    def __init__(
        self,
        name: str,
        config: BreakerConfig,
        on_change: ChangeCallback | None = None,
    ) -> None:
        self.name = name
        self._config = config
        self._on_change = on_change
        self._state = BreakerState.CLOSED
        self._consecutive_failures = 0
        self._consecutive_successes = 0
        self._opened_at_s: float | None = None

    @property
    def config(self) -> BreakerConfig:
        """The thresholds and timeout this breaker was built with."""
        return self._config

    @property
    def consecutive_failures(self) -> int:
        """Failures since the last success or transition (counts toward opening)."""
        return self._consecutive_failures

    @property
    def consecutive_successes(self) -> int:
        """Successes in the current HALF_OPEN spell (counts toward closing); 0 otherwise."""
        return self._consecutive_successes

    @property
    def opened_at_s(self) -> float | None:
        """Monotonic time (s) the breaker last opened; None while CLOSED."""
        return self._opened_at_s

    def state(self, now_s: float) -> BreakerState:
        """The state at ``now_s`` (monotonic s); an expired OPEN turns HALF_OPEN here."""
        if (
            self._state is BreakerState.OPEN
            and self._opened_at_s is not None
            and now_s - self._opened_at_s >= self._config.reset_timeout_s
        ):
            self._transition(BreakerState.HALF_OPEN)
        return self._state

    def allow(self, now_s: float) -> bool:
        """True when a request may be sent at ``now_s`` (monotonic s).

        CLOSED and HALF_OPEN allow every request; OPEN allows none until the reset
        timeout has passed, at which point the breaker turns HALF_OPEN and allows.
        """
        return self.state(now_s) is not BreakerState.OPEN

    def seconds_until_allowed(self, now_s: float) -> float:
        """Seconds (>= 0) from ``now_s`` until :meth:`allow` turns True; 0.0 when it is."""
        if self.state(now_s) is not BreakerState.OPEN or self._opened_at_s is None:
            return 0.0
        return max(0.0, self._opened_at_s + self._config.reset_timeout_s - now_s)

    def record_success(self, now_s: float) -> None:
        """Report a request that succeeded at ``now_s`` (monotonic s).

        CLOSED: the failure count resets. HALF_OPEN: counts toward
        ``success_threshold``; reaching it closes the breaker. OPEN: ignored.
        """
        state = self.state(now_s)
        if state is BreakerState.CLOSED:
            self._consecutive_failures = 0
        elif state is BreakerState.HALF_OPEN:
            self._consecutive_successes += 1
            if self._consecutive_successes >= self._config.success_threshold:
                self._opened_at_s = None
                self._transition(BreakerState.CLOSED)

    def record_failure(self, now_s: float) -> None:
        """Report a request that failed at ``now_s`` (monotonic s).

        CLOSED: counts toward ``failure_threshold``; reaching it opens the breaker at
        ``now_s``. HALF_OPEN: reopens at once and restarts the timeout from ``now_s``.
        OPEN: ignored.
        """
        state = self.state(now_s)
        if state is BreakerState.CLOSED:
            self._consecutive_failures += 1
            if self._consecutive_failures >= self._config.failure_threshold:
                self._open(now_s)
        elif state is BreakerState.HALF_OPEN:
            self._open(now_s)

    def _open(self, now_s: float) -> None:
        self._opened_at_s = now_s
        self._transition(BreakerState.OPEN)

    def _transition(self, new: BreakerState) -> None:
        old = self._state
        self._state = new
        self._consecutive_failures = 0
        self._consecutive_successes = 0
        if self._on_change is not None:
            self._on_change(self.name, old, new)
