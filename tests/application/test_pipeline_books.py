"""The pipeline's book rules against a real nats-server with a small ``max_payload``.

Snapshots that do not fit go out in parts; deltas only follow a whole snapshot;
a book that lost a message is resynced; ``depth`` publishes the top N levels.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import nats
import orjson
import pytest

from relay.application.pipeline import HEADER_ROOM_BYTES, Pipeline
from relay.application.ports import OutboundMessage
from relay.config.model import NatsConfig, PipelineConfig, StorageType, StreamConfig
from relay.domain.model import DataType, Instrument, L2Update, MarketEvent, PriceLevel, Ticker
from relay.infrastructure.embedded_nats import EmbeddedNats
from relay.infrastructure.metrics import PrometheusMetrics
from relay.infrastructure.nats.publisher import JetStreamPublisher
from relay.serialization.json_codec import JsonCodec

pytestmark = pytest.mark.integration

MAX_PAYLOAD = 16 * 1024
BOOK = Instrument("coinbase-exchange", "BTC-USD", "BTC/USD")


@pytest.fixture
async def server() -> AsyncIterator[EmbeddedNats]:
    async with EmbeddedNats(max_payload_bytes=MAX_PAYLOAD) as s:
        yield s


@dataclass
class Relay:
    """A pipeline and a real publisher, and the resyncs the pipeline asked for."""

    pipeline: Pipeline
    publisher: JetStreamPublisher
    metrics: PrometheusMetrics
    resyncs: list[tuple[Instrument, str]] = field(default_factory=list)


@pytest.fixture
async def relay(server: EmbeddedNats, request: pytest.FixtureRequest) -> AsyncIterator[Relay]:
    depth = getattr(request, "param", 0)
    metrics = PrometheusMetrics()
    resyncs: list[tuple[Instrument, str]] = []
    config = NatsConfig(
        urls=(server.url,), streams=(StreamConfig("MARKET", ("market.>",), StorageType.MEMORY),)
    )
    holder: list[Pipeline] = []
    publisher = JetStreamPublisher(
        config,
        "application/json",
        metrics,
        PipelineConfig(publish_retry_delays_s=(0.01,)),
        on_drop=lambda message, reason: holder[0].message_dropped(message, reason),
    )
    pipeline = Pipeline(
        64,
        JsonCodec(),
        publisher,
        metrics,
        depths={(BOOK.venue, BOOK.instrument): depth} if depth else {},
        resync_book=lambda instrument, reason: resyncs.append((instrument, reason)),
    )
    holder.append(pipeline)
    await publisher.connect()
    tasks = [asyncio.create_task(publisher.run()), asyncio.create_task(pipeline.run())]
    try:
        yield Relay(pipeline, publisher, metrics, resyncs)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await publisher.close()


def book_event(update: L2Update, key: str) -> MarketEvent:
    return MarketEvent(BOOK, DataType.L2_ORDERBOOK, 1_700_000_000_000, None, update, key)


def snapshot(levels: int, update_id: int) -> L2Update:
    bids = tuple((Decimal(50_000) - Decimal(i) / 100, Decimal("0.12345678")) for i in range(levels))
    asks = tuple((Decimal(50_001) + Decimal(i) / 100, Decimal("1.5")) for i in range(levels))
    return L2Update(bids, asks, True, update_id, update_id)


def delta(update_id: int, *bids: PriceLevel) -> L2Update:
    return L2Update(bids, (), False, update_id, update_id)


async def stored(url: str, relay: Relay) -> list[tuple[str, dict[str, Any]]]:
    """(Nats-Msg-Id, envelope) of every stored message, once everything is settled."""
    assert await relay.pipeline.drain(10.0) == 0
    assert await relay.publisher.drain(10.0) == 0
    nc = await nats.connect(url)
    js = nc.jetstream()
    count = (await js.stream_info("MARKET")).state.messages
    messages = []
    for seq in range(1, count + 1):
        msg = await js.get_msg("MARKET", seq)
        assert len(msg.data or b"") + len(str(msg.headers)) <= MAX_PAYLOAD
        messages.append(((msg.headers or {})["Nats-Msg-Id"], orjson.loads(msg.data or b"")))
    await nc.close()
    return messages


def rebuilt(envelopes: list[dict[str, Any]]) -> tuple[dict[str, str], dict[str, str]]:
    bids: dict[str, str] = {}
    asks: dict[str, str] = {}
    for envelope in envelopes:
        payload = envelope["payload"]
        if payload["is_snapshot"] and payload["snapshot_part"] == 1:
            bids, asks = {}, {}
        for side, levels in ((bids, payload["bids"]), (asks, payload["asks"])):
            for price, quantity in levels:
                if Decimal(quantity) == 0:
                    side.pop(price, None)
                else:
                    side[price] = quantity
    return bids, asks


def dropped(relay: Relay, reason: str) -> float:
    value = relay.metrics.registry.get_sample_value(
        "relay_events_dropped_total",
        {"venue": BOOK.venue, "data_type": "l2_orderbook", "reason": reason},
    )
    return value or 0.0


async def test_a_snapshot_over_max_payload_goes_out_in_parts_before_its_deltas(
    server: EmbeddedNats, relay: Relay
) -> None:
    assert relay.publisher.max_payload_bytes == MAX_PAYLOAD
    whole = snapshot(500, 7)
    assert len(JsonCodec().encode(book_event(whole, "7"), 1)) > MAX_PAYLOAD

    await relay.pipeline.put(book_event(whole, "7"))
    await relay.pipeline.put(book_event(delta(8, (Decimal(50_000), Decimal(0))), "8"))
    messages = await stored(server.url, relay)

    parts = [envelope["payload"] for _, envelope in messages[:-1]]
    count = len(parts)
    assert count == 2
    assert [msg_id for msg_id, _ in messages] == [
        f"coinbase-exchange:BTC-USD:l2_orderbook:7:{i}/{count}" for i in range(1, count + 1)
    ] + ["coinbase-exchange:BTC-USD:l2_orderbook:8"]
    assert [envelope["sequence"] for _, envelope in messages] == list(range(1, count + 2))
    assert [(p["snapshot_part"], p["snapshot_parts"]) for p in parts] == [
        (i, count) for i in range(1, count + 1)
    ]
    assert all(p["is_snapshot"] and p["first_update_id"] == 7 for p in parts)
    assert parts[0]["bids"][0] == ["50000", "0.12345678"]
    assert parts[0]["asks"][0] == ["50001", "1.5"]
    assert messages[-1][1]["payload"]["snapshot_part"] is None
    bids, asks = rebuilt([envelope for _, envelope in messages])
    assert len(bids) == 499
    assert len(asks) == 500
    assert "50000" not in bids
    assert bids["49995.01"] == "0.12345678"
    assert asks["50005.99"] == "1.5"


async def test_deltas_before_a_whole_snapshot_are_dropped_and_counted(
    server: EmbeddedNats, relay: Relay
) -> None:
    await relay.pipeline.put(book_event(delta(3, (Decimal(1), Decimal(1))), "3"))
    await relay.pipeline.put(book_event(snapshot(2, 4), "4"))
    await relay.pipeline.put(book_event(delta(5, (Decimal(1), Decimal(2))), "5"))
    messages = await stored(server.url, relay)

    assert [msg_id.rsplit(":", 1)[1] for msg_id, _ in messages] == ["4", "5"]
    assert dropped(relay, "book_incomplete") == 1


async def test_a_book_that_lost_a_message_is_resynced_and_its_deltas_wait_for_the_snapshot(
    server: EmbeddedNats, relay: Relay
) -> None:
    await relay.pipeline.put(book_event(snapshot(2, 10), "10"))
    await relay.pipeline.drain(5.0)
    lost = OutboundMessage(
        "market.coinbase-exchange.btc-usd.l2_orderbook",
        b"{}",
        "coinbase-exchange:BTC-USD:l2_orderbook:11",
        BOOK.venue,
        "l2_orderbook",
        0,
        BOOK,
    )
    relay.pipeline.message_dropped(lost, "publish_failed")
    relay.pipeline.message_dropped(lost, "publish_failed")
    await relay.pipeline.put(book_event(delta(12, (Decimal(1), Decimal(1))), "12"))
    await relay.pipeline.put(book_event(snapshot(2, 13), "13"))
    await relay.pipeline.put(book_event(delta(14, (Decimal(1), Decimal(1))), "14"))
    messages = await stored(server.url, relay)

    assert relay.resyncs == [(BOOK, "message_dropped")]
    assert [msg_id.rsplit(":", 1)[1] for msg_id, _ in messages] == ["10", "13", "14"]
    assert dropped(relay, "book_incomplete") == 1


async def test_a_snapshot_whose_single_level_cannot_fit_is_not_published_and_resyncs(
    server: EmbeddedNats, relay: Relay
) -> None:
    huge = Decimal("1." + "1" * (MAX_PAYLOAD // 2))
    await relay.pipeline.put(book_event(L2Update(((huge, huge),), (), True, 1, 1), "1"))
    await relay.pipeline.put(book_event(delta(2, (Decimal(1), Decimal(1))), "2"))
    messages = await stored(server.url, relay)

    assert messages == []
    assert relay.resyncs == [(BOOK, "snapshot_incomplete")]
    assert dropped(relay, "too_large") == 1
    assert dropped(relay, "book_incomplete") == 1
    assert 2 * len(str(huge)) > relay.publisher.max_payload_bytes - HEADER_ROOM_BYTES


@pytest.mark.parametrize("relay", [2], indirect=True)
async def test_depth_publishes_the_top_n_levels_of_the_venue_book(
    server: EmbeddedNats, relay: Relay
) -> None:
    await relay.pipeline.put(book_event(snapshot(5, 1), "1"))
    await relay.pipeline.put(book_event(delta(2, (Decimal("49999.99"), Decimal(0))), "2"))
    await relay.pipeline.put(book_event(delta(3, (Decimal("49999.90"), Decimal(3))), "3"))
    messages = await stored(server.url, relay)

    payloads = [envelope["payload"] for _, envelope in messages]
    assert [(p["bids"], p["asks"]) for p in payloads] == [
        (
            [["50000", "0.12345678"], ["49999.99", "0.12345678"]],
            [["50001", "1.5"], ["50001.01", "1.5"]],
        ),
        ([["49999.98", "0.12345678"], ["49999.99", "0"]], []),
    ]
    assert [envelope["sequence"] for _, envelope in messages] == [1, 2]
    assert relay.pipeline.outside_depth == 1


async def test_an_event_that_cannot_be_encoded_is_dropped_and_the_pipeline_goes_on(
    server: EmbeddedNats, relay: Relay, caplog: pytest.LogCaptureFixture
) -> None:
    ticker = Instrument("coinbase-exchange", "ETH-USD", "ETH/USD")

    def quote(update_id: int) -> MarketEvent:
        payload = Ticker(Decimal("1"), Decimal("2"), Decimal("3"), Decimal("4"), update_id)
        return MarketEvent(ticker, DataType.TICKER, 1, None, payload, str(update_id))

    await relay.pipeline.put(book_event(snapshot(2, 1), "1"))
    await relay.pipeline.put(quote(2**64))
    await relay.pipeline.put(quote(2**65))
    await relay.pipeline.put(quote(7))
    await relay.pipeline.put(
        book_event(L2Update(((Decimal(1), Decimal(2**70)),), (), False, 2**64, 2**64), "2")
    )
    await relay.pipeline.put(book_event(delta(3, (Decimal(1), Decimal(1))), "3"))
    messages = await stored(server.url, relay)

    assert [msg_id for msg_id, _ in messages] == [
        "coinbase-exchange:BTC-USD:l2_orderbook:1",
        "coinbase-exchange:ETH-USD:ticker:7",
    ]
    assert (
        relay.metrics.registry.get_sample_value(
            "relay_events_dropped_total",
            {"venue": "coinbase-exchange", "data_type": "ticker", "reason": "internal_error"},
        )
        == 2
    )
    assert dropped(relay, "internal_error") == 1
    assert dropped(relay, "book_incomplete") == 1
    assert relay.resyncs == [(BOOK, "internal_error")]
    lines = [r for r in caplog.records if r.getMessage() == "event could not be published"]
    assert [(r.__dict__["data_type"], r.__dict__["suppressed"]) for r in lines] == [
        ("ticker", 0),
        ("l2_orderbook", 0),
    ]
