"""The venue simulator behind ``relay simulate``: recorded sessions served live.

One port answers both WebSocket upgrades and plain HTTP ``GET`` requests:

- A WebSocket client is given one recorded connection: its ``recv`` frames are
  sent byte-for-byte, paced by the recorded gaps divided by the speed factor,
  starting when the client connects or, when the recording begins with client
  ``send`` frames, when the client sends its first frame. After the last frame
  the connection stays open and idle. Every client gets its own replay from the
  first frame.
- A plain HTTP request is answered from the recorded ``http`` records with the
  same path and the same query parameters, size limits (``limit``, ``depth``,
  ``size``) excepted. Several matches are served in recorded order, one per
  request, the last one repeating. Anything else gets a 404 with a JSON body.

Each capture is served under the path prefix ``/<venue>`` (the header's
``venue``): ``/binance-usdm/stream``, ``/binance-usdm/fapi/v1/depth?symbol=SUSHIUSDT``.
With a single capture the unprefixed paths work too. Within a capture holding
several connections, the client's URL path picks the recorded connection whose
URL has that path.

The captures come from :mod:`relay.infrastructure.captures` (format in
``shared/captures/FORMAT.md``).
"""

from __future__ import annotations

import asyncio
import email.utils
import http
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Self
from urllib.parse import parse_qsl, urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from relay.domain.errors import RelayError
from relay.infrastructure.captures import Capture, CaptureError, RecordKind, read_capture

SIZE_LIMIT_QUERY_PARAMS = frozenset({"limit", "depth", "size"})
"""Query parameters ignored when matching a REST request to a recorded one."""

SPEED_REALTIME = "realtime"
SPEED_MAX = "max"

_MANAGED_HEADERS = frozenset(
    {"connection", "content-length", "transfer-encoding", "content-encoding", "keep-alive"}
)

RestKey = tuple[str, tuple[tuple[str, str], ...]]
"""``(path, sorted query pairs without size limits)``: how REST requests are matched."""


class SimulatorError(RelayError):
    """The simulator was configured or used wrongly (duplicate venue, not started...)."""


class InvalidSpeedError(SimulatorError, ValueError):
    """A ``--speed`` value is neither ``realtime``, ``max`` nor a positive number.

    Also a :class:`ValueError`, so ``argparse`` reports it as a bad argument.

    Attributes:
        text: the refused value, as given.
    """

    def __init__(self, text: str) -> None:
        super().__init__(
            f"invalid speed {text!r}: expected 'realtime', 'max' or a positive number"
            " (2 = twice as fast)"
        )
        self.text = text


def parse_speed(text: str) -> float | None:
    """Parse a ``--speed`` value into the factor recorded gaps are divided by.

    Args:
        text: ``"realtime"``, ``"max"`` or a positive finite number such as ``"2"``.

    Returns:
        ``1.0`` for ``realtime``, ``None`` for ``max`` (no waiting at all), else
        the number (``"2"`` -> ``2.0``, twice as fast).

    Raises:
        InvalidSpeedError: anything else, including ``0``, negatives, ``nan``, ``inf``.
    """
    value = text.strip().lower()
    if value == SPEED_REALTIME:
        return 1.0
    if value == SPEED_MAX:
        return None
    try:
        factor = float(value)
    except ValueError:
        raise InvalidSpeedError(text) from None
    if not math.isfinite(factor) or factor <= 0.0:
        raise InvalidSpeedError(text)
    return factor


def replay_schedule(times_s: Sequence[float], speed: float | None) -> tuple[float, ...]:
    """When to send each frame, relative to the moment serving starts.

    Args:
        times_s: recorded ``t`` of each frame, Unix epoch seconds, in order.
        speed: the factor gaps are divided by (see :func:`parse_speed`), or
            ``None`` for as fast as possible.

    Returns:
        One offset in seconds per frame: ``(t - times_s[0]) / speed``, never
        negative; all ``0.0`` when ``speed`` is ``None``. E.g. times
        ``(100.0, 100.5, 101.0)`` at speed ``2.0`` give ``(0.0, 0.25, 0.5)``.
    """
    if not times_s:
        return ()
    if speed is None:
        return tuple(0.0 for _ in times_s)
    first = times_s[0]
    return tuple(max(0.0, (t - first) / speed) for t in times_s)


