"""Frame isolation and on-demand book resyncs, against a real WebSocket server and the simulator.

A test venue (``isolation-test``) is registered for each test, as in
test_venue_plumbing.py. Its protocol publishes a trade for ``"trade <n>"``,
raises ``ZeroDivisionError`` for ``"zero"`` and a real ``RecursionError`` (the
repr of a list nested 100,000 deep) for ``"deep"``; its ``resync_books``
answers with the book's unsubscribe + subscribe frames and a ``BookResync``,
or raises once ``"poison"`` was seen. The server sends what the test puts in
its queue and records what the relay sends back.

The REST snapshot path runs the real Binance USD-M protocol against
``relay simulate``'s recorded session, with ``on_snapshot`` raising once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable, Collection, Iterator, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal

import httpx
import pytest
from support.reference_books import CAPTURES
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from relay.application.health import HealthMonitor
from relay.application.log_rate_limit import LogRateLimit
from relay.application.ports import (
    BookResync,
    FrameOutcome,
    SnapshotRequest,
    VenueProtocol,
)
from relay.config.model import SubscriptionConfig, VenueConfig
from relay.domain.model import DataType, Instrument, L2Update, MarketEvent, Side, Trade
from relay.infrastructure.connection.venue_connection import VenueConnection
from relay.infrastructure.metrics import PrometheusMetrics
from relay.infrastructure.venues import registry
from relay.infrastructure.venues.registry import VenueSpec, venue_spec
from relay.sim.captures import read_capture
from relay.sim.server import Simulator

VENUE = "isolation-test"
BOOK = Instrument(VENUE, "BOOK-1", "BOOK/ONE")
DEADLINE_S = 10.0


def deep_list(depth: int) -> list[object]:
    node: list[object] = []
    for _ in range(depth):
        node = [node]
    return node


class IsolationProtocol(VenueProtocol):
    """See the module docstring."""

    def __init__(self, config: VenueConfig) -> None:
        self.config = config
        self.poisoned = False

    def ws_url(self) -> str:
        return self.config.ws_url

    def subscribe_frames(self) -> Sequence[str]:
        return ["sub BOOK-1"]

    def on_frame(self, frame: str | bytes, received_at_ms: int) -> FrameOutcome:
        text = frame if isinstance(frame, str) else frame.decode()
        if text == "zero":
            return FrameOutcome([], [], [str(1 // 0)])
        if text == "deep":
            return FrameOutcome([], [], [repr(deep_list(100_000))])
        if text == "poison":
            self.poisoned = True
            raise ValueError("poisoned")
        if text.startswith("trade "):
            number = text.split()[1]
            trade = Trade(number, Decimal(1), Decimal(number), Side.BUY)
            return FrameOutcome(
                [MarketEvent(BOOK, DataType.TRADE, received_at_ms, None, trade, number)], [], []
            )
        return FrameOutcome([], [], [])

    def resync_books(self, instruments: Collection[str] | None, reason: str) -> FrameOutcome:
        if self.poisoned:
            raise RuntimeError("book state lost")
        if instruments is not None and BOOK.instrument not in instruments:
            return FrameOutcome([], [], [])
        return FrameOutcome([], [], ["unsub BOOK-1", "sub BOOK-1"], [BookResync(BOOK, reason)])


@pytest.fixture
def isolation_venue() -> Iterator[VenueSpec]:
    spec = registry.register(
        VenueSpec(
            id=VENUE,
            data_types=frozenset({DataType.TRADE, DataType.L2_ORDERBOOK}),
            default_ws_url="ws://127.0.0.1:1/unused",
            default_rest_url="",
            protocol_factory=IsolationProtocol,
        )
    )
    yield spec
    registry._REGISTRY.pop(VENUE)


@dataclass
class Server:
    """A real WebSocket server: sends what is put in ``outgoing``, records what it receives."""

    url: str = ""
    outgoing: asyncio.Queue[str] = field(default_factory=asyncio.Queue)
    received: list[str] = field(default_factory=list)
    connections: int = 0


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    state = Server()

    async def handler(connection: ServerConnection) -> None:
        state.connections += 1

        async def send() -> None:
            while True:
                await connection.send(await state.outgoing.get())

        sender = asyncio.create_task(send())
        try:
            async for message in connection:
                state.received.append(str(message))
        except ConnectionClosed:
            pass  # the relay replaced the connection
        finally:
            sender.cancel()
            await asyncio.gather(sender, return_exceptions=True)

    async with serve(handler, "127.0.0.1", 0) as running:
        state.url = f"ws://127.0.0.1:{running.sockets[0].getsockname()[1]}/"
        yield state


class Records(logging.Handler):
    """The ``relay.venue`` records of one test."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def named(self, message: str) -> list[logging.LogRecord]:
        return [r for r in self.records if r.getMessage() == message]


