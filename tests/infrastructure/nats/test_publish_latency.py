"""``relay_publish_latency_seconds``: every event JetStream acknowledges lands in its venue's
histogram, frame read to ack, against a real nats-server."""

from __future__ import annotations

import asyncio
import time

import pytest

from relay.application.ports import OutboundMessage
from relay.config.model import NatsConfig, PipelineConfig, StorageType, StreamConfig
from relay.infrastructure.embedded_nats import EmbeddedNats
from relay.infrastructure.metrics import PUBLISH_LATENCY_BUCKETS_S, PrometheusMetrics
from relay.infrastructure.nats.publisher import JetStreamPublisher

pytestmark = pytest.mark.integration

READ_AGO_S = 3.0
"""How long before publishing the ``okx`` frames were read: their latency is 3 s + the ack."""


def sample(metrics: PrometheusMetrics, suffix: str, **labels: str) -> float | None:
    return metrics.registry.get_sample_value(f"relay_publish_latency_seconds{suffix}", labels)


async def test_acked_events_land_in_their_venues_histogram_from_frame_read_to_ack() -> None:
    metrics = PrometheusMetrics()
    async with EmbeddedNats() as server:
        config = NatsConfig(
            urls=(server.url,),
            streams=(StreamConfig("MARKET", ("market.>",), StorageType.MEMORY),),
        )
        publisher = JetStreamPublisher(config, "application/json", metrics, PipelineConfig())
        await publisher.connect()
        runner = asyncio.create_task(publisher.run())
        now_ns = time.monotonic_ns()
        old_ns = now_ns - int(READ_AGO_S * 1e9)
        messages = [
            *(
                OutboundMessage(
                    "market.binance-usdm.a.trade",
                    b"{}",
                    f"b-{i}",
                    "binance-usdm",
                    "trade",
                    read_ns=now_ns,
                )
                for i in range(30)
            ),
            *(
                OutboundMessage(
                    "market.okx.a.trade", b"{}", f"o-{i}", "okx", "trade", read_ns=old_ns
                )
                for i in range(20)
            ),
            OutboundMessage("market.kraken.a.trade", b"{}", "k-0", "kraken", "trade"),
        ]
        for message in messages:
            await publisher.submit(message)
        assert await publisher.drain(10.0) == 0
        runner.cancel()
        await publisher.close()
    assert publisher.published == 51
    assert sample(metrics, "_count", venue="binance-usdm") == 30
    assert sample(metrics, "_count", venue="okx") == 20
    assert sample(metrics, "_count", venue="kraken") is None  # read time unknown: not observed
    okx_sum = sample(metrics, "_sum", venue="okx")
    assert okx_sum is not None and 20 * READ_AGO_S < okx_sum < 20 * 5.0
    okx_buckets = {
        bound: sample(metrics, "_bucket", venue="okx", le=repr(bound))
        for bound in PUBLISH_LATENCY_BUCKETS_S
    }
    assert okx_buckets == {b: (20.0 if b >= 5.0 else 0.0) for b in PUBLISH_LATENCY_BUCKETS_S}
    assert sample(metrics, "_bucket", venue="okx", le="+Inf") == 20
    assert sample(metrics, "_bucket", venue="binance-usdm", le="+Inf") == 30
    exposition = metrics.exposition().decode()
    assert 'relay_publish_latency_seconds_bucket{le="5.0",venue="okx"} 20.0' in exposition
    assert "# TYPE relay_publish_latency_seconds histogram" in exposition