def rest_key(path: str, query: str) -> RestKey:
    """The matching key of a REST request.

    Args:
        path: URL path, e.g. ``"/fapi/v1/depth"``; empty means ``"/"``.
        query: raw query string, e.g. ``"symbol=SUSHIUSDT&limit=1000"``.

    Returns:
        ``("/fapi/v1/depth", (("symbol", "SUSHIUSDT"),))``: the path and the
        sorted query pairs, without :data:`SIZE_LIMIT_QUERY_PARAMS`.
    """
    pairs = parse_qsl(query, keep_blank_values=True)
    kept = tuple(sorted((k, v) for k, v in pairs if k not in SIZE_LIMIT_QUERY_PARAMS))
    return (path or "/", kept)


@dataclass(frozen=True, slots=True)
class ReplayFrame:
    """One recorded venue frame.

    Attributes:
        t: recorded receive time, Unix epoch seconds.
        data: the frame text, byte-for-byte as recorded.
    """

    t: float
    data: str


@dataclass(frozen=True, slots=True)
class ConnectionScript:
    """What one recorded WebSocket connection sends to a client.

    Attributes:
        conn: recorded connection name, e.g. ``"ws-1"``.
        url: recorded URL, e.g. ``"wss://ws.okx.com:8443/ws/v5/public"``.
        path: the URL's path (``"/ws/v5/public"``; ``"/"`` when empty).
        query: the URL's raw query string (``""`` when none).
        waits_for_client_frame: the recording begins with client ``send`` frames,
            so serving starts once the client has sent a frame.
        frames: the ``recv`` frames in recorded order.
    """

    conn: str
    url: str
    path: str
    query: str
    waits_for_client_frame: bool
    frames: tuple[ReplayFrame, ...]


@dataclass(frozen=True, slots=True)
class RecordedResponse:
    """One recorded REST response.

    Attributes:
        status: HTTP status code, e.g. ``200``.
        body: the response body text as recorded (JSON).
        headers: recorded response headers, ``(name, value)`` pairs; often empty.
    """

    status: int
    body: str
    headers: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class VenueScript:
    """Everything one capture file lets the simulator serve.

    Attributes:
        venue: the header's venue name, also the path prefix (``"binance-usdm"``).
        connections: recorded connections in order of their ``connect`` records.
        responses: recorded REST responses by :func:`rest_key`, in recorded order.
    """

    venue: str
    connections: tuple[ConnectionScript, ...]
    responses: Mapping[RestKey, tuple[RecordedResponse, ...]]

    def connection_for(self, path: str, query: str) -> ConnectionScript | None:
        """The recorded connection a client URL is served.

        Args:
            path: the client's URL path without the venue prefix (``"/stream"``).
            query: the client's raw query string.

        Returns:
            The only connection when there is one, whatever the path; otherwise
            the first one whose URL path equals ``path``, preferring one whose
            query also equals ``query``; ``None`` when no URL has that path.
        """
        if len(self.connections) == 1:
            return self.connections[0]
        path = path or "/"
        candidates = [c for c in self.connections if c.path == path]
        for candidate in candidates:
            if candidate.query == query:
                return candidate
        return candidates[0] if candidates else None


