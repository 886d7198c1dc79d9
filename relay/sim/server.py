"""The venue simulator behind ``relay simulate``: recorded sessions served live.

One port answers both WebSocket upgrades and plain HTTP ``GET`` requests:

- A WebSocket client is given one recorded connection: its ``recv`` frames are
  sent byte-for-byte, paced by the recorded gaps divided by the speed factor,
  starting when the client connects or, when the recording begins with client
  ``send`` frames, when the client sends its first frame. After the last frame
  the connection stays open and idle. Every client gets its own replay from the
  first frame (unless faults say otherwise, below).
- A plain HTTP request is answered from the recorded ``http`` records with the
  same path and the same query parameters, size limits (``limit``, ``depth``,
  ``size``) excepted. Several matches are served in recorded order, one per
  request, the last one repeating. Anything else gets a 404 with a JSON body.

Each capture is served under the path prefix ``/<venue>`` (the header's
``venue``): ``/binance-usdm/stream``, ``/binance-usdm/fapi/v1/depth?symbol=SUSHIUSDT``.
With a single capture the unprefixed paths work too. Within a capture holding
several connections, the client's URL path picks the recorded connection whose
URL has that path.

The captures come from :mod:`relay.sim.captures` (format in
``shared/captures/FORMAT.md``).

Faults (:class:`relay.sim.faults.Faults`; ``relay simulate`` flags in brackets), for
fault-injection tests. Frames are counted per served connection (the Nth
recorded frame sent on it; garbage frames do not count); ``*_times`` limits
count connections over the simulator's lifetime, so dropping 3 times drops
served connections 1, 2 and 3 and the 4th runs clean:

- ``drop_after_frames`` / ``drop_times`` [``--drop-after N --drop-times K``]:
  after N frames the TCP connection is closed without a WebSocket close frame
  (the client sees an abnormal closure, code 1006).
- ``stall_after_frames`` / ``stall_times`` [``--stall-after N --stall-times K``]:
  after N frames the connection stays open and sends nothing more.
- ``skip_after_frames`` / ``skip_frames`` [``--skip-after N --skip-frames M``]:
  once in the simulator's lifetime, after N frames the next M recorded frames
  are silently not sent (a sequence gap).
- ``garbage_every`` [``--garbage-every N``]: after every N frames one garbage
  frame, in turn: text that is not JSON, a JSON object of an unknown event type
  (:data:`relay.sim.faults.GARBAGE_UNKNOWN_EVENT`), the previous frame cut in half, 16 random
  bytes as a binary frame.
- ``poison_every`` [``--poison-every N``]: after every N recorded frames one
  poison frame, drawn in turn from a fixed set (:mod:`relay.sim.poison`:
  5,000-deep nesting, the previous frame with its fields type-swapped, lists
  where words belong, invalid UTF-8 bytes, NaN / ``1e400`` prices, a 1 MB
  string); every recorded frame is still sent.
- ``refuse_for_s`` [``--refuse-for T``]: WebSocket handshakes get HTTP 503 for
  T seconds from the start.
- ``refuse_ws_after_s`` / ``refuse_ws_for_s`` [``--refuse-ws-after S
  --refuse-ws-for T``]: a WebSocket outage mid-session. S seconds after the
  first WebSocket connection was accepted, every open WebSocket connection is
  dropped (TCP closed without a close frame: the client sees 1006) and
  handshakes get HTTP 503 for T seconds; REST keeps answering, and its
  derived answers (below) follow the replay clock through the outage.
- ``rest_error_status`` / ``rest_error_for_s`` [``--rest-error 429|500
  --rest-error-for T``]: REST requests get that status (429 with
  ``Retry-After: 1``) for T seconds from the start.
- ``reconnect`` [``--reconnect restart|resume``]: ``restart`` (default) serves
  every client the recorded connection from its first frame; ``resume`` keeps
  one clock per recorded connection from the first time it was served, and a
  reconnecting client continues at the frame whose recorded offset (divided by
  the speed) matches the elapsed time, the frames in between lost; at ``max``
  speed it continues after the last frame passed.

After a skip, and always in ``resume`` mode, REST book snapshots are answered
as the venue would: the book as of the last frame the replay has passed (sent
or skipped), built by the venue's registered snapshot builder
(:mod:`relay.sim.venues`, e.g. Binance's in :mod:`relay.sim.venues.binance`); until the
replay passes the recorded snapshot, and for other venues, the recorded
snapshot is served.

REST requests no recorded answer matches are offered to the venue's derived
answers (:mod:`relay.sim.rest_answers`, e.g. Binance's open interest, aggregate
trades and book tickers in :mod:`relay.sim.venues.binance_rest`), given how
many frames of each recorded connection the replay clock has passed: those
due by now since the connection was first served (``recorded offset / speed
<= elapsed``; at ``max`` speed, those sent), so the venue's state moves on
while no client is connected, as a real venue's would.

The venue side of the protocol: when a capture's venue has a simulated side
(:class:`relay.sim.venues.registry.SimulatedVenue`, registered in :mod:`relay.sim.venues`),
every served connection gets one. It is shown every recorded frame the replay
passes (sent or skipped, and in ``resume`` mode the frames before the resume
point) and every frame the client sends, and what it answers (pongs, subscribe
acknowledgements, a fresh book snapshot for a channel subscribed again) is sent
to the client at once, between recorded frames. A side may also send other
frames in place of a recorded one (Bitfinex's: channel ids and sequence numbers
renumbered after a resubscribe, checksum messages added). Other captures ignore
what the client sends.

For tests, :attr:`Simulator.rest_log` lists every REST request answered
(monotonic time, path with query, status),
:attr:`Simulator.connections_served` counts WebSocket connections served and
:attr:`Simulator.ws_refused` the handshakes refused by a fault.
"""