@pytest.fixture
def venue_log() -> Iterator[Records]:
    handler = Records()
    logger = logging.getLogger("relay.venue")
    logger.addHandler(handler)
    level = logger.level
    logger.setLevel(logging.DEBUG)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(level)


class ManualClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {DEADLINE_S} s: {what}")
        await asyncio.sleep(0.01)


def config(url: str, **overrides: object) -> VenueConfig:
    base = VenueConfig(
        id=VENUE,
        ws_url=url,
        subscriptions=(
            SubscriptionConfig("BOOK-1", "BOOK/ONE", (DataType.TRADE, DataType.L2_ORDERBOOK)),
        ),
    )
    return replace(base, **overrides)  # type: ignore[arg-type]


def sample(metrics: PrometheusMetrics, name: str, **labels: str) -> float:
    return metrics.registry.get_sample_value(name, {"venue": VENUE, **labels}) or 0.0


async def test_unexpected_exceptions_are_counted_logged_at_a_limited_rate_and_resync_the_books(
    isolation_venue: VenueSpec, server: Server, venue_log: Records
) -> None:
    metrics = PrometheusMetrics()
    clock = ManualClock()
    published: list[str] = []

    async def publish(event: MarketEvent, _: int) -> None:
        published.append(event.dedup_key)

    async with httpx.AsyncClient() as http:
        connection = VenueConnection(
            isolation_venue,
            config(server.url),
            publish,
            metrics,
            HealthMonitor([VENUE]),
            http,
            error_log=LogRateLimit(10.0, clock=clock),
        )
        task = asyncio.create_task(connection.run())
        for frame in [
            "trade 1",
            "zero",
            "zero",
            "deep",
            "zero",
            "trade 2",
            "deep",
            "zero",
            "zero",
            "trade 3",
        ]:
            server.outgoing.put_nowait(frame)
        await until(lambda: published == ["1", "2", "3"], "three trades published")
        clock.now += 10.0
        for frame in ["zero", "deep", "trade 4"]:
            server.outgoing.put_nowait(frame)
        await until(lambda: published == ["1", "2", "3", "4"], "the fourth trade published")
        await until(lambda: server.received.count("sub BOOK-1") == 1 + 9, "nine resyncs sent")
        await connection.stop_reading()
        await asyncio.wait_for(task, 5)

    assert server.connections == 1
    assert sample(metrics, "relay_venue_reconnects_total") == 0
    assert sample(metrics, "relay_frames_rejected_total", reason="internal_error") == 9
    assert (
        sample(metrics, "relay_book_resyncs_total", instrument="BOOK-1", reason="internal_error")
        == 9
    )
    assert server.received == ["sub BOOK-1"] + ["unsub BOOK-1", "sub BOOK-1"] * 9
    lines = venue_log.named("unexpected error while handling a frame; resyncing every book")
    fields = ("levelname", "venue", "connection", "error_type", "error", "frame", "suppressed")
    assert [tuple(r.__dict__[name] for name in fields) for r in lines] == [
        (
            "ERROR",
            VENUE,
            VENUE,
            "ZeroDivisionError",
            "integer division or modulo by zero",
            "zero",
            0,
        ),
        (
            "ERROR",
            VENUE,
            VENUE,
            "RecursionError",
            "maximum recursion depth exceeded while getting the repr of an object",
            "deep",
            0,
        ),
        (
            "ERROR",
            VENUE,
            VENUE,
            "ZeroDivisionError",
            "integer division or modulo by zero",
            "zero",
            4,
        ),
        (
            "ERROR",
            VENUE,
            VENUE,
            "RecursionError",
            "maximum recursion depth exceeded while getting the repr of an object",
            "deep",
            1,
        ),
    ]
    resync_lines = venue_log.named("order book resync")
    assert [
        (r.instrument, r.reason, r.suppressed)  # type: ignore[attr-defined]
        for r in resync_lines
    ] == [("BOOK-1", "internal_error", 0), ("BOOK-1", "internal_error", 6)]


async def test_a_frame_is_clipped_to_200_characters_in_the_error_line(
    isolation_venue: VenueSpec, server: Server, venue_log: Records
) -> None:
    class LongFrames(IsolationProtocol):
        def on_frame(self, frame: str | bytes, received_at_ms: int) -> FrameOutcome:
            raise KeyError("x" * 1000)

    spec = replace(isolation_venue, protocol_factory=LongFrames)
    metrics = PrometheusMetrics()
    async with httpx.AsyncClient() as http:
        connection = VenueConnection(
            spec, config(server.url), _ignore, metrics, HealthMonitor([VENUE]), http
        )
        task = asyncio.create_task(connection.run())
        server.outgoing.put_nowait("y" * 5000)
        await until(lambda: "unsub BOOK-1" in server.received, "the resync sent")
        await connection.stop_reading()
        await asyncio.wait_for(task, 5)
    [line] = venue_log.named("unexpected error while handling a frame; resyncing every book")
    assert (line.frame, line.error) == ("y" * 200, "'" + "x" * 199)  # type: ignore[attr-defined]


async def _ignore(_: MarketEvent, __: int) -> None:
    return None


async def test_a_resync_that_raises_replaces_the_connection(
    isolation_venue: VenueSpec, server: Server, venue_log: Records
) -> None:
    metrics = PrometheusMetrics()
    async with httpx.AsyncClient() as http:
        connection = VenueConnection(
            isolation_venue,
            config(server.url, reconnect_base_s=0.05, reconnect_cap_s=0.1),
            _ignore,
            metrics,
            HealthMonitor([VENUE]),
            http,
        )
        task = asyncio.create_task(connection.run())
        await until(lambda: server.received == ["sub BOOK-1"], "subscribed")
        server.outgoing.put_nowait("poison")
        await until(
            lambda: server.connections == 2 and server.received.count("sub BOOK-1") == 2,
            "a second connection subscribed",
        )
        await connection.stop_reading()
        await asyncio.wait_for(task, 5)
    assert sample(metrics, "relay_frames_rejected_total", reason="internal_error") == 1
    assert sample(metrics, "relay_venue_reconnects_total") == 1
    [line] = venue_log.named("book resync failed, replacing the connection")
    assert (line.error_type, line.error) == ("RuntimeError", "book state lost")  # type: ignore[attr-defined]
    [lost] = venue_log.named("venue connection lost, reconnecting")
    assert lost.error == (  # type: ignore[attr-defined]
        "ProtocolStateError('resync_books raised RuntimeError: book state lost')"
    )


async def test_resync_book_resyncs_one_book_on_the_live_connection(
    isolation_venue: VenueSpec, server: Server, venue_log: Records
) -> None:
    metrics = PrometheusMetrics()
    async with httpx.AsyncClient() as http:
        connection = VenueConnection(
            isolation_venue, config(server.url), _ignore, metrics, HealthMonitor([VENUE]), http
        )
        await connection.resync_book("BOOK-1", "incomplete_snapshot")  # not connected: nothing
        task = asyncio.create_task(connection.run())
        await until(lambda: server.received == ["sub BOOK-1"], "subscribed")
        await connection.resync_book("OTHER-1", "incomplete_snapshot")
        await connection.resync_book("BOOK-1", "incomplete_snapshot")
        await until(lambda: len(server.received) == 3, "the resync frames sent")
        await connection.stop_reading()
        await asyncio.wait_for(task, 5)
    assert server.received == ["sub BOOK-1", "unsub BOOK-1", "sub BOOK-1"]
    assert (
        sample(
            metrics, "relay_book_resyncs_total", instrument="BOOK-1", reason="incomplete_snapshot"
        )
        == 1
    )
    [line] = venue_log.named("order book resync")
    assert (line.venue, line.instrument, line.reason) == (  # type: ignore[attr-defined]
        VENUE,
        "BOOK-1",
        "incomplete_snapshot",
    )


async def test_an_unexpected_exception_on_a_rest_snapshot_refetches_every_book(
    isolation_venue: VenueSpec, venue_log: Records
) -> None:
    """Binance USD-M's real protocol, whose ``on_snapshot`` raises once, on the recorded session.

    The failing snapshot is counted and the book resynced from a new REST
    snapshot: the book is then published (one ``is_snapshot`` event for
    SUSHIUSDT), as without the failure.
    """
    usdm = venue_spec("binance-usdm")
    failures = [ZeroDivisionError("division by zero")]

    class FailsOnce(VenueProtocol):
        def __init__(self, config: VenueConfig) -> None:
            self.inner = usdm.protocol_factory(config)

        def ws_url(self) -> str:
            return self.inner.ws_url()

        def subscribe_frames(self) -> Sequence[str]:
            return self.inner.subscribe_frames()

        def on_open(self) -> FrameOutcome:
            return self.inner.on_open()

        def on_frame(self, frame: str | bytes, received_at_ms: int) -> FrameOutcome:
            return self.inner.on_frame(frame, received_at_ms)

        def resync_books(self, instruments: Collection[str] | None, reason: str) -> FrameOutcome:
            return self.inner.resync_books(instruments, reason)

        def on_snapshot(
            self, request: SnapshotRequest, body: bytes, received_at_ms: int
        ) -> FrameOutcome:
            if failures:
                raise failures.pop()
            return self.inner.on_snapshot(request, body, received_at_ms)

    spec = replace(isolation_venue, protocol_factory=FailsOnce)
    metrics = PrometheusMetrics()
    books: list[L2Update] = []

    async def publish(event: MarketEvent, _: int) -> None:
        if isinstance(event.payload, L2Update) and event.payload.is_snapshot:
            books.append(event.payload)

    capture = read_capture(CAPTURES / "binance-usdm.jsonl")
    async with Simulator([capture], speed=1.0) as simulator, httpx.AsyncClient() as http:
        venue_config = VenueConfig(
            id="binance-usdm",
            ws_url=simulator.ws_url_for("binance-usdm", "/stream"),
            rest_url=f"http://127.0.0.1:{simulator.port}/binance-usdm",
            subscriptions=(
                SubscriptionConfig("SUSHIUSDT", "SUSHI/USDT", (DataType.L2_ORDERBOOK,)),
            ),
        )
        connection = VenueConnection(
            spec, venue_config, publish, metrics, HealthMonitor(["binance-usdm"]), http
        )
        task = asyncio.create_task(connection.run())
        await until(lambda: len(books) == 1, "the SUSHIUSDT book published")
        await connection.stop_reading()
        await asyncio.wait_for(task, 5)
    labels = {"venue": "binance-usdm"}
    assert (
        metrics.registry.get_sample_value(
            "relay_frames_rejected_total", {**labels, "reason": "internal_error"}
        )
        == 1
    )
    assert (
        metrics.registry.get_sample_value(
            "relay_book_resyncs_total",
            {**labels, "instrument": "SUSHIUSDT", "reason": "internal_error"},
        )
        == 1
    )
    [line] = venue_log.named("unexpected error while handling a frame; resyncing every book")
    assert (line.error_type, line.error, line.frame[:16]) == (  # type: ignore[attr-defined]
        "ZeroDivisionError",
        "division by zero",
        "b'{\"lastUpdateId",
    )