def build_venue_script(capture: Capture) -> VenueScript:
    """Group a capture's records into connections and REST responses.

    Args:
        capture: a capture read by :func:`relay.infrastructure.captures.read_capture`.

    Returns:
        The capture's connections (with their ``recv`` frames) and responses.

    Raises:
        CaptureError: a connection is connected twice, or has frames before
            its ``connect`` record.
    """
    urls: dict[str, str] = {}
    first_kind: dict[str, RecordKind] = {}
    frames: dict[str, list[ReplayFrame]] = {}
    responses: dict[RestKey, list[RecordedResponse]] = {}
    for record in capture.records:
        if record.kind is RecordKind.HTTP:
            assert record.url is not None and record.data is not None
            assert record.status is not None
            parts = urlsplit(record.url)
            responses.setdefault(rest_key(parts.path, parts.query), []).append(
                RecordedResponse(status=record.status, body=record.data, headers=record.headers)
            )
            continue
        assert record.conn is not None
        if record.kind is RecordKind.CONNECT:
            assert record.url is not None
            if record.conn in urls:
                raise CaptureError(capture.path, record.line, f"{record.conn} connected twice")
            urls[record.conn] = record.url
            frames[record.conn] = []
            continue
        if record.conn not in urls:
            raise CaptureError(
                capture.path, record.line, f"{record.conn} has frames before its connect record"
            )
        first_kind.setdefault(record.conn, record.kind)
        if record.kind is RecordKind.RECV:
            assert record.data is not None
            frames[record.conn].append(ReplayFrame(t=record.t, data=record.data))
    connections = []
    for conn, url in urls.items():
        parts = urlsplit(url)
        connections.append(
            ConnectionScript(
                conn=conn,
                url=url,
                path=parts.path or "/",
                query=parts.query,
                waits_for_client_frame=first_kind.get(conn) is RecordKind.SEND,
                frames=tuple(frames[conn]),
            )
        )
    return VenueScript(
        venue=capture.header.venue,
        connections=tuple(connections),
        responses={key: tuple(found) for key, found in responses.items()},
    )


class ConnectionReplay:
    """Serves one recorded connection to one connected client.

    Two tasks, both owned by :meth:`run`: a reader that consumes whatever the
    client sends (and marks its first frame) until the client goes away, and a
    sender that waits for its start, then sends each frame at its scheduled
    offset through :meth:`_send_frame`. Once the frames are sent the
    connection stays open until the client or the server closes it.
    """

    def __init__(
        self, connection: ServerConnection, script: ConnectionScript, speed: float | None
    ) -> None:
        """Prepare a replay.

        Args:
            connection: the client's open WebSocket connection.
            script: the recorded connection to serve.
            speed: factor dividing recorded gaps, ``None`` for as fast as possible.
        """
        self._connection = connection
        self._script = script
        self._speed = speed
        self._client_spoke = asyncio.Event()

    async def run(self) -> None:
        """Serve the recording until the connection closes.

        Returns:
            When the client closed the connection or the server is closing.
        """
        async with asyncio.TaskGroup() as tasks:
            sender = tasks.create_task(self._send_frames())
            await self._read_until_closed()
            sender.cancel()

    async def _read_until_closed(self) -> None:
        try:
            async for _ in self._connection:
                self._client_spoke.set()
        except ConnectionClosed:
            return

    async def _send_frames(self) -> None:
        if self._script.waits_for_client_frame:
            await self._client_spoke.wait()
        frames = self._script.frames
        offsets_s = replay_schedule([frame.t for frame in frames], self._speed)
        loop = asyncio.get_running_loop()
        started_s = loop.time()
        try:
            for frame, offset_s in zip(frames, offsets_s, strict=True):
                await asyncio.sleep(max(0.0, started_s + offset_s - loop.time()))
                await self._send_frame(frame)
        except ConnectionClosed:
            return

    async def _send_frame(self, frame: ReplayFrame) -> None:
        await self._connection.send(frame.data)


