"""What a venue polls over REST: the endpoints it declares, and the fallback's switch.

A venue package declares its REST-polled endpoints as :class:`RestEndpoint`
values in a :class:`RestPolling` (registered with its ``VenueSpec``); the
generic poller (:mod:`relay.infrastructure.connection.polling`) runs them with
the venue's REST client and never names a venue. Two kinds:

- ``polled``: data the venue offers only over REST (Binance futures open
  interest), polled every ``rest_poll_interval_s`` for each instrument
  subscribed to the endpoint's data type, whatever the WebSocket does;
- ``fallback``: data the WebSocket normally carries (trades, tickers), polled
  every ``rest_fallback_interval_s`` only while the venue's WebSocket has been
  down longer than ``rest_fallback_after_s``, and once more when it is back.

A fallback parser builds each event with the same ``dedup_key`` the WebSocket
parser gives it (Binance: the aggregate trade id), so the message ids are the
same and the pipeline's per-venue recent-id set drops whichever copy comes
second, across the switch in both directions.

:class:`FallbackSwitch` is the fallback's state machine (pure, clock passed in)::

    UP --ws_lost(t)--> DOWN(since t) --due(now): now - t >= after_s--> ACTIVE
    ACTIVE --ws_back()--> CLOSING (one last poll) --closed()--> UP
    DOWN --ws_back()--> UP
    CLOSING --ws_lost(t)--> ACTIVE (back only briefly: keep polling)

A connection starts DOWN (since it was made), so a venue whose WebSocket never
opens is polled too.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass

from relay.domain.model import DataType, Instrument, MarketEvent

RestParser = Callable[[bytes, Instrument, int], list[MarketEvent]]
"""``(body, instrument, received_at_ms) -> events``; raises ``ValueError`` (orjson's
decode error is one), ``KeyError``, ``TypeError`` or
:class:`~relay.domain.errors.InvalidValueError` for a body it cannot read."""


@dataclass(frozen=True, slots=True)
class RestEndpoint:
    """One REST endpoint a venue polls, for one data type, per instrument.

    Attributes:
        data_type: the data type its events are; only instruments subscribed
            to it are polled.
        path: the URL path below the venue's REST base, also the ``endpoint``
            label of ``relay_rest_polls_total`` (``"/fapi/v1/openInterest"``).
        query: the query string for one instrument (``"symbol=BTCUSDT"``).
        weight: the venue's request weight of one call (taken from the venue's
            token bucket before each attempt).
        parse: reads one answer into events (see :data:`RestParser`).
    """

    data_type: DataType
    path: str
    query: Callable[[Instrument], str]
    weight: int
    parse: RestParser

    def target(self, instrument: Instrument) -> str:
        """``path?query`` for ``instrument`` (``"/fapi/v1/openInterest?symbol=BTCUSDT"``)."""
        return f"{self.path}?{self.query(instrument)}"


@dataclass(frozen=True, slots=True)
class RestPolling:
    """A venue's REST-polled endpoints (see the module docstring).

    Attributes:
        polled: always polled (data only offered over REST).
        fallback: polled while the WebSocket is down (trades, tickers).
    """

    polled: tuple[RestEndpoint, ...] = ()
    fallback: tuple[RestEndpoint, ...] = ()

    @property
    def polled_types(self) -> frozenset[DataType]:
        """The data types this venue gets only over REST (no WebSocket stream)."""
        return frozenset(endpoint.data_type for endpoint in self.polled)


class FallbackState(enum.Enum):
    """Where the REST fallback of one venue connection is (see the module docstring)."""

    UP = "up"
    """The WebSocket delivers; nothing is polled."""
    DOWN = "down"
    """The WebSocket is down, not yet for ``after_s``."""
    ACTIVE = "active"
    """Polling: the WebSocket has been down longer than ``after_s``."""
    CLOSING = "closing"
    """The WebSocket is back; one last poll covers the trades before its first one."""


class FallbackSwitch:
    """When a venue connection's REST fallback polls (pure; times are monotonic seconds).

    Args:
        after_s: how long the WebSocket must have been down; 0 turns the
            fallback off (:meth:`due` is never true).
        down_since_s: when the connection started without a WebSocket (it
            starts DOWN: a venue that never connects is polled too).
    """

    def __init__(self, after_s: float, down_since_s: float) -> None:
        self.after_s = after_s
        self.state = FallbackState.DOWN
        self.down_since_s: float | None = down_since_s

    def ws_lost(self, now_s: float) -> None:
        """The WebSocket connection ended: UP -> DOWN, CLOSING -> ACTIVE; else nothing."""
        if self.state is FallbackState.UP:
            self.state = FallbackState.DOWN
            self.down_since_s = now_s
        elif self.state is FallbackState.CLOSING:
            self.state = FallbackState.ACTIVE

    def ws_back(self) -> None:
        """The WebSocket delivers again: ACTIVE -> CLOSING, DOWN -> UP."""
        if self.state is FallbackState.ACTIVE:
            self.state = FallbackState.CLOSING
        elif self.state is FallbackState.DOWN:
            self.state = FallbackState.UP
        self.down_since_s = None

    def due(self, now_s: float) -> bool:
        """True (and DOWN -> ACTIVE) once the WebSocket has been down ``after_s``."""
        if self.state is FallbackState.ACTIVE:
            return True
        if (
            self.state is FallbackState.DOWN
            and self.after_s > 0
            and self.down_since_s is not None
            and now_s - self.down_since_s >= self.after_s
        ):
            self.state = FallbackState.ACTIVE
            return True
        return False

    def wait_s(self, now_s: float) -> float | None:
        """Seconds until :meth:`due` turns true while DOWN; None when it cannot (UP, off)."""
        if self.state is not FallbackState.DOWN or self.after_s <= 0 or self.down_since_s is None:
            return None
        return max(0.0, self.down_since_s + self.after_s - now_s)

    def closed(self) -> None:
        """The last poll after the WebSocket came back is done: CLOSING -> UP."""
        if self.state is FallbackState.CLOSING:
            self.state = FallbackState.UP
