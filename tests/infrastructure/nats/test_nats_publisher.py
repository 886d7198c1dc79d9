"""The JetStream publisher against a real nats-server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import nats
import nats.aio.client
import pytest

from relay.application.ports import OutboundMessage
from relay.config.model import (
    DiscardPolicy,
    NatsConfig,
    PipelineConfig,
    StorageType,
    StreamConfig,
)
from relay.infrastructure.embedded_nats import EmbeddedNats
from relay.infrastructure.metrics import PrometheusMetrics
from relay.infrastructure.nats.publisher import JetStreamPublisher

pytestmark = pytest.mark.integration


@pytest.fixture
async def server() -> AsyncIterator[EmbeddedNats]:
    async with EmbeddedNats() as s:
        yield s


def message(subject: str, msg_id: str) -> OutboundMessage:
    return OutboundMessage(subject, b'{"x":1}', msg_id, "binance-usdm", "trade")


MEMORY_MARKET = StreamConfig("MARKET", ("market.>",), StorageType.MEMORY, max_bytes=2**30)


async def started(
    server: EmbeddedNats,
    metrics: PrometheusMetrics,
    delays: tuple[float, ...] = (0.01, 0.02, 0.03),
    streams: tuple[StreamConfig, ...] = (MEMORY_MARKET,),
) -> JetStreamPublisher:
    config = NatsConfig(
        urls=(server.url,),
        streams=streams,
        ack_timeout_s=1.0,
        max_in_flight=8,
    )
    publisher = JetStreamPublisher(
        config, "application/json", metrics, PipelineConfig(publish_retry_delays_s=delays)
    )
    await publisher.connect()
    return publisher


def sample(metrics: PrometheusMetrics, name: str, **labels: str) -> float:
    value = metrics.registry.get_sample_value(name, labels)
    return 0.0 if value is None else value


async def test_acknowledged_messages_are_stored_once_per_message_id(server: EmbeddedNats) -> None:
    metrics = PrometheusMetrics()
    publisher = await started(server, metrics)
    runner = asyncio.create_task(publisher.run())
    for i in range(20):
        await publisher.submit(message("market.binance-usdm.btc-usdt.trade", f"id-{i % 10}"))
    assert await publisher.drain(5.0) == 0
    runner.cancel()
    await publisher.close()
    nc = await nats.connect(server.url)
    info = await nc.jetstream().stream_info("MARKET")
    await nc.close()
    assert info.state.messages == 10
    assert publisher.published == 20
    assert (
        sample(metrics, "relay_events_published_total", venue="binance-usdm", data_type="trade")
        == 20
    )


async def test_a_subject_no_stream_captures_is_dropped_once_checked_and_the_rest_goes_on(
    server: EmbeddedNats, caplog: pytest.LogCaptureFixture
) -> None:
    metrics = PrometheusMetrics()
    publisher = await started(server, metrics)
    runner = asyncio.create_task(publisher.run())
    await publisher.submit(message("nostream.binance-usdm.btc-usdt.trade", "lost-1"))
    await publisher.submit(message("market.binance-usdm.btc-usdt.trade", "kept-1"))
    assert await publisher.drain(5.0) == 0
    runner.cancel()
    await publisher.close()
    assert (publisher.published, publisher.dropped) == (1, 1)
    assert sample(metrics, "relay_publish_retries_total", venue="binance-usdm") == 0
    assert (
        sample(
            metrics,
            "relay_events_dropped_total",
            venue="binance-usdm",
            data_type="trade",
            reason="no_stream",
        )
        == 1
    )
    [record] = [r for r in caplog.records if r.getMessage() == "event dropped"]
    assert record.__dict__["subject"] == "nostream.binance-usdm.btc-usdt.trade"
    assert record.__dict__["msg_id"] == "lost-1"
    assert await stream_count(server) == 1


async def test_a_publish_the_stream_refuses_is_retried_then_dropped_and_counted(
    server: EmbeddedNats, caplog: pytest.LogCaptureFixture
) -> None:
    metrics = PrometheusMetrics()
    full = StreamConfig(
        "MARKET", ("market.>",), StorageType.MEMORY, max_bytes=400, discard=DiscardPolicy.NEW
    )
    publisher = await started(server, metrics, streams=(full,))
    runner = asyncio.create_task(publisher.run())
    for i in range(6):
        await publisher.submit(message("market.binance-usdm.btc-usdt.trade", f"full-{i}"))
    assert await publisher.drain(10.0) == 0
    runner.cancel()
    await publisher.close()
    stored = await stream_count(server)
    dropped = [r.__dict__ for r in caplog.records if r.getMessage() == "event dropped"]
    print(
        f"\nstored {stored}, dropped {publisher.dropped}: "
        f"{[(d['msg_id'], d['error'], d['attempts']) for d in dropped]}"
    )
    assert 1 <= stored < 6
    assert (publisher.published, publisher.dropped) == (stored, 6 - stored)
    assert [d["msg_id"] for d in dropped] == [f"full-{i}" for i in range(stored, 6)]
    assert {(d["reason"], d["attempts"]) for d in dropped} == {("publish_failed", 4)}
    assert all("maximum bytes exceeded" in d["error"] for d in dropped)
    assert sample(metrics, "relay_publish_retries_total", venue="binance-usdm") == 3 * (6 - stored)


async def stream_count(server: EmbeddedNats) -> int:
    nc = await nats.connect(server.url)
    info = await nc.jetstream().stream_info("MARKET")
    await nc.close()
    return int(info.state.messages)


async def test_batch_acks_confirm_every_message_by_stream_sequence(server: EmbeddedNats) -> None:
    metrics = PrometheusMetrics()
    publisher = await started(server, metrics)
    runner = asyncio.create_task(publisher.run())
    for i in range(2000):
        await publisher.submit(message("market.binance-usdm.btc-usdt.trade", f"b-{i}"))
        if i % 300 == 299:
            await publisher.flush()
    assert await publisher.drain(5.0) == 0
    runner.cancel()
    await publisher.close()
    assert (publisher.published, publisher.dropped, publisher.batch_fallbacks) == (2000, 0, 0)
    assert await stream_count(server) == 2000


async def test_a_rejected_message_in_a_batch_falls_back_to_one_ack_each(
    server: EmbeddedNats,
) -> None:
    metrics = PrometheusMetrics()
    publisher = await started(server, metrics)
    runner = asyncio.create_task(publisher.run())
    for i in range(6):
        subject = "nostream.x.y.trade" if i == 2 else "market.binance-usdm.btc-usdt.trade"
        await publisher.submit(message(subject, f"r-{i}"))
    assert await publisher.drain(5.0) == 0
    runner.cancel()
    await publisher.close()
    assert (publisher.published, publisher.dropped) == (5, 1)
    assert publisher.batch_fallbacks == 1
    assert await stream_count(server) == 5


async def test_another_publisher_on_the_stream_costs_fallbacks_not_data(
    server: EmbeddedNats,
) -> None:
    metrics = PrometheusMetrics()
    publisher = await started(server, metrics)
    runner = asyncio.create_task(publisher.run())
    other = await nats.connect(server.url)
    js = other.jetstream()
    for i in range(50):
        await publisher.submit(message("market.binance-usdm.btc-usdt.trade", f"o-{i}"))
        if i % 10 == 9:
            await js.publish("market.other.x.trade", b"{}")
            await publisher.flush()
    assert await publisher.drain(5.0) == 0
    runner.cancel()
    await publisher.close()
    await other.close()
    assert (publisher.published, publisher.dropped) == (50, 0)
    assert publisher.batch_fallbacks >= 1
    assert await stream_count(server) == 55


async def test_a_payload_over_the_servers_max_payload_is_dropped_at_once(
    server: EmbeddedNats, caplog: pytest.LogCaptureFixture
) -> None:
    metrics = PrometheusMetrics()
    publisher = await started(server, metrics)
    runner = asyncio.create_task(publisher.run())
    big = OutboundMessage(
        "market.binance-usdm.btc-usdt.l2_orderbook",
        b"x" * (2**20 + 1),
        "big-1",
        "binance-usdm",
        "l2_orderbook",
    )
    await publisher.submit(big)
    await publisher.submit(message("market.binance-usdm.btc-usdt.trade", "small-1"))
    assert await publisher.drain(5.0) == 0
    runner.cancel()
    await publisher.close()
    assert (publisher.published, publisher.dropped) == (1, 1)
    assert (
        sample(
            metrics,
            "relay_events_dropped_total",
            venue="binance-usdm",
            data_type="l2_orderbook",
            reason="too_large",
        )
        == 1
    )
    [record] = [r for r in caplog.records if r.getMessage() == "event dropped"]
    assert record.__dict__["error"] == "1048577 bytes > server max_payload 1048576"
    assert await stream_count(server) == 1


async def test_nats_error_lines_while_the_server_is_down_are_rate_limited_with_a_count(
    server: EmbeddedNats, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("relay.infrastructure.nats.publisher.LOG_INTERVAL_S", 1.0)
    publisher = await started(server, PrometheusMetrics())
    runner = asyncio.create_task(publisher.run())
    await server.kill()

    def held_back() -> int:
        return sum(
            r.__dict__["suppressed"] for r in caplog.records if r.getMessage() == "NATS error"
        )

    # nats-py retries about every 0.5 s and reports each failure: wait for two held back.
    for _ in range(100):
        if held_back() >= 2:
            break
        await asyncio.sleep(0.1)
    await server.start()
    for _ in range(100):
        if publisher.ready:
            break
        await asyncio.sleep(0.05)
    runner.cancel()
    await publisher.close()
    by_kind: dict[str, list[int]] = {}
    for record in caplog.records:
        if record.getMessage() == "NATS error":
            kind = record.__dict__["error"].partition("(")[0]
            by_kind.setdefault(kind, []).append(record.__dict__["suppressed"])
    print(f"\n'NATS error' lines while down, suppressed counts by error: {by_kind}")
    assert publisher.ready
    # Per kind of error the first line holds nothing back; later ones (at least 1 s later)
    # say how many were held back since: without the limit every count would be 0.
    assert all(counts[0] == 0 for counts in by_kind.values())
    assert sum(sum(counts) for counts in by_kind.values()) >= 2


async def test_a_fenced_publisher_sends_nothing_and_publishes_what_it_held_in_order_after(
    server: EmbeddedNats,
) -> None:
    """``fence(True)`` (a suspended leader): not one message leaves the process, whatever
    JetStream answers; ``fence(False)``: every held message is stored once, in order."""
    metrics = PrometheusMetrics()
    publisher = await started(server, metrics)
    runner = asyncio.create_task(publisher.run())
    subject = "market.binance-usdm.btc-usdt.trade"
    for i in range(10):
        await publisher.submit(message(subject, f"id-{i}"))
    assert await publisher.drain(5.0) == 0
    client = publisher.client
    assert client is not None
    publisher.fence(True, "leader lease not renewed in time")
    sent_before = client.stats["out_msgs"]
    for i in range(10, 25):
        await publisher.submit(message(subject, f"id-{i}"))
    await publisher.flush()
    await client.flush()  # a round trip on the publisher's connection
    assert (publisher.ready, publisher.in_flight) == (False, 15)
    assert client.stats["out_msgs"] == sent_before
    assert sample(metrics, "relay_jetstream_ready") == 0
    publisher.fence(False)
    assert await publisher.drain(10.0) == 0
    runner.cancel()
    await publisher.close()
    nc = await nats.connect(server.url)
    js = nc.jetstream()
    ids = []
    for sequence in range(1, 26):
        stored = await js.get_msg("MARKET", sequence)
        ids.append((stored.headers or {})["Nats-Msg-Id"])
    info = await js.stream_info("MARKET")
    await nc.close()
    assert ids == [f"id-{i}" for i in range(25)]
    assert info.state.messages == 25
    assert (publisher.published, publisher.dropped) == (25, 0)
