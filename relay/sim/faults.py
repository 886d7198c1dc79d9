"""Fault injection for the venue simulator (:class:`Faults`, ``relay simulate`` flags).

See :mod:`relay.sim.server` for what each fault does to a served connection.
"""

from __future__ import annotations

import enum
import math
import os
from dataclasses import dataclass

from relay.sim.errors import SimulatorError


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
        refuse_ws_after_s: a WebSocket outage mid-session: this many seconds
            after the first WebSocket connection was accepted, every open one
            is dropped (no close frame) and handshakes get 503 for
            ``refuse_ws_for_s``; ``None`` never.
        refuse_ws_for_s: how long that outage lasts, seconds.
        rest_error_status: HTTP status REST requests get during
            ``rest_error_for_s`` (e.g. 429, 500); ``None`` never.
        rest_error_for_s: seconds from start during which REST requests fail.
        reconnect: ``restart`` or ``resume`` (a plain string is accepted and
            converted).

    Raises:
        SimulatorError: a negative count, a zero ``drop_times`` /
            ``stall_times`` / ``garbage_every``, a negative or non-finite
            duration, a status outside 400-599, a ``rest_error_for_s`` without
            a status, a ``refuse_ws_after_s`` without a ``refuse_ws_for_s`` > 0
            (or the other way round), or an unknown ``reconnect``.
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
    refuse_ws_after_s: float | None = None
    refuse_ws_for_s: float = 0.0
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
        for name in ("refuse_for_s", "rest_error_for_s", "refuse_ws_after_s", "refuse_ws_for_s"):
            value = getattr(self, name)
            if value is not None and (not math.isfinite(value) or value < 0.0):
                raise SimulatorError(f"{name}={value} must be a non-negative number of seconds")
        if (self.refuse_ws_after_s is None) != (self.refuse_ws_for_s == 0.0):
            raise SimulatorError(
                "refuse_ws_after_s and refuse_ws_for_s (> 0) go together: when and how long"
            )
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
        if self.refuse_ws_after_s is not None:
            parts.append(
                f"WebSocket outage of {self.refuse_ws_for_s:g} s,"
                f" {self.refuse_ws_after_s:g} s after the first connection"
            )
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


class FaultLedger:
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
