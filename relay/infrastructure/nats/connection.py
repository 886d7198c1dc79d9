"""The NATS connection's lifecycle: connect with retry, the client's callbacks, close.

:class:`NatsConnection` owns the nats-py ``Client``: the first connection is
retried with jittered exponential backoff (0.5 s doubling, at most 10 s) while
the servers are unreachable; afterwards nats-py reconnects by itself (every
0.5 s, without limit) and reports each loss and return through the callbacks,
which the publisher (:mod:`.publisher`) turns into its outage handling. Error
lines that repeat during an outage go through the publisher's rate-limited log.

Authentication and TLS come from :mod:`.security`. When the server refuses the
relay (authorization violation, an untrusted certificate, a TLS handshake it
ends), at the first connection or at a reconnect, one line names the cause
(rate-limited per cause), ``on_refused`` tells ``/health`` why, and the next
attempt waits :class:`~.security.RefusalBackoff` (0.5 s doubling up to
``REFUSED_RETRY_CAP_S``, 30 s) instead of nats-py's 0.5 s. The wait happens in
nats-py's ``error_cb``, which nats-py awaits before its next attempt.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import nats
from nats.aio.client import Client
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, wait_random_exponential

from relay.config.model import NatsConfig
from relay.config.secrets import mask_url
from relay.infrastructure.nats.commands import allow_reconnect
from relay.infrastructure.nats.security import RefusalBackoff, refusal_reason, security_options

log = logging.getLogger("relay.nats")

LimitedLog = Callable[[int, str, dict[str, object], object], None]
"""``(level, message, extra, key)``: log a repeating line at a limited rate (key None: message)."""


class NatsConnection:
    """One nats-py client connection to the servers of ``[nats] urls``.

    Args:
        config: ``[nats]``: URLs, connect timeout, PING interval and limit.
        limited: the rate-limited log for lines that repeat while NATS is down.
        on_disconnected: awaited when the connection is lost (not when closed on purpose).
        on_reconnected: awaited when nats-py has connected again.
        on_refused: called with the one-line cause when the server refuses an
            attempt, and with "" once connected.
        backoff: the waits after refusals (default :class:`~.security.RefusalBackoff`).
    """

    def __init__(
        self,
        config: NatsConfig,
        limited: LimitedLog,
        on_disconnected: Callable[[], Awaitable[None]],
        on_reconnected: Callable[[], Awaitable[None]],
        on_refused: Callable[[str], None] = lambda reason: None,
        backoff: RefusalBackoff | None = None,
    ) -> None:
        self._config = config
        self._limited = limited
        self._on_disconnected = on_disconnected
        self._on_reconnected = on_reconnected
        self._on_refused = on_refused
        self._backoff = backoff if backoff is not None else RefusalBackoff()
        self._client: Client | None = None
        self._closing = False
        self._up = False

    @property
    def client(self) -> Client | None:
        """The connected client; None before :meth:`open` and after :meth:`close`."""
        return self._client

    async def open(self) -> Client:
        """Connect, retrying while the servers are unreachable or refuse the relay.

        Unreachable: jittered backoff (0.5 s doubling, at most 10 s), logged at a
        limited rate. Refused (authorization, TLS): the cause was logged and the
        :class:`~.security.RefusalBackoff` wait taken in ``error_cb``, so the next
        attempt follows at once.

        Returns:
            The connected client (also :attr:`client`), with reconnects on.

        Raises:
            nats.errors.Error: any other failure.
        """
        unreachable = wait_random_exponential(multiplier=0.5, max=10.0)

        def wait_s(state: RetryCallState) -> float:
            return 0.0 if self._refused_attempt(state) else unreachable(state)

        def before_sleep(state: RetryCallState) -> None:
            if not self._refused_attempt(state):
                self._limited(
                    logging.WARNING,
                    "NATS not reachable, retrying",
                    {
                        "urls": [mask_url(url) for url in self._config.urls],
                        "attempt": state.attempt_number,
                    },
                    None,
                )

        async for attempt in AsyncRetrying(
            wait=wait_s,
            retry=retry_if_exception(self._retryable),
            before_sleep=before_sleep,
        ):
            with attempt:
                self._client = await nats.connect(**self._connect_options(), allow_reconnect=False)
        assert self._client is not None
        allow_reconnect(self._client)
        self._connected_again()
        return self._client

    def _retryable(self, exc: BaseException) -> bool:
        unreachable = (OSError, TimeoutError, nats.errors.NoServersError)
        return isinstance(exc, unreachable) or refusal_reason(exc, self._config) is not None

    def _refused_attempt(self, state: RetryCallState) -> bool:
        exc = state.outcome.exception() if state.outcome is not None else None
        return exc is not None and refusal_reason(exc, self._config) is not None

    def _connected_again(self) -> None:
        self._up = True
        if self._backoff.refusals:
            log.info("NATS accepted the relay", extra={"refusals": self._backoff.refusals})
        self._backoff.reset()
        self._on_refused("")

    def _connect_options(self) -> dict[str, Any]:
        return {
            "servers": list(self._config.urls),
            "connect_timeout": self._config.connect_timeout_s,
            "max_reconnect_attempts": -1,
            "reconnect_time_wait": 0.5,
            "ping_interval": self._config.ping_interval_s,
            "max_outstanding_pings": self._config.max_outstanding_pings,
            "disconnected_cb": self._disconnected,
            "reconnected_cb": self._reconnected,
            "error_cb": self._error,
            **security_options(self._config),
        }

    async def _disconnected(self) -> None:
        self._up = False
        if not self._closing:
            await self._on_disconnected()

    async def _reconnected(self) -> None:
        self._connected_again()
        await self._on_reconnected()

    async def _error(self, exc: Exception) -> None:
        reason = None if self._up else refusal_reason(exc, self._config)
        if reason is not None:
            await self._refused(reason)
            return
        self._limited(
            logging.WARNING,
            "NATS error",
            {"error": repr(exc)},
            ("NATS error", type(exc).__name__),
        )

    async def abandon(self) -> None:
        """Close the connection without draining (the start failed)."""
        client, self._client = self._client, None
        if client is not None:
            self._closing = True
            await client.close()

    async def close(self) -> None:
        """Drain and close the connection (just close it while NATS is unreachable)."""
        client, self._client = self._client, None
        self._closing = True
        if client is None or client.is_closed:
            return
        if client.is_connected:
            await client.drain()
        else:
            await client.close()

    async def _refused(self, reason: str) -> None:
        """The server refused an attempt: say why (rate-limited), then wait before the next."""
        wait_s = self._backoff.next_wait_s()
        self._limited(
            logging.ERROR,
            reason,
            {"refusals": self._backoff.refusals, "retry_in_s": round(wait_s, 3)},
            ("refused", reason),
        )
        self._on_refused(reason)
        await asyncio.sleep(wait_s)
