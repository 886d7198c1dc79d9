"""When a venue connection is tried again: backoff with jitter, and the circuit breaker.

- Reconnect with full-jitter exponential backoff (tenacity's
  ``wait_random_exponential``: ``reconnect_base_s`` doubling up to
  ``reconnect_cap_s``) after a connection error (:data:`CONNECTION_ERRORS`);
  a connection that had stayed up ``stable_after_s`` ends with
  :class:`StableConnectionLost` instead, which starts the backoff afresh.
- A per-connection circuit breaker
  (:class:`~relay.application.circuit_breaker.CircuitBreaker`): after
  ``breaker_failure_threshold`` failed or short-lived connections it opens and no
  attempt is made for ``breaker_reset_timeout_s``; then half-open, closed again
  after ``breaker_success_threshold`` stable connections. Its state goes to the
  ``relay_circuit_state`` gauge, ``/health`` and a log line.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, wait_random_exponential
from websockets.exceptions import WebSocketException

from relay.application.circuit_breaker import BreakerConfig, BreakerState, CircuitBreaker
from relay.application.health import HealthMonitor
from relay.application.ports import MetricsSink
from relay.config.model import VenueConfig

log = logging.getLogger("relay.venue")

CONNECTION_ERRORS = (OSError, TimeoutError, WebSocketException)
"""Exceptions that end a connection attempt and are retried with backoff
(``ConnectionError`` is an ``OSError``)."""


class StableConnectionLost(Exception):
    """A connection that had been up longer than ``stable_after_s`` was lost."""


def connection_breaker(
    name: str, config: VenueConfig, metrics: MetricsSink, health: HealthMonitor
) -> CircuitBreaker:
    """The circuit breaker of connection ``name``, its changes logged and reported.

    Every transition logs ``"circuit breaker <state>"`` (warning), sets
    ``relay_circuit_state{venue=name}`` and the circuit of ``name`` in ``/health``.

    Raises:
        InvalidValueError: the config's breaker thresholds are invalid.
    """

    def changed(breaker_name: str, old: BreakerState, new: BreakerState) -> None:
        log.warning(
            "circuit breaker " + new.value,
            extra={"venue": breaker_name, "from": old.value, "to": new.value},
        )
        metrics.circuit_state(breaker_name, new)
        health.venue_circuit(breaker_name, new)

    return CircuitBreaker(
        name,
        BreakerConfig(
            config.breaker_failure_threshold,
            config.breaker_reset_timeout_s,
            config.breaker_success_threshold,
        ),
        on_change=changed,
    )


async def wait_for_breaker(breaker: CircuitBreaker, name: str, stopping: asyncio.Event) -> None:
    """Sleep while ``breaker`` is open (logged once, with the wait in seconds), or until
    ``stopping`` is set."""
    wait_s = breaker.seconds_until_allowed(time.monotonic())
    if wait_s > 0:
        log.warning(
            "circuit breaker open, waiting", extra={"venue": name, "wait_s": round(wait_s, 3)}
        )
        await _sleep_unless(stopping, wait_s)


async def _sleep_unless(stopping: asyncio.Event, seconds: float) -> None:
    """Sleep ``seconds``, or until ``stopping`` is set."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await stopping.wait()


def reconnect_attempts(
    config: VenueConfig, metrics: MetricsSink, stopping: asyncio.Event
) -> AsyncRetrying:
    """Attempts retried on :data:`CONNECTION_ERRORS` with full-jitter backoff, until ``stopping``.

    Before each wait, ``relay_reconnects_total{venue=config.id}`` is counted and
    ``"venue connection lost, reconnecting"`` logged with the error, attempt and wait.
    Once ``stopping`` is set, the wait ends at once and the last error is raised
    instead of trying again.
    """
    venue = config.id

    def before_sleep(state: RetryCallState) -> None:
        metrics.reconnect(venue)
        error = state.outcome.exception() if state.outcome else None
        log.warning(
            "venue connection lost, reconnecting",
            extra={
                "venue": venue,
                "error": repr(error),
                "attempt": state.attempt_number,
                "wait_s": round(state.upcoming_sleep, 3),
            },
        )

    async def sleep(seconds: float) -> None:
        await _sleep_unless(stopping, seconds)

    return AsyncRetrying(
        sleep=sleep,
        stop=lambda _: stopping.is_set(),
        reraise=True,
        wait=wait_random_exponential(
            multiplier=config.reconnect_base_s, max=config.reconnect_cap_s
        ),
        retry=retry_if_exception_type(CONNECTION_ERRORS),
        before_sleep=before_sleep,
    )
