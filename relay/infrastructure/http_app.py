"""The operations HTTP server (starlette + uvicorn): /livez, /readyz, /health, /metrics.

Which probe is for what: docs/operations.md (liveness -> ``/livez``, readiness
-> ``/readyz``, people and dashboards -> ``/health``).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from collections.abc import Callable, Generator, Sequence

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from relay.application.health import HealthMonitor, HealthStatus
from relay.config.model import HttpConfig
from relay.domain.errors import RelayError
from relay.infrastructure.http_limits import (
    ConnectionGate,
    ShedAction,
    bounded_protocol,
    connection_cap,
)
from relay.infrastructure.metrics import PrometheusMetrics

PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def build_app(
    health: HealthMonitor, metrics: PrometheusMetrics, extra: Sequence[BaseRoute] = ()
) -> Starlette:
    """The ASGI app.

    ``extra``: further routes (the control API's ``Mount("/api/v1", ...)``, the dashboard
    ``/ui``).

    - ``GET /livez``: 200 ``{"status": "alive"}`` whenever the event loop answers.
    - ``GET /readyz``: 200 ``{"ready": true}`` when NATS is connected, JetStream
      stores and at least one venue is connected; else 503
      ``{"ready": false, "reasons": ["nats: not connected", ...]}``
      (:meth:`HealthMonitor.readiness`).
    - ``GET /health``: :meth:`HealthMonitor.report` as JSON; 200, or 503 when unhealthy.
    - ``GET /metrics``: Prometheus text exposition.
    """

    async def livez_endpoint(request: Request) -> Response:
        return JSONResponse({"status": "alive"})

    async def readyz_endpoint(request: Request) -> Response:
        reasons = health.readiness()
        if reasons:
            return JSONResponse({"ready": False, "reasons": reasons}, status_code=503)
        return JSONResponse({"ready": True})

    async def health_endpoint(request: Request) -> Response:
        report = health.report()
        code = 503 if report["status"] == HealthStatus.UNHEALTHY.value else 200
        return JSONResponse(report, status_code=code)

    async def metrics_endpoint(request: Request) -> Response:
        return Response(metrics.exposition(), media_type=PROMETHEUS_CONTENT_TYPE)

    return Starlette(
        routes=[
            Route("/livez", livez_endpoint, methods=["GET"]),
            Route("/readyz", readyz_endpoint, methods=["GET"]),
            Route("/health", health_endpoint, methods=["GET"]),
            Route("/metrics", metrics_endpoint, methods=["GET"]),
            *extra,
        ]
    )


ACCEPTS_PER_WAKEUP = 64
"""Connections asyncio accepts each time the listening socket is readable.

Each holds a file descriptor until its protocol runs (and, past the cap, sheds
a connection), a few loop iterations later; asyncio's default (the listen
backlog, 2,048) let one burst take every descriptor of a process limited to
1,024 before the gate saw any of them.
"""


class HttpBindError(RelayError):
    """The HTTP server cannot listen on its address (in use, not an address of this host).

    Attributes:
        listen: the ``[http] listen`` value.
        reason: the operating system's words, e.g. ``"address already in use"``.
    """

    def __init__(self, listen: str, reason: str) -> None:
        super().__init__(f"http: cannot listen on {listen}: {reason}")
        self.listen = listen
        self.reason = reason


class HttpServer:
    """uvicorn serving :func:`build_app` on ``[http] listen`` inside the relay's event loop.

    Bounded (:mod:`relay.infrastructure.http_limits`): at most
    :func:`~relay.infrastructure.http_limits.connection_cap` connections, idle
    ones shed first; request heads of at most ``max_header_bytes`` within
    ``header_timeout_s``; keep-alive ``keep_alive_timeout_s``; listen queue
    ``backlog``. uvicorn runs the h11 protocol only (no httptools), so these
    limits hold whatever is installed.

    uvicorn installs no logging handler of its own (``log_config=None``): its
    ``uvicorn.error`` lines (WARNING and up) go through the handler
    :func:`relay.infrastructure.logs.configure_logging` gives the ``uvicorn``
    logger, as JSON (or text) lines, rate-limited; access lines are off.

    Args:
        app: the ASGI app.
        config: the ``[http]`` section.
        on_shed: told of each connection shed at the cap (the metrics counter).
    """

    def __init__(
        self, app: Starlette, config: HttpConfig, on_shed: Callable[[ShedAction], None]
    ) -> None:
        self.listen = config.listen
        self.max_connections = connection_cap(config.max_connections)
        self.gate = ConnectionGate(self.max_connections, on_shed)
        uvicorn_config = uvicorn.Config(
            app,
            host=config.host,
            port=config.port,
            http=bounded_protocol(self.gate, config.header_timeout_s),
            # uvicorn answers 503 when len(connections) >= limit_concurrency, counting the
            # asking connection itself; the gate already holds connections at the cap.
            limit_concurrency=self.max_connections + 1,
            h11_max_incomplete_event_size=config.max_header_bytes,
            timeout_keep_alive=config.keep_alive_timeout_s,
            backlog=ACCEPTS_PER_WAKEUP,
            log_level="warning",
            access_log=False,
            lifespan="off",
            log_config=None,
        )
        self._backlog = config.backlog
        self._server = _QuietServer(uvicorn_config, config.backlog)
        self._socket: socket.socket | None = None

    def bind(self) -> None:
        """Open the listening socket now, so that a taken port stops the start.

        Raises:
            HttpBindError: the address is in use or cannot be bound.
        """
        config = self._server.config
        try:
            self._socket = socket.create_server(
                (config.host, config.port),
                family=socket.AF_INET6 if ":" in config.host else socket.AF_INET,
                backlog=self._backlog,
            )
        except OSError as exc:
            reason = os.strerror(exc.errno) if exc.errno else str(exc)
            raise HttpBindError(self.listen, reason.lower()) from None
        self._socket.setblocking(False)

    async def run(self) -> None:
        """Serve until cancelled, on the socket :meth:`bind` opened (bound here if not yet).

        Raises:
            HttpBindError: the address is in use or cannot be bound.
        """
        if self._socket is None:
            self.bind()
        assert self._socket is not None
        try:
            await self._server.serve(sockets=[self._socket])
        except asyncio.CancelledError:
            # Cancelled (a task of the relay failed), uvicorn's shutdown does not run:
            # close its listening servers and the socket here.
            self._server.should_exit = True
            for server in getattr(self._server, "servers", ()):
                server.close()
            self._socket.close()
            raise

    @property
    def started(self) -> bool:
        """True once the socket is listening."""
        return self._server.started

    def stop(self) -> None:
        """Ask the server to exit."""
        self._server.should_exit = True


class _QuietServer(uvicorn.Server):
    """A uvicorn server that leaves SIGTERM/SIGINT to the relay's own shutdown.

    asyncio uses one number for the listen queue and for the connections it
    accepts per wake-up; uvicorn is given :data:`ACCEPTS_PER_WAKEUP`, and once
    it listens the socket's queue is set back to ``backlog``.
    """

    def __init__(self, config: uvicorn.Config, backlog: int) -> None:
        super().__init__(config)
        self._backlog = backlog

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        """Start serving on ``sockets``, then give them the full listen queue."""
        await super().startup(sockets)
        for sock in sockets or ():
            sock.listen(self._backlog)

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield
