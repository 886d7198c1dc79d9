"""The control API under ``/api/v1`` (docs/control.md): streams, venues, status, live events.

Routes (JSON; Decimals as strings; times in seconds):

- ``GET /streams``, ``POST /streams``, ``DELETE /streams/{venue}/{instrument}[?data_type=]``,
  ``PATCH /streams/{venue}/{instrument}/{data_type}``;
- ``GET /venues``, ``POST /venues/{id}/reconnect``, ``GET /capabilities``;
- ``GET /status`` (one snapshot), ``GET /events`` (``text/event-stream``, a
  status snapshot every ``events_interval_s``), ``GET /openapi.json``.

Auth: ``Authorization: Bearer <token>`` against ``[control] tokens`` (compared in
constant time); changes need a token that is not read-only (401 without or
with an unknown one, 403 with a read-only one); GETs need one only with
``read_requires_token``. Request bodies are an input boundary: larger than
``max_body_bytes`` -> 413, not JSON -> 400, wrong shape or values -> 422 with
every problem; every error is ``{"problems": [{"path", "message"}]}``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from relay.application.control.service import ControlError, ControlService
from relay.config.control import ControlConfig, ControlToken
from relay.config.errors import ConfigProblem
from relay.domain.model import DataType
from relay.infrastructure.control.openapi import OPENAPI

log = logging.getLogger("relay.control")

PREFIX = "/api/v1"


@dataclass(frozen=True, slots=True)
class ControlApi:
    """What the routes work with.

    Attributes:
        config: ``[control]``.
        service: the desired streams and their changes.
        streams: the ``Stream`` rows now.
        status: the ``/status`` snapshot now.
        venues: the ``/venues`` rows now.
        reconnect: reconnects every connection of a venue id; False if it has none.
        capabilities: venue id -> ``{"data_types": [...], "depths": null}``.
        stopping: set when the relay stops (``/events`` streams end).
        loaded: set once the group's runtime changes are loaded from the bucket
            (or could not be); until then ``/streams`` answers 503.
    """

    config: ControlConfig
    service: ControlService
    streams: Callable[[], list[dict[str, object]]]
    status: Callable[[], dict[str, object]]
    venues: Callable[[], list[dict[str, object]]]
    reconnect: Callable[[str], Awaitable[bool]]
    capabilities: Mapping[str, Mapping[str, object]]
    stopping: asyncio.Event
    loaded: asyncio.Event


class _Refused(Exception):
    def __init__(self, status: int, message: str, path: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.problems = [ConfigProblem(path, message)]


def _problems(status: int, problems: Sequence[ConfigProblem]) -> Response:
    body = {"problems": [{"path": p.path, "message": p.message} for p in problems]}
    headers = {"WWW-Authenticate": 'Bearer realm="relay"'} if status == 401 else None
    return JSONResponse(body, status_code=status, headers=headers)


def _json(body: object, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


def control_routes(api: ControlApi) -> list[Route]:
    """The routes, mounted at :data:`PREFIX` by the HTTP app."""
    tokens = api.config.tokens

    def caller(request: Request, change: bool) -> ControlToken | None:
        """The token's owner; raises :class:`_Refused` (401/403) when not allowed."""
        header = request.headers.get("authorization", "")
        scheme, _, given = header.partition(" ")
        found = None
        if scheme.lower() == "bearer" and given:
            given_bytes = given.strip().encode()
            for token in tokens:
                if hmac.compare_digest(token.token.encode(), given_bytes):
                    found = token
        if found is None:
            if change or api.config.read_requires_token:
                raise _Refused(401, "missing or unknown bearer token (Authorization: Bearer ...)")
            return None
        if change and found.read_only:
            raise _Refused(403, f"token {found.name!r} is read-only")
        return found

    async def body_of(request: Request) -> Any:
        limit = api.config.max_body_bytes
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise _Refused(413, f"request body over {limit} bytes")
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise _Refused(413, f"request body over {limit} bytes")
            chunks.append(chunk)
        try:
            return orjson.loads(b"".join(chunks))
        except orjson.JSONDecodeError as exc:
            raise _Refused(400, f"request body is not JSON: {str(exc)[:120]}") from None

    def endpoint(
        handler: Callable[[Request, ControlToken | None], Awaitable[Response]],
        change: bool,
        loaded: bool = False,
    ) -> Callable[[Request], Awaitable[Response]]:
        """``handler`` behind the token check (and, with ``loaded``, the start gate)."""

        async def run(request: Request) -> Response:
            try:
                who = caller(request, change)
                if loaded and not api.loaded.is_set():
                    raise _Refused(503, "starting: the runtime changes are not loaded yet")
                return await handler(request, who)
            except _Refused as exc:
                return _problems(exc.status, exc.problems)
            except ControlError as exc:
                return _problems(exc.status, exc.problems)

        return run

    def name(who: ControlToken | None) -> str:
        return who.name if who is not None else "anonymous"

    async def list_streams(request: Request, who: ControlToken | None) -> Response:
        return _json({"streams": api.streams()})

    async def add_stream(request: Request, who: ControlToken | None) -> Response:
        added = await api.service.add(await body_of(request), name(who))
        keys = {s.key for s in added}
        rows = [r for r in api.streams() if _row_key(r) in keys]
        return _json({"streams": rows}, 201)

    async def remove_stream(request: Request, who: ControlToken | None) -> Response:
        params = request.path_params
        data_type = request.query_params.get("data_type")
        keys = await api.service.remove(params["venue"], params["instrument"], data_type, name(who))
        return _json(
            {"removed": [{"venue": v, "instrument": i, "data_type": d.value} for v, i, d in keys]}
        )

    async def patch_stream(request: Request, who: ControlToken | None) -> Response:
        params = request.path_params
        try:
            data_type = DataType(params["data_type"])
        except ValueError:
            raise _Refused(404, f"no such data type: {params['data_type'][:40]!r}") from None
        key = (params["venue"], params["instrument"], data_type)
        if api.service.stream(key) is None:
            raise _Refused(404, f"no such stream: {key[0]} {key[1]} {data_type.value}")
        spec = await api.service.patch(key, await body_of(request), name(who))
        row = next((r for r in api.streams() if _row_key(r) == spec.key), None)
        return _json(row)

    async def list_venues(request: Request, who: ControlToken | None) -> Response:
        return _json({"venues": api.venues()})

    async def reconnect_venue(request: Request, who: ControlToken | None) -> Response:
        venue = request.path_params["venue"]
        if not await api.reconnect(venue):
            raise _Refused(404, f"no connection of venue {venue[:64]!r}")
        log.info(
            "control change", extra={"token": name(who), "action": "reconnect", "venue": venue}
        )
        return _json({"reconnecting": venue}, 202)

    async def capabilities(request: Request, who: ControlToken | None) -> Response:
        return _json({"venues": api.capabilities})

    async def status(request: Request, who: ControlToken | None) -> Response:
        return _json(api.status())

    async def events(request: Request, who: ControlToken | None) -> Response:
        async def feed() -> AsyncIterator[bytes]:
            while not api.stopping.is_set():
                yield b"data: " + orjson.dumps(api.status()) + b"\n\n"
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(api.config.events_interval_s):
                        await api.stopping.wait()
                if await request.is_disconnected():
                    return

        return StreamingResponse(
            feed(),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )

    async def openapi(request: Request, who: ControlToken | None) -> Response:
        return _json(OPENAPI)

    return [
        Route("/streams", endpoint(list_streams, False, True), methods=["GET"]),
        Route("/streams", endpoint(add_stream, True, True), methods=["POST"]),
        Route(
            "/streams/{venue}/{instrument:path}",
            endpoint(remove_stream, True, True),
            methods=["DELETE"],
        ),
        Route(
            "/streams/{venue}/{instrument:path}/{data_type}",
            endpoint(patch_stream, True, True),
            methods=["PATCH"],
        ),
        Route("/venues", endpoint(list_venues, False), methods=["GET"]),
        Route("/venues/{venue}/reconnect", endpoint(reconnect_venue, True), methods=["POST"]),
        Route("/capabilities", endpoint(capabilities, False), methods=["GET"]),
        Route("/status", endpoint(status, False), methods=["GET"]),
        Route("/events", endpoint(events, False), methods=["GET"]),
        Route("/openapi.json", endpoint(openapi, False), methods=["GET"]),
    ]


def _row_key(row: Mapping[str, object]) -> tuple[object, object, DataType]:
    return (row["venue"], row["instrument"], DataType(str(row["data_type"])))


def now() -> tuple[float, int]:
    """(monotonic seconds, epoch milliseconds) now."""
    return time.monotonic(), time.time_ns() // 1_000_000
