"""Bounds on the operations HTTP server: a connection cap and a request-head timeout.

uvicorn alone does not bound what idle clients hold: ``limit_concurrency``
answers 503 to *requests* beyond the limit, but a connection that sends nothing
(or a request head one byte at a time) is accepted and kept for ever. 1,500 of
them exhausted a process limited to 1,024 file descriptors; asyncio's accept
loop then logged one traceback per attempt (up to ``backlog`` per wake-up, about
3 MB/s of log), and the venues could not open sockets. Here:

- :class:`ConnectionGate` keeps at most ``max_connections`` open. At the cap a
  new connection closes the longest-open *idle* one (no request being served)
  and takes its place; when every connection is serving a request the new one
  is closed at once. Either way the file descriptor is freed within the same
  loop iteration, and a probe that connects and sends its request is served.
- :func:`connection_cap` lowers ``max_connections`` to leave half of the
  process's file descriptor limit (``RLIMIT_NOFILE``, at least
  :data:`FD_RESERVE_MIN`) to the venues, NATS and the REST client.
- :func:`bounded_protocol` is uvicorn's h11 protocol with the gate and a
  timeout for the request head (from the accept, or from the end of the
  previous response).
- :class:`relay.infrastructure.http_app.HttpServer` lets asyncio accept at
  most ``ACCEPTS_PER_WAKEUP`` connections per wake-up (each holds a descriptor
  until the gate sees it) while the kernel queues up to ``[http] backlog``.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import resource
from collections.abc import Callable
from typing import Any, Protocol

from uvicorn.config import Config
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.server import ServerState

from relay.application.log_rate_limit import LogRateLimit

log = logging.getLogger("relay.http")

FD_RESERVE_MIN = 256
"""File descriptors always left to the rest of the process (see :func:`connection_cap`)."""

SHED_LOG_INTERVAL_S = 10.0
"""Least seconds between two log lines about connections closed at the cap."""


class ShedAction(enum.Enum):
    """What the gate did to make room, or not: the ``action`` label of the shed counter."""

    EVICTED_IDLE = "evicted_idle"
    """An idle connection was closed so that a new one could be served."""
    REFUSED = "refused"
    """Every connection was serving a request: the new one was closed."""


class GatedConnection(Protocol):
    """What :class:`ConnectionGate` needs of a connection."""

    @property
    def idle(self) -> bool:
        """True while no request is being served (waiting for a request head)."""
        ...

    def shed(self) -> None:
        """Close now (reset), freeing its file descriptor."""
        ...


def connection_cap(max_connections: int, fd_limit: int | None = None) -> int:
    """The number of HTTP connections to allow: ``max_connections``, less when fds are few.

    The HTTP server gets at most ``fd_limit - max(FD_RESERVE_MIN, fd_limit // 2)``
    connections (at least 1): with the common soft limit of 1,024 that is 512,
    with 20,000 it is 10,000; the rest stays for venue WebSockets, the REST
    client's pool, NATS and log files.

    Args:
        max_connections: the configured ``[http] max_connections``.
        fd_limit: the soft ``RLIMIT_NOFILE``; read from the process when None.
            ``resource.RLIM_INFINITY`` means no limit.
    """
    if fd_limit is None:
        fd_limit = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if fd_limit == resource.RLIM_INFINITY:
        return max_connections
    return max(1, min(max_connections, fd_limit - max(FD_RESERVE_MIN, fd_limit // 2)))


class ConnectionGate:
    """Admits at most ``max_connections`` open connections; sheds idle ones first.

    Full policy: a connection arriving at the cap closes the longest-open idle
    connection (:attr:`ShedAction.EVICTED_IDLE`) and is admitted; with no idle
    connection it is refused (:attr:`ShedAction.REFUSED`, the caller closes it).
    Each shed is reported to ``on_shed`` and logged on ``relay.http`` at most
    once per :data:`SHED_LOG_INTERVAL_S` per action, with the lines held back
    as ``suppressed``.

    Args:
        max_connections: the cap (>= 1).
        on_shed: told of each shed (the Prometheus counter).
        log_limit: the rate limit of the log lines.
    """

    def __init__(
        self,
        max_connections: int,
        on_shed: Callable[[ShedAction], None],
        log_limit: LogRateLimit | None = None,
    ) -> None:
        self.max_connections = max_connections
        self._on_shed = on_shed
        self._log_limit = log_limit or LogRateLimit(SHED_LOG_INTERVAL_S)
        self._open: dict[GatedConnection, None] = {}
        """Open connections, oldest first (dicts keep insertion order)."""

    @property
    def open_connections(self) -> int:
        """Connections admitted and not yet released."""
        return len(self._open)

    def admit(self, connection: GatedConnection) -> bool:
        """Take ``connection`` in (True), shedding an idle one at the cap; False: refuse it."""
        if len(self._open) >= self.max_connections:
            victim = next((c for c in self._open if c.idle), None)
            if victim is None:
                self._shed(ShedAction.REFUSED)
                return False
            del self._open[victim]
            victim.shed()
            self._shed(ShedAction.EVICTED_IDLE)
        self._open[connection] = None
        return True

    def release(self, connection: GatedConnection) -> None:
        """``connection`` closed (no-op when it was refused or already shed)."""
        self._open.pop(connection, None)

    def _shed(self, action: ShedAction) -> None:
        self._on_shed(action)
        suppressed = self._log_limit.allow(action)
        if suppressed is not None:
            log.warning(
                "http connection limit reached",
                extra={
                    "max_connections": self.max_connections,
                    "action": action.value,
                    "suppressed": suppressed,
                },
            )


def bounded_protocol(gate: ConnectionGate, header_timeout_s: float) -> type[H11Protocol]:
    """uvicorn's h11 protocol class, admitting connections through ``gate``.

    A connection that has not sent a complete request head within
    ``header_timeout_s`` of its accept (or of the end of its previous response)
    is closed. Pass the class as ``uvicorn.Config(http=...)``.
    """

    class BoundedH11Protocol(H11Protocol):
        """H11Protocol + :class:`ConnectionGate` + the request-head timeout."""

        def __init__(
            self,
            config: Config,
            server_state: ServerState,
            app_state: dict[str, Any],
            _loop: asyncio.AbstractEventLoop | None = None,
        ) -> None:
            super().__init__(config, server_state, app_state, _loop)
            self._head_timer: asyncio.TimerHandle | None = None

        @property
        def idle(self) -> bool:
            return self.cycle is None or self.cycle.response_complete

        def shed(self) -> None:
            self._stop_head_timer()
            self.transport.abort()

        def connection_made(  # type: ignore[override]
            self, transport: asyncio.Transport
        ) -> None:
            super().connection_made(transport)
            if gate.admit(self):
                self._start_head_timer()
            else:
                transport.abort()

        def connection_lost(self, exc: Exception | None) -> None:
            gate.release(self)
            self._stop_head_timer()
            super().connection_lost(exc)

        def handle_events(self) -> None:
            super().handle_events()
            if not self.idle:
                self._stop_head_timer()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.transport.is_closing():
                self._start_head_timer()

        def _start_head_timer(self) -> None:
            self._stop_head_timer()
            self._head_timer = self.loop.call_later(header_timeout_s, self._head_timeout)

        def _stop_head_timer(self) -> None:
            if self._head_timer is not None:
                self._head_timer.cancel()
                self._head_timer = None

        def _head_timeout(self) -> None:
            self._head_timer = None
            if self.idle and not self.transport.is_closing():
                self.transport.abort()

    return BoundedH11Protocol