class Simulator:
    """A WebSocket + HTTP server replaying recorded venue sessions on one port.

    Use as ``async with Simulator([capture]) as sim:`` or call :meth:`start`
    and :meth:`close`. URLs: ``sim.ws_url_for("binance-usdm", "/stream")`` ->
    ``"ws://127.0.0.1:PORT/binance-usdm/stream"``; REST at
    ``sim.http_url_for("binance-usdm", "/fapi/v1/depth?symbol=SUSHIUSDT")``.
    """

    def __init__(
        self,
        captures: Sequence[Capture],
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        speed: float | None = 1.0,
    ) -> None:
        """Prepare a simulator; nothing is bound until :meth:`start`.

        Args:
            captures: one or more captures with distinct venue names.
            host: interface to bind, e.g. ``"127.0.0.1"``.
            port: TCP port; ``0`` picks a free one (see :attr:`port`).
            speed: factor dividing recorded gaps (``1.0`` realtime), ``None`` for max.

        Raises:
            SimulatorError: no captures, duplicate venue names, or a speed that
                is not positive and finite.
            CaptureError: a capture's connections are inconsistent.
        """
        if not captures:
            raise SimulatorError("no capture to simulate")
        if speed is not None and (not math.isfinite(speed) or speed <= 0.0):
            raise SimulatorError(f"speed {speed!r} must be positive and finite")
        venues: dict[str, VenueScript] = {}
        for capture in captures:
            script = build_venue_script(capture)
            if script.venue in venues:
                raise SimulatorError(f"venue {script.venue!r} is given by two captures")
            venues[script.venue] = script
        self._venues = venues
        self._host = host
        self._requested_port = port
        self._speed = speed
        self._server: Server | None = None
        self._rest_cursors: dict[tuple[str, RestKey], int] = {}

    async def start(self) -> None:
        """Bind the port and start answering.

        Raises:
            SimulatorError: already started.
            OSError: the address cannot be bound.
        """
        if self._server is not None:
            raise SimulatorError("simulator already started")
        self._server = await serve(
            self._handle_connection,
            self._host,
            self._requested_port,
            process_request=self._process_request,
        )

    async def close(self) -> None:
        """Close open connections (code 1001) and stop listening; idempotent."""
        server, self._server = self._server, None
        if server is not None:
            server.close()
            await server.wait_closed()

    async def __aenter__(self) -> Self:
        """Start the simulator."""
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Close the simulator."""
        await self.close()

    @property
    def venues(self) -> tuple[str, ...]:
        """Venue names served, in capture order, e.g. ``("binance-usdm",)``."""
        return tuple(self._venues)

    @property
    def port(self) -> int:
        """The bound TCP port (the real one when ``0`` was asked).

        Raises:
            SimulatorError: not started.
        """
        if self._server is None:
            raise SimulatorError("simulator is not started")
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    @property
    def base_url(self) -> str:
        """``http://HOST:PORT`` of the running simulator."""
        return f"http://{self._url_host()}:{self.port}"

    @property
    def ws_base_url(self) -> str:
        """``ws://HOST:PORT`` of the running simulator."""
        return f"ws://{self._url_host()}:{self.port}"

    def ws_url_for(self, venue: str, path: str) -> str:
        """WebSocket URL serving ``venue``'s recorded connection at ``path``.

        Args:
            venue: a served venue name, e.g. ``"binance-usdm"``.
            path: path (and query) as in the recorded URL, e.g. ``"/stream"``.

        Returns:
            ``"ws://127.0.0.1:PORT/binance-usdm/stream"``.

        Raises:
            SimulatorError: unknown venue, or not started.
        """
        return f"{self.ws_base_url}{self._prefixed(venue, path)}"

    def http_url_for(self, venue: str, path: str) -> str:
        """HTTP URL answering ``venue``'s recorded REST requests at ``path``.

        Args:
            venue: a served venue name, e.g. ``"binance-usdm"``.
            path: path and query, e.g. ``"/fapi/v1/depth?symbol=SUSHIUSDT"``.

        Returns:
            ``"http://127.0.0.1:PORT/binance-usdm/fapi/v1/depth?symbol=SUSHIUSDT"``.

        Raises:
            SimulatorError: unknown venue, or not started.
        """
        return f"{self.base_url}{self._prefixed(venue, path)}"

    def describe_routes(self) -> str:
        """One line listing what is served, e.g.
        ``"binance-usdm: /binance-usdm/stream [4 REST], okx: /okx/ws/v5/public"``.
        """
        parts = []
        for venue, script in self._venues.items():
            paths = " ".join(dict.fromkeys(f"/{venue}{c.path}" for c in script.connections))
            rest_count = sum(len(found) for found in script.responses.values())
            rest = f" [{rest_count} REST]" if rest_count else ""
            parts.append(f"{venue}: {paths or '(no WebSocket)'}{rest}")
        return ", ".join(parts)

    def _url_host(self) -> str:
        return f"[{self._host}]" if ":" in self._host else self._host

    def _prefixed(self, venue: str, path: str) -> str:
        if venue not in self._venues:
            raise SimulatorError(f"venue {venue!r} is not served (served: {self.venues})")
        if path and not path.startswith("/"):
            path = f"/{path}"
        return f"/{venue}{path}"

    def _candidates(self, path: str) -> list[tuple[VenueScript, str]]:
        found = []
        segment, slash, rest = path.lstrip("/").partition("/")
        if segment in self._venues:
            found.append((self._venues[segment], f"{slash}{rest}" or "/"))
        if len(self._venues) == 1:
            found.append((next(iter(self._venues.values())), path or "/"))
        return found

    def _route_connection(self, target: str) -> ConnectionScript | None:
        parts = urlsplit(target)
        for script, path in self._candidates(parts.path):
            connection = script.connection_for(path, parts.query)
            if connection is not None:
                return connection
        return None

    def _next_response(self, target: str) -> RecordedResponse | None:
        parts = urlsplit(target)
        for script, path in self._candidates(parts.path):
            key = rest_key(path, parts.query)
            found = script.responses.get(key)
            if found:
                cursor_key = (script.venue, key)
                index = self._rest_cursors.get(cursor_key, 0)
                self._rest_cursors[cursor_key] = index + 1
                return found[min(index, len(found) - 1)]
        return None

    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        if "websocket" in request.headers.get("Upgrade", "").lower():
            if self._route_connection(request.path) is not None:
                return None
            return _not_found(request.path, "no recorded WebSocket connection at this path")
        response = self._next_response(request.path)
        if response is None:
            return _not_found(request.path, "no recorded response for this path and query")
        return _http_response(response.status, response.body, response.headers)

    async def _handle_connection(self, connection: ServerConnection) -> None:
        request = connection.request
        script = None if request is None else self._route_connection(request.path)
        if script is None:
            return
        await ConnectionReplay(connection, script, self._speed).run()


