"""A venue's REST client for book snapshots and polls: a token bucket, retries, ``Retry-After``.

Requests are paced by a :class:`~relay.application.rate_limit.TokenBucket`
holding the venue's request weights (``rest_weight_per_minute``). Answers 429,
418 and 5xx, transport errors and timeouts are retried with full-jitter
exponential backoff (0.5 s doubling up to 30 s); when the venue sent
``Retry-After`` (RFC 9110, section 10.2.3), that wait is used instead and the
bucket grants nothing before it ends. A snapshot fetch retries until it
succeeds or its task is cancelled (the session that asked for it closes); a
poll (:mod:`~relay.infrastructure.connection.polling`) gives up after a few
attempts and waits for its next turn.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

import httpx
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
    stop_never,
    wait_random_exponential,
)

from relay.application.ports import MetricsSink, SnapshotRequest, TrafficRecorder
from relay.application.rate_limit import TokenBucket, parse_retry_after
from relay.domain.errors import RelayError

log = logging.getLogger("relay.venue")

RETRY_STATUS = frozenset({418, 429}) | frozenset(range(500, 600))
"""HTTP statuses of a snapshot answer that are retried."""


class SnapshotFetchError(RelayError):
    """A REST snapshot answer to retry (429, 418, 5xx), with the venue's Retry-After if sent."""

    def __init__(self, message: str, retry_after_s: float | None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


def rest_bucket(weight_per_minute: float, now_s: float) -> TokenBucket:
    """The token bucket for ``weight_per_minute`` of request weight (> 0).

    A burst of a sixth of the limit, refilled by the other five sixths over a
    minute: no 60 s window can carry more than ``weight_per_minute``.

    Args:
        weight_per_minute: the venue's request weight allowed per minute.
        now_s: monotonic time (s); the bucket is full then.

    Raises:
        InvalidValueError: ``weight_per_minute`` is not finite and > 0.
    """
    return TokenBucket(weight_per_minute / 6, weight_per_minute * 5 / 6 / 60, now_s)


class RestClient:
    """GETs REST snapshots of one venue, rate-limited and retried (see the module docstring).

    Args:
        http: the shared httpx client.
        base_url: the venue's REST base URL (a trailing ``/`` is dropped).
        venue: the venue id, for the ``relay_rest_requests_total`` counter and logs.
        bucket: the venue's token bucket (see :func:`rest_bucket`).
        timeout_s: the timeout of one request, in seconds.
        metrics: where each answer's status is counted.
        recorder: where every answer is recorded (``[recording]``), or None.
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        base_url: str,
        venue: str,
        bucket: TokenBucket,
        timeout_s: float,
        metrics: MetricsSink,
        recorder: TrafficRecorder | None = None,
    ) -> None:
        self._http = http
        self.recorder = recorder
        self.base_url = base_url.rstrip("/")
        self.venue = venue
        self.bucket = bucket
        self.timeout_s = timeout_s
        self.metrics = metrics

    async def fetch(self, request: SnapshotRequest, attempts: int | None = None) -> bytes:
        """GET ``base_url + request.path`` until it succeeds; returns the body's bytes.

        Takes ``request.weight`` from the bucket before every attempt. Retries
        on :data:`RETRY_STATUS`, ``httpx.HTTPError`` and timeouts (a 4xx other
        than 418/429 raises ``httpx.HTTPStatusError``, which is retried too):
        forever when ``attempts`` is None (only cancellation ends it early),
        else at most ``attempts`` times in all.

        Raises:
            SnapshotFetchError: the last of ``attempts`` got a status of
                :data:`RETRY_STATUS`.
            httpx.HTTPError: the last of ``attempts`` failed in transport, timed
                out or got another error status.
        """
        url = self.base_url + request.path
        venue = self.venue
        async for attempt in AsyncRetrying(
            stop=stop_never if attempts is None else stop_after_attempt(attempts),
            reraise=True,
            wait=_retry_after_or(wait_random_exponential(multiplier=0.5, max=30.0)),
            retry=retry_if_exception_type((httpx.HTTPError, SnapshotFetchError)),
            before_sleep=lambda state: log.warning(
                "snapshot request failed, retrying",
                extra={
                    "venue": venue,
                    "url": url,
                    "error": repr(state.outcome.exception() if state.outcome else None),
                    "wait_s": round(state.upcoming_sleep, 3),
                },
            ),
        ):
            with attempt:
                await self._acquire(request.weight)
                response = await self._http.get(url, timeout=self.timeout_s)
                self.metrics.rest_request(venue, str(response.status_code))
                if self.recorder is not None:
                    self.recorder.http_response(
                        venue, "GET", url, response.status_code, response.content, time.time()
                    )
                if response.status_code in RETRY_STATUS:
                    retry_after = parse_retry_after(
                        response.headers.get("Retry-After"), time.time()
                    )
                    if retry_after is not None:
                        self.bucket.block_until(time.monotonic() + retry_after)
                    raise SnapshotFetchError(f"{url}: HTTP {response.status_code}", retry_after)
                response.raise_for_status()
        return response.content

    async def _acquire(self, weight: float) -> None:
        """Wait until the token bucket grants ``weight`` (time-based: there is no event)."""
        while (wait_s := self.bucket.try_acquire(weight, time.monotonic())) > 0:  # noqa: ASYNC110
            await asyncio.sleep(wait_s)


def _retry_after_or(
    fallback: Callable[[RetryCallState], float],
) -> Callable[[RetryCallState], float]:
    """A tenacity wait: the venue's Retry-After when it sent one, else ``fallback``."""

    def wait(state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, SnapshotFetchError) and error.retry_after_s is not None:
            return error.retry_after_s
        return fallback(state)

    return wait
