"""Replay of recorded sessions: speed, pacing, recorded connections and REST answers.

A capture (:mod:`relay.sim.captures`) becomes a :class:`VenueScript`; each served
WebSocket connection is one :class:`ConnectionReplay` of a :class:`ConnectionScript`.
"""

from __future__ import annotations

import asyncio
import bisect
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from relay.sim.captures import Capture, CaptureError, RecordKind
from relay.sim.errors import InvalidSpeedError
from relay.sim.faults import ConnectionFaults, garbage_frame
from relay.sim.poison import poison_frame
from relay.sim.venues.registry import SimulatedVenue

SIZE_LIMIT_QUERY_PARAMS = frozenset({"limit", "depth", "size"})
"""Query parameters ignored when matching a REST request to a recorded one."""


SPEED_REALTIME = "realtime"


SPEED_MAX = "max"


RestKey = tuple[str, tuple[tuple[str, str], ...]]
"""``(path, sorted query pairs without size limits)``: how REST requests are matched."""


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
        capture: a capture read by :func:`relay.sim.captures.read_capture`.

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
                replaced = None
                if venue_side is not None:
                    replaced = venue_side.on_frame_passed(frames[index].data)
                if skipping:
                    skipping -= 1
                    continue
                if replaced is None:
                    await self._send_frame(frames[index].data)
                else:
                    for text in replaced:
                        await self._send_frame(text)
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

    async def _send_frame(self, text: str) -> None:
        await self._connection.send(text)
        self._previous = text

    async def _send_garbage(self) -> None:
        await self._connection.send(garbage_frame(self._garbage_sent, self._previous))
        self._garbage_sent += 1

    def _drop(self) -> None:
        """Close the TCP connection without a close frame, after what is buffered."""
        self._connection.transport.close()
