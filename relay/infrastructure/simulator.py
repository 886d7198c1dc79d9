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

The captures come from :mod:`relay.infrastructure.captures` (format in
``shared/captures/FORMAT.md``).

Faults (:class:`Faults`; ``relay simulate`` flags in brackets), for
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
  (:data:`GARBAGE_UNKNOWN_EVENT`), the previous frame cut in half, 16 random
  bytes as a binary frame.
- ``poison_every`` [``--poison-every N``]: after every N recorded frames one
  poison frame, drawn in turn from a fixed set (:mod:`relay.infrastructure.poison`:
  5,000-deep nesting, the previous frame with its fields type-swapped, lists
  where words belong, invalid UTF-8 bytes, NaN / ``1e400`` prices, a 1 MB
  string); every recorded frame is still sent.
- ``refuse_for_s`` [``--refuse-for T``]: WebSocket handshakes get HTTP 503 for
  T seconds from the start.
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
or skipped), built by :mod:`relay.infrastructure.simulated_books` for the
venues it knows (Binance); until the replay passes the recorded snapshot, and
for other venues, the recorded snapshot is served.

The venue side of the protocol: when a capture's venue is registered with a
``simulated_venue`` (:class:`relay.infrastructure.venues.registry.SimulatedVenue`),
every served connection gets one. It is shown every recorded frame the replay
passes (sent or skipped, and in ``resume`` mode the frames before the resume
point) and every frame the client sends, and what it answers (pongs, subscribe
acknowledgements, a fresh book snapshot for a channel subscribed again) is sent
to the client at once, between recorded frames. Other captures ignore what
the client sends.