from __future__ import annotations

import asyncio
import bisect
import http
import math
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Self
from urllib.parse import urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.http11 import Request, Response

from relay.sim.books import SnapshotBuilder
from relay.sim.captures import Capture, read_capture
from relay.sim.errors import SimulatorError
from relay.sim.faults import FaultLedger, Faults, ReconnectMode
from relay.sim.replay import (
    ConnectionReplay,
    ConnectionScript,
    RecordedResponse,
    ReplayClock,
    RestKey,
    VenueScript,
    build_venue_script,
    parse_speed,
    replay_schedule,
    rest_key,
)
from relay.sim.responses import fault_response, http_response, not_found
from relay.sim.rest_answers import RestAnswers
from relay.sim.venues.registry import (
    SimulatedVenue,
    rest_answers_for,
    simulated_venue,
    snapshot_builder_for,
)


class Simulator:
    """A WebSocket + HTTP server replaying recorded venue sessions on one port.

    Use as ``async with Simulator([capture]) as sim:`` or call :meth:`start`
    and :meth:`close`. URLs: ``sim.ws_url_for("binance-usdm", "/stream")`` ->
    ``"ws://127.0.0.1:PORT/binance-usdm/stream"``; REST at
    ``sim.http_url_for("binance-usdm", "/fapi/v1/depth?symbol=SUSHIUSDT")``.

    Attributes:
        rest_log: every plain HTTP request answered, in order, as
            ``(time.monotonic() seconds, path with query, status)``, e.g.
            ``(5012.3, "/fapi/v1/depth?symbol=SUSHIUSDT&limit=1000", 429)``.
    """

    def __init__(
        self,
        captures: Sequence[Capture],
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        speed: float | None = 1.0,
        faults: Faults | None = None,
    ) -> None:
        """Prepare a simulator; nothing is bound until :meth:`start`.

        Args:
            captures: one or more captures with distinct venue names.
            host: interface to bind, e.g. ``"127.0.0.1"``.
            port: TCP port; ``0`` picks a free one (see :attr:`port`).
            speed: factor dividing recorded gaps (``1.0`` realtime), ``None`` for max.
            faults: faults to inject (see :class:`Faults`); none by default.

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
        self._faults = faults or Faults()
        self._ledger = FaultLedger(self._faults)
        self._started_s = 0.0
        self._clocks: dict[tuple[str, str], ReplayClock] = {
            (venue, connection.conn): ReplayClock()
            for venue, script in venues.items()
            for connection in script.connections
        }
        self._books: dict[str, SnapshotBuilder] = {}
        self._rest_answers: dict[str, RestAnswers] = {}
        self._offsets_s: dict[tuple[str, str], tuple[float, ...]] = {}
        for venue, script in venues.items():
            texts = [[frame.data for frame in c.frames] for c in script.connections]
            builder = snapshot_builder_for(venue, texts)
            if builder is not None:
                self._books[venue] = builder
            answers = rest_answers_for(venue, texts)
            if answers is not None:
                self._rest_answers[venue] = answers
                for c in script.connections:
                    self._offsets_s[(venue, c.conn)] = replay_schedule(
                        [frame.t for frame in c.frames], speed
                    )
        self.rest_log: list[tuple[float, str, int]] = []
        self.ws_refused = 0
        """WebSocket handshakes refused with 503 by ``refuse_for_s`` or the mid-session outage."""
        self._open: set[ServerConnection] = set()
        self._outage_task: asyncio.Task[None] | None = None
        self._outage_from_s: float | None = None

    async def start(self) -> None:
        """Bind the port and start answering.

        Raises:
            SimulatorError: already started.
            OSError: the address cannot be bound.
        """
        if self._server is not None:
            raise SimulatorError("simulator already started")
        self._started_s = time.monotonic()
        self._server = await serve(
            self._handle_connection,
            self._host,
            self._requested_port,
            process_request=self._process_request,
        )

    async def close(self) -> None:
        """Close open connections (code 1001) and stop listening; idempotent."""
        server, self._server = self._server, None
        outage, self._outage_task = self._outage_task, None
        if outage is not None:
            outage.cancel()
            await asyncio.gather(outage, return_exceptions=True)
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
    def faults(self) -> Faults:
        """The faults injected (all off unless given)."""
        return self._faults

    @property
    def connections_served(self) -> int:
        """WebSocket connections accepted and served a recording so far."""
        return self._ledger.connections_served

    @property
    def poison_frames_sent(self) -> int:
        """Poison frames sent so far, over every connection (``--poison-every``)."""
        return self._ledger.poison_frames_sent

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

    def _route_connection(self, target: str) -> tuple[str, ConnectionScript] | None:
        parts = urlsplit(target)
        for script, path in self._candidates(parts.path):
            connection = script.connection_for(path, parts.query)
            if connection is not None:
                return script.venue, connection
        return None

    def _next_response(self, target: str) -> tuple[VenueScript, str, RecordedResponse] | None:
        parts = urlsplit(target)
        for script, path in self._candidates(parts.path):
            key = rest_key(path, parts.query)
            found = script.responses.get(key)
            if found:
                cursor_key = (script.venue, key)
                index = self._rest_cursors.get(cursor_key, 0)
                self._rest_cursors[cursor_key] = index + 1
                return script, path, found[min(index, len(found) - 1)]
        return None

    def _books_accurate(self) -> bool:
        return self._ledger.skip_taken or self._faults.reconnect is ReconnectMode.RESUME

    def _answer_rest(self, target: str, now_s: float) -> Response:
        faults = self._faults
        if (
            faults.rest_error_status is not None
            and now_s < self._started_s + faults.rest_error_for_s
        ):
            return fault_response(faults.rest_error_status, target)
        found = self._next_response(target)
        if found is None:
            derived = self._derived_answer(target, now_s)
            if derived is not None:
                return http_response(derived[0], derived[1], ())
            return not_found(target, "no recorded response for this path and query")
        script, path, response = found
        body = response.body
        builder = self._books.get(script.venue)
        if builder is not None and response.status == http.HTTPStatus.OK and self._books_accurate():
            positions = [self._clocks[(script.venue, c.conn)].position for c in script.connections]
            body = builder.snapshot(path, urlsplit(target).query, body, positions) or body
        return http_response(response.status, body, response.headers)

    def _derived_answer(self, target: str, now_s: float) -> tuple[int, str] | None:
        """The venue's derived REST answer (see the module docstring), or None."""
        parts = urlsplit(target)
        for script, path in self._candidates(parts.path):
            answers = self._rest_answers.get(script.venue)
            if answers is None:
                continue
            positions = [
                self._clock_position(script.venue, c.conn, now_s) for c in script.connections
            ]
            answer = answers.answer(path, parts.query, positions)
            if answer is not None:
                return answer
        return None

    def _clock_position(self, venue: str, conn: str, now_s: float) -> int:
        """Frames of a recorded connection the replay clock has passed by ``now_s``."""
        clock = self._clocks[(venue, conn)]
        if clock.started_s is None or self._speed is None:
            return clock.position
        due = bisect.bisect_right(self._offsets_s[(venue, conn)], now_s - clock.started_s)
        return max(clock.position, due)

    def _refusing(self, now_s: float) -> bool:
        """True while WebSocket handshakes are refused (``refuse_for_s`` or the outage)."""
        faults = self._faults
        if now_s < self._started_s + faults.refuse_for_s:
            return True
        start = self._outage_from_s
        return start is not None and start <= now_s < start + faults.refuse_ws_for_s

    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        now_s = time.monotonic()
        if "websocket" in request.headers.get("Upgrade", "").lower():
            if self._route_connection(request.path) is None:
                return not_found(request.path, "no recorded WebSocket connection at this path")
            if self._refusing(now_s):
                self.ws_refused += 1
                return fault_response(http.HTTPStatus.SERVICE_UNAVAILABLE, request.path)
            return None
        response = self._answer_rest(request.path, now_s)
        self.rest_log.append((now_s, request.path, response.status_code))
        return response

    async def _handle_connection(self, connection: ServerConnection) -> None:
        request = connection.request
        routed = None if request is None else self._route_connection(request.path)
        if routed is None:
            return
        venue, script = routed
        after_s = self._faults.refuse_ws_after_s
        if after_s is not None and self._outage_from_s is None:
            self._outage_from_s = time.monotonic() + after_s
            self._outage_task = asyncio.get_running_loop().create_task(
                self._outage(self._outage_from_s)
            )
        self._open.add(connection)
        try:
            await self._replay(connection, venue, script)
        finally:
            self._open.discard(connection)

    async def _outage(self, from_s: float) -> None:
        """At ``from_s`` (monotonic), drop every open WebSocket connection (no close frame)."""
        await asyncio.sleep(max(0.0, from_s - time.monotonic()))
        for connection in list(self._open):
            connection.transport.abort()

    async def _replay(
        self, connection: ServerConnection, venue: str, script: ConnectionScript
    ) -> None:
        """Serve ``script`` of ``venue`` on ``connection`` until it closes."""
        replay = ConnectionReplay(
            connection,
            script,
            self._speed,
            faults=self._ledger.next_connection(),
            clock=self._clocks[(venue, script.conn)],
            claim_skip=self._ledger.claim_skip,
            venue_side=self._venue_side(venue),
            on_poison=self._ledger.count_poison,
        )
        await replay.run()

    def _venue_side(self, venue: str) -> SimulatedVenue | None:
        """A fresh venue side for one connection of ``venue``, if one is registered."""
        factory = simulated_venue(venue)
        return None if factory is None else factory()