def _not_found(target: str, reason: str) -> Response:
    body = json.dumps({"error": reason, "status": 404, "path": target})
    return _http_response(http.HTTPStatus.NOT_FOUND, body, ())


def _http_response(status: int, body: str, headers: tuple[tuple[str, str], ...]) -> Response:
    body_bytes = body.encode("utf-8")
    recorded = [(name, value) for name, value in headers if name.lower() not in _MANAGED_HEADERS]
    recorded_names = {name.lower() for name, _ in recorded}
    defaults = [
        ("Date", email.utils.formatdate(usegmt=True)),
        ("Content-Type", "application/json"),
    ]
    response_headers = Headers(
        [(name, value) for name, value in defaults if name.lower() not in recorded_names]
        + recorded
        + [("Connection", "close"), ("Content-Length", str(len(body_bytes)))]
    )
    try:
        reason = http.HTTPStatus(status).phrase
    except ValueError:
        reason = ""
    return Response(status, reason, response_headers, body_bytes)


async def run_simulator(paths: list[Path], host: str, port: int, speed: str) -> None:
    """Serve capture files until cancelled: the body of ``relay simulate``.

    Once the port is bound, prints one line to stdout and flushes it, e.g.
    ``relay simulate: listening on ws://127.0.0.1:9000 (binance-usdm:
    /binance-usdm/stream [4 REST], binance-spot: /binance-spot/stream [4 REST])``.

    Args:
        paths: capture files (``*.jsonl``), one per venue.
        host: interface to bind, e.g. ``"127.0.0.1"``.
        port: TCP port, ``0`` for a free one (the printed line names it).
        speed: ``"realtime"``, ``"max"`` or a factor such as ``"2"``.

    Raises:
        InvalidSpeedError: bad ``speed``.
        CaptureError: a capture file is unreadable or malformed.
        SimulatorError: no paths, or two captures of the same venue.
        OSError: the address cannot be bound.
    """
    factor = parse_speed(speed)
    captures = [read_capture(path) for path in paths]
    async with Simulator(captures, host=host, port=port, speed=factor) as simulator:
        print(
            f"relay simulate: listening on {simulator.ws_base_url} ({simulator.describe_routes()})",
            flush=True,
        )
        await asyncio.Event().wait()