For tests, :attr:`Simulator.rest_log` lists every REST request answered
(monotonic time, path with query, status) and
:attr:`Simulator.connections_served` counts WebSocket connections served.
"""

from __future__ import annotations

import asyncio
import bisect
import email.utils
import enum
import http
import json
import math
import os
import time
from collections.abc import Callable, Mapping, Sequence
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
from relay.infrastructure.poison import poison_frame
from relay.infrastructure.simulated_books import SnapshotBuilder, snapshot_builder_for
from relay.infrastructure.venues.registry import (
    SimulatedVenue,
    UnknownVenueError,
    VenueSpec,
    venue_spec,
)

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


class ReconnectMode(enum.StrEnum):
    """What a client reconnecting to a recorded connection is served."""

    RESTART = "restart"
    """The recorded connection again from its first frame."""
    RESUME = "resume"
    """Where real time would be: the frames sent while it was away are lost."""


REST_ERROR_RETRY_AFTER_S = 1
"""``Retry-After`` seconds sent with a simulated 429."""

GARBAGE_NOT_JSON = "relay-simulator: garbage frame, not JSON {"
"""The text garbage frame that is not JSON."""

GARBAGE_UNKNOWN_EVENT = (
    '{"stream":"simulator@garbage","data":{"e":"simulatorGarbage","E":0},'
    '"event":"simulatorGarbage","type":"simulatorGarbage"}'
)
"""The garbage frame that is JSON of an event type no venue sends."""

GARBAGE_BINARY_BYTES = 16
"""Length of the random binary garbage frame."""


@dataclass(frozen=True, slots=True)
class Faults:
    """Faults the simulator injects (all off by default); see the module docstring.

    Attributes:
        drop_after_frames: close the TCP connection (no close frame, the client
            sees 1006) after this many frames on a connection; ``None`` never.
        drop_times: how many served connections are dropped (the first ones).
        stall_after_frames: send nothing more, staying open, after this many
            frames on a connection; ``None`` never.
        stall_times: how many served connections stall (the first ones).
        skip_after_frames: after this many frames on a connection, silently
            skip ``skip_frames`` recorded frames, once in the simulator's life.
        skip_frames: how many recorded frames the skip leaves out.
        garbage_every: send one garbage frame after every this many frames;
            ``None`` never.
        poison_every: send one poison frame after every this many frames;
            ``None`` never.
        refuse_for_s: seconds from start during which WebSocket handshakes get 503.
        rest_error_status: HTTP status REST requests get during
            ``rest_error_for_s`` (e.g. 429, 500); ``None`` never.
        rest_error_for_s: seconds from start during which REST requests fail.
        reconnect: ``restart`` or ``resume`` (a plain string is accepted and
            converted).

    Raises:
        SimulatorError: a negative count, a zero ``drop_times`` /
            ``stall_times`` / ``garbage_every``, a negative or non-finite
            duration, a status outside 400-599, a ``rest_error_for_s`` without
            a status, or an unknown ``reconnect``.
    """

    drop_after_frames: int | None = None
    drop_times: int = 1
    stall_after_frames: int | None = None
    stall_times: int = 1
    skip_after_frames: int | None = None
    skip_frames: int = 0
    garbage_every: int | None = None
    poison_every: int | None = None
    refuse_for_s: float = 0.0
    rest_error_status: int | None = None
    rest_error_for_s: float = 0.0
    reconnect: ReconnectMode = ReconnectMode.RESTART

    def __post_init__(self) -> None:
        for name in ("drop_after_frames", "stall_after_frames", "skip_after_frames"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise SimulatorError(f"{name}={value} must not be negative")
        for name in ("drop_times", "stall_times"):
            if getattr(self, name) < 1:
                raise SimulatorError(f"{name}={getattr(self, name)} must be at least 1")
        if self.skip_frames < 0:
            raise SimulatorError(f"skip_frames={self.skip_frames} must not be negative")
        for name in ("garbage_every", "poison_every"):
            every = getattr(self, name)
            if every is not None and every < 1:
                raise SimulatorError(f"{name}={every} must be at least 1")
        for name in ("refuse_for_s", "rest_error_for_s"):
            value = getattr(self, name)
            if not math.isfinite(value) or value < 0.0:
                raise SimulatorError(f"{name}={value} must be a non-negative number of seconds")
        if self.rest_error_status is not None and not 400 <= self.rest_error_status <= 599:
            raise SimulatorError(
                f"rest_error_status={self.rest_error_status} must be an HTTP error (400-599)"
            )
        if self.rest_error_for_s > 0.0 and self.rest_error_status is None:
            raise SimulatorError("rest_error_for_s needs a rest_error_status")
        try:
            mode = ReconnectMode(self.reconnect)
        except ValueError:
            raise SimulatorError(
                f"reconnect={self.reconnect!r} must be 'restart' or 'resume'"
            ) from None
        object.__setattr__(self, "reconnect", mode)

    def describe(self) -> str:
        """The active faults in one line, ``""`` when none, e.g.
        ``"drop after 10 frames (3 connections), reconnect resume"``.
        """
        parts = []
        if self.drop_after_frames is not None:
            parts.append(
                f"drop after {self.drop_after_frames} frames ({self.drop_times} connections)"
            )
        if self.stall_after_frames is not None:
            parts.append(
                f"stall after {self.stall_after_frames} frames ({self.stall_times} connections)"
            )
        if self.skip_after_frames is not None and self.skip_frames > 0:
            parts.append(f"skip {self.skip_frames} frames after {self.skip_after_frames}")
        if self.garbage_every is not None:
            parts.append(f"garbage every {self.garbage_every} frames")
        if self.poison_every is not None:
            parts.append(f"poison every {self.poison_every} frames")
        if self.refuse_for_s > 0.0:
            parts.append(f"refuse connections for {self.refuse_for_s:g} s")
        if self.rest_error_status is not None and self.rest_error_for_s > 0.0:
            parts.append(f"REST {self.rest_error_status} for {self.rest_error_for_s:g} s")
        if self.reconnect is not ReconnectMode.RESTART:
            parts.append(f"reconnect {self.reconnect}")
        return ", ".join(parts)


def garbage_frame(turn: int, previous: str | None) -> str | bytes:
    """The garbage frame sent in a given turn of the rotation.

    Args:
        turn: 0-based count of garbage frames already sent on the connection.
        previous: the last recorded frame sent, or ``None``.

    Returns:
        By ``turn % 4``: :data:`GARBAGE_NOT_JSON`; :data:`GARBAGE_UNKNOWN_EVENT`;
        the first half of ``previous`` (:data:`GARBAGE_NOT_JSON` without one);
        :data:`GARBAGE_BINARY_BYTES` random bytes.
    """
    kind = turn % 4
    if kind == 0:
        return GARBAGE_NOT_JSON
    if kind == 1:
        return GARBAGE_UNKNOWN_EVENT
    if kind == 2:
        return previous[: len(previous) // 2] if previous else GARBAGE_NOT_JSON
    return os.urandom(GARBAGE_BINARY_BYTES)


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


class ReplayClock:
    """Progress of one recorded connection, shared by every client it serves.

    Attributes:
        started_s: ``time.monotonic()`` when the recorded connection was first
            served (its first frame was due), ``None`` before; the ``resume``
            clock.
        position: how many of its frames the latest replay has passed, sent
            or skipped; what book-accurate snapshots are built from.
    """

    def __init__(self) -> None:
        """A clock of a connection never served."""
        self.started_s: float | None = None
        self.position = 0


@dataclass(frozen=True, slots=True)
class ConnectionFaults:
    """The faults one served connection gets, decided when it is accepted.

    Attributes:
        drop_after_frames: drop after this many frames, ``None`` never.
        stall_after_frames: stall after this many frames, ``None`` never.
        skip_after_frames: try the simulator's one skip after this many
            frames, ``None`` never.
        skip_frames: recorded frames the skip leaves out.
        garbage_every: a garbage frame after every this many frames, ``None`` never.
        poison_every: a poison frame after every this many frames, ``None`` never.
        resume: continue the recorded connection's clock instead of restarting.
    """

    drop_after_frames: int | None = None
    stall_after_frames: int | None = None
    skip_after_frames: int | None = None
    skip_frames: int = 0
    garbage_every: int | None = None
    poison_every: int | None = None
    resume: bool = False


class ConnectionReplay:
    """Serves one recorded connection to one connected client.

    Two tasks, both owned by :meth:`run`: a reader that consumes whatever the
    client sends (and marks its first frame) until the client goes away, and a
    sender that waits for its start, then sends each frame at its scheduled
    offset through :meth:`_send_frame`, applying the connection's faults. Once
    the frames are sent (or the connection stalls) the connection stays open
    until the client or the server closes it.
    """

    def __init__(
        self,
        connection: ServerConnection,
        script: ConnectionScript,
        speed: float | None,
        *,
        faults: ConnectionFaults | None = None,
        clock: ReplayClock | None = None,
        claim_skip: Callable[[], bool] | None = None,
        venue_side: SimulatedVenue | None = None,
        on_poison: Callable[[], None] | None = None,
    ) -> None:
        """Prepare a replay.

        Args:
            connection: the client's open WebSocket connection.
            script: the recorded connection to serve.
            speed: factor dividing recorded gaps, ``None`` for as fast as possible.
            faults: what to inject on this connection; none by default.
            clock: the recorded connection's shared clock; a private one by default.
            claim_skip: called when the skip point is reached; the skip happens
                only if it returns ``True`` (the simulator skips once). Default:
                always ``True``.
            venue_side: answers the client's frames as the venue would, and is
                shown every recorded frame passed; None ignores client frames.
            on_poison: called after each poison frame sent.
        """
        self._connection = connection
        self._script = script
        self._speed = speed
        self._faults = faults or ConnectionFaults()
        self._clock = clock or ReplayClock()
        self._claim_skip = claim_skip or (lambda: True)
        self._venue_side = venue_side
        self._client_spoke = asyncio.Event()
        self._previous: str | None = None
        self._garbage_sent = 0
        self._poison_sent = 0
        self._on_poison = on_poison or (lambda: None)

    async def run(self) -> None:
        """Serve the recording until the connection closes.

        Returns:
            When the client closed the connection, the server is closing, or
            the connection was dropped.
        """
        async with asyncio.TaskGroup() as tasks:
            sender = tasks.create_task(self._send_frames())
            await self._read_until_closed()
            sender.cancel()

    async def _read_until_closed(self) -> None:
        try:
            async for message in self._connection:
                self._client_spoke.set()
                if self._venue_side is not None:
                    text = message if isinstance(message, str) else message.decode(errors="replace")
                    for reply in self._venue_side.on_client_frame(text):
                        await self._connection.send(reply)
        except ConnectionClosed:
            return

    def _start(self, offsets_s: Sequence[float]) -> tuple[float, int]:
        """``(monotonic time offsets count from, index of the first frame)``."""
        now_s = time.monotonic()
        clock = self._clock
        if clock.started_s is None:
            clock.started_s = now_s
        elif self._faults.resume:
            start = clock.position
            if self._speed is not None:
                start = max(start, bisect.bisect_left(offsets_s, now_s - clock.started_s))
            return clock.started_s, start
        return now_s, 0

    async def _send_frames(self) -> None:
        if self._script.waits_for_client_frame:
            await self._client_spoke.wait()
        faults = self._faults
        frames = self._script.frames
        offsets_s = replay_schedule([frame.t for frame in frames], self._speed)
        base_s, start = self._start(offsets_s)
        self._clock.position = start
        venue_side = self._venue_side
        if venue_side is not None:
            for frame in frames[:start]:
                venue_side.on_frame_passed(frame.data)
        sent = 0
        skipping = 0
        try:
            for index in range(start, len(frames)):
                if sent == faults.drop_after_frames:
                    self._drop()
                    return
                if sent == faults.stall_after_frames:
                    return
                if sent == faults.skip_after_frames and self._claim_skip():
                    skipping = faults.skip_frames
                await asyncio.sleep(max(0.0, base_s + offsets_s[index] - time.monotonic()))
                self._clock.position = index + 1
                if venue_side is not None:
                    venue_side.on_frame_passed(frames[index].data)
                if skipping:
                    skipping -= 1
                    continue
                await self._send_frame(frames[index])
                sent += 1
                if faults.garbage_every is not None and sent % faults.garbage_every == 0:
                    await self._send_garbage()
                if faults.poison_every is not None and sent % faults.poison_every == 0:
                    await self._connection.send(poison_frame(self._poison_sent, self._previous))
                    self._poison_sent += 1
                    self._on_poison()
            if sent == faults.drop_after_frames:
                self._drop()
        except ConnectionClosed:
            return

    async def _send_frame(self, frame: ReplayFrame) -> None:
        await self._connection.send(frame.data)
        self._previous = frame.data

    async def _send_garbage(self) -> None:
        await self._connection.send(garbage_frame(self._garbage_sent, self._previous))
        self._garbage_sent += 1

    def _drop(self) -> None:
        """Close the TCP connection without a close frame, after what is buffered."""
        self._connection.transport.close()


class _FaultLedger:
    """Which lifetime-limited faults the simulator has handed out."""

    def __init__(self, faults: Faults) -> None:
        self._faults = faults
        self.connections_served = 0
        self.poison_frames_sent = 0
        self.drops_assigned = 0
        self.stalls_assigned = 0
        self.skip_taken = False

    def next_connection(self) -> ConnectionFaults:
        """Count a served connection and decide its faults."""
        faults = self._faults
        self.connections_served += 1
        drop_after = None
        if faults.drop_after_frames is not None and self.drops_assigned < faults.drop_times:
            self.drops_assigned += 1
            drop_after = faults.drop_after_frames
        stall_after = None
        if faults.stall_after_frames is not None and self.stalls_assigned < faults.stall_times:
            self.stalls_assigned += 1
            stall_after = faults.stall_after_frames
        skip_after = None if self.skip_taken or not faults.skip_frames else faults.skip_after_frames
        return ConnectionFaults(
            drop_after_frames=drop_after,
            stall_after_frames=stall_after,
            skip_after_frames=skip_after,
            skip_frames=faults.skip_frames,
            garbage_every=faults.garbage_every,
            poison_every=faults.poison_every,
            resume=faults.reconnect is ReconnectMode.RESUME,
        )

    def count_poison(self) -> None:
        """One more poison frame sent (any connection)."""
        self.poison_frames_sent += 1

    def claim_skip(self) -> bool:
        """``True`` the first time only: the one skip of the simulator's life."""
        if self.skip_taken:
            return False
        self.skip_taken = True
        return True


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
        self._ledger = _FaultLedger(self._faults)
        self._started_s = 0.0
        self._clocks: dict[tuple[str, str], ReplayClock] = {
            (venue, connection.conn): ReplayClock()
            for venue, script in venues.items()
            for connection in script.connections
        }
        self._books: dict[str, SnapshotBuilder] = {}
        for venue, script in venues.items():
            builder = snapshot_builder_for(
                venue, [[frame.data for frame in c.frames] for c in script.connections]
            )
            if builder is not None:
                self._books[venue] = builder
        self.rest_log: list[tuple[float, str, int]] = []

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
            return _fault_response(faults.rest_error_status, target)
        found = self._next_response(target)
        if found is None:
            return _not_found(target, "no recorded response for this path and query")
        script, path, response = found
        body = response.body
        builder = self._books.get(script.venue)
        if builder is not None and response.status == http.HTTPStatus.OK and self._books_accurate():
            positions = [self._clocks[(script.venue, c.conn)].position for c in script.connections]
            body = builder.snapshot(path, urlsplit(target).query, body, positions) or body
        return _http_response(response.status, body, response.headers)

    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        now_s = time.monotonic()
        if "websocket" in request.headers.get("Upgrade", "").lower():
            if self._route_connection(request.path) is None:
                return _not_found(request.path, "no recorded WebSocket connection at this path")
            if now_s < self._started_s + self._faults.refuse_for_s:
                return _fault_response(http.HTTPStatus.SERVICE_UNAVAILABLE, request.path)
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
        """A fresh venue side for one connection of ``venue``, if its module offers one."""
        spec: VenueSpec | None
        try:
            spec = venue_spec(venue)
        except UnknownVenueError:
            spec = None
        if spec is None or spec.simulated_venue is None:
            return None
        return spec.simulated_venue()


def _not_found(target: str, reason: str) -> Response:
    body = json.dumps({"error": reason, "status": 404, "path": target})
    return _http_response(http.HTTPStatus.NOT_FOUND, body, ())


def _fault_response(status: int, target: str) -> Response:
    body = json.dumps({"error": "simulated fault", "status": status, "path": target})
    headers: tuple[tuple[str, str], ...] = ()
    if status == http.HTTPStatus.TOO_MANY_REQUESTS:
        headers = (("Retry-After", str(REST_ERROR_RETRY_AFTER_S)),)
    return _http_response(status, body, headers)


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
