"""The NATS connection's lifecycle: connect with retry, the client's callbacks, close.

:class:`NatsConnection` owns the nats-py ``Client``: the first connection is
retried with jittered exponential backoff (0.5 s doubling, at most 10 s) while
the servers are unreachable; afterwards nats-py reconnects by itself (every
0.5 s, without limit) and reports each loss and return through the callbacks,
which the publisher (:mod:`.publisher`) turns into its outage handling. Error
lines that repeat during an outage go through the publisher's rate-limited log.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import nats
from nats.aio.client import Client
from tenacity import AsyncRetrying, retry_if_exception_type, wait_random_exponential

from relay.config.model import NatsConfig

LimitedLog = Callable[[int, str, dict[str, object], object], None]
"""``(level, message, extra, key)``: log a repeating line at a limited rate (key None: message)."""


class NatsConnection:
    """One nats-py client connection to the servers of ``[nats] urls``.

    Args:
        config: ``[nats]``: URLs, connect timeout, PING interval and limit.
        limited: the rate-limited log for lines that repeat while NATS is down.
        on_disconnected: awaited when the connection is lost (not when closed on purpose).
        on_reconnected: awaited when nats-py has connected again.
    """

    def __init__(
        self,
        config: NatsConfig,
        limited: LimitedLog,
        on_disconnected: Callable[[], Awaitable[None]],
        on_reconnected: Callable[[], Awaitable[None]],
    ) -> None:
        self._config = config
        self._limited = limited
        self._on_disconnected = on_disconnected
        self._on_reconnected = on_reconnected
        self._client: Client | None = None
        self._closing = False

    @property
    def client(self) -> Client | None:
        """The connected client; None before :meth:`open` and after :meth:`close`."""
        return self._client

    async def open(self) -> Client:
        """Connect, retrying with jittered backoff while the servers are unreachable.

        Returns:
            The connected client (also :attr:`client`).

        Raises:
            nats.errors.Error: any failure other than an unreachable server.
        """
        async for attempt in AsyncRetrying(
            wait=wait_random_exponential(multiplier=0.5, max=10.0),
            retry=retry_if_exception_type((OSError, TimeoutError, nats.errors.NoServersError)),
            before_sleep=lambda state: self._limited(
                logging.WARNING,
                "NATS not reachable, retrying",
                {"urls": list(self._config.urls), "attempt": state.attempt_number},
                None,
            ),
        ):
            with attempt:
                self._client = await nats.connect(**self._connect_options())
        assert self._client is not None
        return self._client

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
        }

    async def _disconnected(self) -> None:
        if not self._closing:
            await self._on_disconnected()

    async def _reconnected(self) -> None:
        await self._on_reconnected()

    async def _error(self, exc: Exception) -> None:
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
