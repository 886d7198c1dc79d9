"""The operations HTTP server (starlette + uvicorn): ``GET /health`` and ``GET /metrics``."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Generator

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from relay.application.health import HealthMonitor, HealthStatus
from relay.infrastructure.metrics import PrometheusMetrics

PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def build_app(health: HealthMonitor, metrics: PrometheusMetrics) -> Starlette:
    """The ASGI app.

    - ``GET /health``: :meth:`HealthMonitor.report` as JSON; 200, or 503 when unhealthy.
    - ``GET /metrics``: Prometheus text exposition.
    """

    async def health_endpoint(request: Request) -> Response:
        report = health.report()
        code = 503 if report["status"] == HealthStatus.UNHEALTHY.value else 200
        return JSONResponse(report, status_code=code)

    async def metrics_endpoint(request: Request) -> Response:
        return Response(metrics.exposition(), media_type=PROMETHEUS_CONTENT_TYPE)

    return Starlette(
        routes=[
            Route("/health", health_endpoint, methods=["GET"]),
            Route("/metrics", metrics_endpoint, methods=["GET"]),
        ]
    )


class HttpServer:
    """uvicorn serving :func:`build_app` on ``host:port`` inside the relay's event loop.

    uvicorn installs no logging handler of its own (``log_config=None``): its
    ``uvicorn.error`` lines (WARNING and up) go through the handler
    :func:`relay.infrastructure.logs.configure_logging` gives the ``uvicorn``
    logger, as JSON (or text) lines, rate-limited; access lines are off.
    """

    def __init__(self, app: Starlette, host: str, port: int) -> None:
        config = uvicorn.Config(
            app,
            host=host,
            port=port,
            log_level="warning",
            access_log=False,
            lifespan="off",
            log_config=None,
        )
        self._server = _QuietServer(config)

    async def run(self) -> None:
        """Serve until cancelled."""
        try:
            await self._server.serve()
        except asyncio.CancelledError:
            self._server.should_exit = True
            raise

    @property
    def started(self) -> bool:
        """True once the socket is listening."""
        return self._server.started

    def stop(self) -> None:
        """Ask the server to exit."""
        self._server.should_exit = True


class _QuietServer(uvicorn.Server):
    """A uvicorn server that leaves SIGTERM/SIGINT to the relay's own shutdown."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield
