"""The relay keeps its JetStream streams (against real nats-server processes).

A stream an operator set up is left exactly as it is unless the config says
``manage = "update"``; a stream lost while publishing is created again and what
was held goes out; JetStream or stream problems only an operator can fix stop
the start with one line and exit 2.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import nats
import pytest
from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy as JsDiscardPolicy
from nats.js.api import StorageType as JsStorageType
from nats.js.api import StreamConfig as JsStreamConfig

from relay.application.ports import OutboundMessage
from relay.config.model import (
    NatsConfig,
    PipelineConfig,
    StorageType,
    StreamConfig,
    StreamManagement,
)
from relay.infrastructure.embedded_nats import EmbeddedNats, free_port
from relay.infrastructure.metrics import PrometheusMetrics
from relay.infrastructure.nats.publisher import JetStreamPublisher

pytestmark = pytest.mark.integration

MIB = 1024**2
OPERATOR_STREAM = JsStreamConfig(
    name="MARKET",
    subjects=["market.>"],
    storage=JsStorageType.FILE,
    max_bytes=MIB,
    max_age=3600.0,
    discard=JsDiscardPolicy.NEW,
)
LIMIT_KEYS = (
    "subjects",
    "storage",
    "max_bytes",
    "max_age",
    "max_msgs_per_subject",
    "duplicate_window",
    "num_replicas",
    "discard",
)


@pytest.fixture
async def server() -> AsyncIterator[EmbeddedNats]:
    async with EmbeddedNats() as s:
        yield s


def relay_stream(**changes: object) -> StreamConfig:
    """The relay's default ``MARKET`` file stream, with ``changes``."""
    stream = StreamConfig("MARKET", ("market.>",))
    return StreamConfig(**{**{k: getattr(stream, k) for k in stream.__slots__}, **changes})


def publisher_for(
    server: EmbeddedNats,
    *streams: StreamConfig,
    metrics: PrometheusMetrics | None = None,
    changes: list[tuple[bool, str]] | None = None,
) -> JetStreamPublisher:
    config = NatsConfig(urls=(server.url,), streams=streams, ack_timeout_s=1.0)

    def record(ready: bool, problem: str) -> None:
        if changes is not None:
            changes.append((ready, problem))

    return JetStreamPublisher(
        config,
        "application/json",
        metrics or PrometheusMetrics(),
        PipelineConfig(),
        on_ready_change=record,
    )


async def limits(server: EmbeddedNats, name: str = "MARKET") -> dict[str, object]:
    nc = await nats.connect(server.url)
    try:
        config = (await nc.jetstream().stream_info(name)).config
    finally:
        await nc.close()
    return {key: getattr(config, key) for key in LIMIT_KEYS}


async def add_operator_stream(server: EmbeddedNats, config: JsStreamConfig) -> None:
    nc = await nats.connect(server.url)
    try:
        await nc.jetstream().add_stream(config)
    finally:
        await nc.close()


async def test_an_operator_stream_keeps_its_limits_and_the_differences_are_logged_once(
    server: EmbeddedNats, caplog: pytest.LogCaptureFixture
) -> None:
    await add_operator_stream(server, OPERATOR_STREAM)
    before = await limits(server)
    changes: list[tuple[bool, str]] = []
    publisher = publisher_for(server, relay_stream(), changes=changes)
    await publisher.connect()
    runner = asyncio.create_task(publisher.run())
    await server.kill()  # a reconnect checks the streams again: still one line
    await server.start()
    for _ in range(200):
        if len(changes) == 3 and publisher.ready:
            break
        await asyncio.sleep(0.05)
    runner.cancel()
    await publisher.close()
    assert changes == [(True, ""), (False, "NATS disconnected"), (True, "")]
    after = await limits(server)
    assert after == before, f"before relay start: {before}\nafter relay start:  {after}"
    assert (after["max_bytes"], after["max_age"], after["discard"]) == (MIB, 3600.0, "new")
    lines = [r.__dict__ for r in caplog.records if r.getMessage().startswith("stream differs")]
    print(f"\nlimits before {before}\nlimits after  {after}\nlogged: {lines[0]['differences']}")
    assert [line["differences"] for line in lines] == [
        [
            "max_age_s: 3600.0 on the server, 86400.0 configured",
            "max_bytes: 1048576 on the server, 10737418240 configured",
            "discard: 'new' on the server, 'old' configured",
        ]
    ]


async def test_manage_update_sets_the_configured_limits_on_an_existing_stream(
    server: EmbeddedNats,
) -> None:
    await add_operator_stream(server, OPERATOR_STREAM)
    before = await limits(server)
    wanted = relay_stream(
        max_bytes=2 * MIB,
        max_age_s=7200.0,
        max_msgs_per_subject=1000,
        duplicate_window_s=60.0,
        manage=StreamManagement.UPDATE,
    )
    publisher = publisher_for(server, wanted)
    await publisher.connect()
    await publisher.close()
    after = await limits(server)
    assert after == {
        "subjects": ["market.>"],
        "storage": "file",
        "max_bytes": 2 * MIB,
        "max_age": 7200.0,
        "max_msgs_per_subject": 1000,
        "duplicate_window": 60.0,
        "num_replicas": 1,
        "discard": "old",
    }, f"before relay start: {before}\nafter relay start:  {after}"


async def test_a_stream_lost_while_publishing_is_created_again_and_every_held_message_lands(
    server: EmbeddedNats,
) -> None:
    metrics = PrometheusMetrics()
    changes: list[tuple[bool, str]] = []
    stream = relay_stream(storage=StorageType.MEMORY, max_bytes=64 * MIB)
    publisher = publisher_for(server, stream, metrics=metrics, changes=changes)
    await publisher.connect()
    runner = asyncio.create_task(publisher.run())
    subject = "market.binance-usdm.btc-usdt.trade"
    for i in range(100):
        await publisher.submit(
            OutboundMessage(subject, b'{"x":1}', f"a-{i}", "binance-usdm", "trade")
        )
    assert await publisher.drain(5.0) == 0
    nc = await nats.connect(server.url)
    js = nc.jetstream()
    await js.delete_stream("MARKET")
    for i in range(500):
        await publisher.submit(
            OutboundMessage(subject, b'{"x":1}', f"b-{i}", "binance-usdm", "trade")
        )
    left = await publisher.drain(10.0)
    info = await js.stream_info("MARKET")
    ids = [
        (await js.get_msg("MARKET", seq)).headers["Nats-Msg-Id"]  # type: ignore[index]
        for seq in range(1, info.state.last_seq + 1)
    ]
    await nc.close()
    runner.cancel()
    await publisher.close()
    print(f"\nready changes: {changes}; stored after the loss: {len(ids)}")
    assert left == 0
    assert ids == [f"b-{i}" for i in range(500)]
    assert (publisher.published, publisher.dropped) == (600, 0)
    assert changes[0] == (True, "")
    assert changes[1][0] is False and "no responders (503)" in changes[1][1]
    assert changes[-1] == (True, "")
    assert metrics.registry.get_sample_value("relay_jetstream_ready") == 1


def run_config(nats_url: str, streams: str) -> str:
    return f"""
[nats]
urls = ["{nats_url}"]
{streams}
[http]
enabled = false
[[venues]]
id = "binance-usdm"
ws_url = "ws://127.0.0.1:{free_port()}/binance-usdm/stream"
rest_url = "http://127.0.0.1:1/binance-usdm"
[[venues.subscriptions]]
instrument = "SUSHIUSDT"
canonical_symbol = "SUSHI/USDT"
data_types = ["trade"]
"""


MEMORY_MARKET = """[[nats.streams]]
name = "MARKET"
subjects = ["market.>"]
storage = "memory"
manage = "update"
"""
OTHER_ON_MARKET = """[[nats.streams]]
name = "OTHER"
subjects = ["market.binance-usdm.>"]
"""


@pytest.mark.parametrize(
    ("case", "jetstream", "streams", "reason"),
    [
        (
            "no stream",
            True,
            "",
            "no JetStream stream captures market.> and [[nats.streams]] configures none;"
            " configure one or create it on the server",
        ),
        (
            "storage conflict",
            True,
            MEMORY_MARKET,
            "stream MARKET: cannot update it to the configuration (storage: 'file' on the server,"
            " 'memory' configured; max_age_s: 3600.0 on the server, 86400.0 configured;"
            " max_bytes: 1048576 on the server, 1073741824 configured;"
            " discard: 'new' on the server,"
            " 'old' configured): stream configuration update can not change storage type",
        ),
        (
            "overlapping subjects",
            True,
            OTHER_ON_MARKET,
            "stream OTHER: cannot create it: subjects overlap with an existing stream",
        ),
        (
            "JetStream disabled",
            False,
            "",
            "JetStream not answering (no responders) for 10 s at start; is JetStream enabled on"
            " the server (nats-server -js)?",
        ),
    ],
)
async def test_a_jetstream_problem_at_start_is_one_line_and_exit_2(
    tmp_path: Path, case: str, jetstream: bool, streams: str, reason: str
) -> None:
    async with EmbeddedNats(jetstream=jetstream) as server:
        if jetstream and case != "no stream":
            await add_operator_stream(server, OPERATOR_STREAM)
        config = tmp_path / "relay.toml"
        config.write_text(run_config(server.url, streams))
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "relay.cli",
            "run",
            "--config",
            str(config),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
    lines = stderr.decode().splitlines()
    print(f"\n{case}: exit {process.returncode}; stderr: {lines}")
    assert process.returncode == 2
    assert len(lines) == 1
    assert "Traceback" not in stderr.decode()
    errors = [json.loads(line) for line in lines if '"level":"ERROR"' in line]
    assert [(e["logger"], e["msg"]) for e in errors] == [("relay", f"not starting: {reason}")]
    assert stdout == b""


async def test_a_stream_that_cannot_be_created_while_running_is_an_outage_logged_once(
    server: EmbeddedNats, caplog: pytest.LogCaptureFixture
) -> None:
    changes: list[tuple[bool, str]] = []
    stream = relay_stream(storage=StorageType.MEMORY, max_bytes=64 * MIB)
    publisher = publisher_for(server, stream, changes=changes)
    await publisher.connect()
    checks = 0
    check = publisher._keeper.check

    async def counted(js: JetStreamContext) -> None:
        nonlocal checks
        checks += 1
        await check(js)

    publisher._keeper.check = counted  # type: ignore[method-assign]
    runner = asyncio.create_task(publisher.run())
    nc = await nats.connect(server.url)
    js = nc.jetstream()
    await js.delete_stream("MARKET")
    await js.add_stream(
        JsStreamConfig(
            name="OTHER", subjects=["market.binance-spot.>"], storage=JsStorageType.MEMORY
        )
    )
    subject = "market.binance-usdm.btc-usdt.trade"
    for i in range(50):
        await publisher.submit(
            OutboundMessage(subject, b'{"x":1}', f"c-{i}", "binance-usdm", "trade")
        )
    await publisher.flush()
    for _ in range(200):  # checks 0.25 s, 0.5 s, 1 s apart: four of them fail
        if checks >= 4:
            break
        await asyncio.sleep(0.05)
    assert (checks, publisher.ready) == (4, False)
    await js.delete_stream("OTHER")  # the operator removes the overlapping stream
    left = await publisher.drain(15.0)
    info = await js.stream_info("MARKET")
    await nc.close()
    runner.cancel()
    await publisher.close()
    problems = [
        r.__dict__["reason"]
        for r in caplog.records
        if r.getMessage() == "JetStream stream problem; buffering until it is fixed"
    ]
    print(f"\nready changes: {changes}\nproblem lines: {problems}")
    assert problems == ["stream MARKET: cannot create it: subjects overlap with an existing stream"]
    assert [ready for ready, _ in changes] == [True, False, False, True]
    assert changes[2] == (False, problems[0])
    assert (left, info.state.messages, publisher.published, publisher.dropped) == (0, 50, 50, 0)