async def run_simulator(
    paths: list[Path], host: str, port: int, speed: str, faults: Faults | None = None
) -> None:
    """Serve capture files until cancelled: the body of ``relay simulate``.

    Once the port is bound, prints one line to stdout and flushes it, e.g.
    ``relay simulate: listening on ws://127.0.0.1:9000 (binance-usdm:
    /binance-usdm/stream [4 REST], binance-spot: /binance-spot/stream [4 REST])``;
    with faults, a second line names them, e.g. ``relay simulate: faults: drop
    after 10 frames (3 connections)``.

    Args:
        paths: capture files (``*.jsonl``), one per venue.
        host: interface to bind, e.g. ``"127.0.0.1"``.
        port: TCP port, ``0`` for a free one (the printed line names it).
        speed: ``"realtime"``, ``"max"`` or a factor such as ``"2"``.
        faults: faults to inject; none by default.

    Raises:
        InvalidSpeedError: bad ``speed``.
        CaptureError: a capture file is unreadable or malformed.
        SimulatorError: no paths, or two captures of the same venue.
        OSError: the address cannot be bound.
    """
    factor = parse_speed(speed)
    captures = [read_capture(path) for path in paths]
    async with Simulator(captures, host=host, port=port, speed=factor, faults=faults) as simulator:
        print(
            f"relay simulate: listening on {simulator.ws_base_url} ({simulator.describe_routes()})",
            flush=True,
        )
        described = simulator.faults.describe()
        if described:
            print(f"relay simulate: faults: {described}", flush=True)
        await asyncio.Event().wait()
