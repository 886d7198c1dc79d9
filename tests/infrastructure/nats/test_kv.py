"""The consumer key-value buckets against a real nats-server.

Buckets are created with history 1 and ``max_bytes``; an existing one is left
as it is under ``manage = "create"`` and updated under ``"update"``. The writer
writes one value per key per flush (the newest), a book image in parts when it
exceeds ``max_payload`` (purging parts left from a longer image), and after a
failed write checks the buckets, re-creates a lost one and writes again. A resync
or a stale stream over before a flush is still written once.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal

import nats
import pytest
from nats.js.api import KeyValueConfig
from nats.js.errors import KeyDeletedError, KeyNotFoundError
from support.e2e import until
from support.reference_books import binance_books
from support.tcp_proxy import StallingProxy

from relay.application.consumer_state import ConsumerState
from relay.client import RelayClient
from relay.config.model import ConsumerStateConfig, StreamManagement
from relay.domain.model import DataType, Instrument, L2Update, MarketEvent, Ticker
from relay.infrastructure.embedded_nats import EmbeddedNats
from relay.infrastructure.nats.kv import BucketKeeper, ConsumerStateWriter
from relay.infrastructure.nats.streams import StreamSetupError
from relay.serialization.json_codec import JsonCodec, encode_json

pytestmark = pytest.mark.integration

MIB = 1024**2
SUSHI = Instrument("binance-usdm", "SUSHIUSDT", "SUSHI/USDT")


async def test_a_jetstream_not_answering_at_start_is_waited_out_for_wait_s_then_named() -> None:
    """The relay's path to the server hangs (every request unanswered): the check gives
    up after ``wait_s`` with one line naming the bucket; a path that flows again within
    ``wait_s`` (a cluster done electing) gets every bucket created."""
    config = ConsumerStateConfig(max_bytes=MIB)
    async with EmbeddedNats() as server, StallingProxy(server.port).running() as proxy:
        nc = await nats.connect(proxy.url)
        js = nc.jetstream(timeout=0.2)
        proxy.stall()
        with pytest.raises(StreamSetupError) as refused:
            await BucketKeeper(config).check(js, wait_s=1.0)
        assert refused.value.reason == (
            "bucket relay-latest: JetStream not answering (timeout) for 1 s"
        )
        checking = asyncio.create_task(BucketKeeper(config).check(js, wait_s=60.0))
        asked = proxy.held

        async def asked_again() -> bool:
            return proxy.held >= asked + 2 and not checking.done()

        await until(asked_again, "the check asking again")
        proxy.flow()
        await asyncio.wait_for(checking, 30)
        names = {info.config.name for info in await nc.jetstream().streams_info()}
        assert names >= {"KV_relay-latest", "KV_relay-books", "KV_relay-status"}
        await nc.close()


async def test_buckets_are_created_and_an_existing_one_is_updated_only_under_manage_update(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with EmbeddedNats() as server:
        nc = await nats.connect(server.url)
        js = nc.jetstream()
        await js.create_key_value(KeyValueConfig(bucket="relay-latest", history=5, max_bytes=MIB))
        await BucketKeeper(ConsumerStateConfig(max_bytes=8 * MIB)).check(js)
        latest = (await js.stream_info("KV_relay-latest")).config
        books = (await js.stream_info("KV_relay-books")).config
        assert (latest.max_msgs_per_subject, latest.max_bytes) == (5, MIB)
        assert (books.max_msgs_per_subject, books.max_bytes) == (1, 8 * MIB)
        lines = [r for r in caplog.records if r.getMessage().startswith("bucket differs")]
        assert [r.__dict__["differences"] for r in lines] == [
            [
                "history: 5 on the server, 1 configured",
                "max_bytes: 1048576 on the server, 8388608 configured",
            ]
        ]
        update = ConsumerStateConfig(max_bytes=8 * MIB, manage=StreamManagement.UPDATE)
        await BucketKeeper(update).check(js)
        latest = (await js.stream_info("KV_relay-latest")).config
        assert (latest.max_msgs_per_subject, latest.max_bytes) == (1, 8 * MIB)
        await nc.close()


def sushi_snapshot() -> L2Update:
    bids, asks = binance_books("binance-usdm.jsonl", True)["SUSHIUSDT"]
    return L2Update(tuple(sorted(bids.items(), reverse=True)), tuple(sorted(asks.items())), True)


async def test_a_book_image_over_max_payload_is_written_in_parts_and_read_back_whole() -> None:
    config = ConsumerStateConfig()
    state = ConsumerState([(SUSHI, DataType.L2_ORDERBOOK, "binance-usdm")])
    writer = ConsumerStateWriter(config, state, JsonCodec())
    snapshot = sushi_snapshot()
    async with EmbeddedNats() as server:
        nc = await nats.connect(server.url)
        js = nc.jetstream()
        await BucketKeeper(config).check(js)
        state.books[SUSHI].apply(snapshot, 41, 1626992742289)
        await writer.flush(js, 4096)
        async with RelayClient(nc) as client:
            found = await client.book_image("binance-usdm", "sushi-usdt")
            assert found is not None
            parts, sequence, received_at_ms = found
            assert (len(parts), sequence, received_at_ms) == (
                state.books[SUSHI].written_parts,
                41,
                1626992742289,
            )
            assert len(parts) > 1
            assert [p.snapshot_part for p in parts] == list(range(1, len(parts) + 1))
            assert tuple(level for p in parts for level in p.bids) == snapshot.bids
            assert sorted(level for p in parts for level in p.asks) == sorted(snapshot.asks)
            state.books[SUSHI].apply(
                L2Update(snapshot.bids[:1], snapshot.asks[:1], True), 42, 1626992742300
            )
            await writer.flush(js, 4096)
            parts, sequence, _ = await client.book_image("binance-usdm", "sushi-usdt") or (
                [],
                0,
                0,
            )
            assert (len(parts), sequence) == (1, 42)
            kv = await js.key_value("relay-books")
            with pytest.raises((KeyDeletedError, KeyNotFoundError)):
                await kv.get("binance-usdm.sushi-usdt.2")
        await nc.close()


def ticker(bid: str, at_ms: int) -> MarketEvent:
    return MarketEvent(
        SUSHI,
        DataType.TICKER,
        at_ms,
        at_ms,
        Ticker(Decimal(bid), Decimal("5"), Decimal("7.6120"), Decimal("9")),
        str(at_ms),
    )


async def test_latest_values_are_one_write_per_key_per_flush_and_a_lost_bucket_comes_back() -> None:
    config = ConsumerStateConfig()
    state = ConsumerState([(SUSHI, DataType.TICKER, "binance-usdm")])
    writer = ConsumerStateWriter(config, state, JsonCodec())
    async with EmbeddedNats() as server:
        nc = await nats.connect(server.url)
        js = nc.jetstream()
        await BucketKeeper(config).check(js)
        state.records.clear()
        for bid, at_ms in (("7.6100", 1), ("7.6110", 2)):
            state.pending_latest["binance-usdm.sushi-usdt.ticker"] = encode_json(
                ticker(bid, at_ms), at_ms
            )
        await writer.flush(js, nc.max_payload)
        assert writer.writes == 1
        raw = await js.get_last_msg(
            "KV_relay-latest", "$KV.relay-latest.binance-usdm.sushi-usdt.ticker"
        )
        assert (raw.headers or {})["Content-Type"] == "application/json"
        async with RelayClient(nc) as client:
            event = await client.latest("binance-usdm", "sushi-usdt", "ticker")
            assert event is not None and event.payload == ticker("7.6110", 2).payload
            await js.delete_key_value("relay-latest")
            state.pending_latest["binance-usdm.sushi-usdt.ticker"] = encode_json(
                ticker("7.6120", 3), 3
            )
            await writer.flush(js, nc.max_payload)  # fails: no bucket
            assert writer.writes == 1
            state.pending_latest["binance-usdm.sushi-usdt.ticker"] = encode_json(
                ticker("7.6130", 4), 4
            )
            await writer.flush(js, nc.max_payload)  # checks, re-creates, writes
            event = await client.latest("binance-usdm", "sushi-usdt", "ticker")
            assert event is not None and event.payload == ticker("7.6130", 4).payload
        await nc.close()


@pytest.mark.parametrize(
    ("fault", "shown"), [("resync", "resyncing"), ("stale", "stale")], ids=["resync", "stale"]
)
async def test_a_resync_or_stale_over_before_the_flush_is_written_once_then_streaming(
    fault: str, shown: str
) -> None:
    config = ConsumerStateConfig()
    state = ConsumerState([(SUSHI, DataType.L2_ORDERBOOK, "binance-usdm")])
    writer = ConsumerStateWriter(config, state, JsonCodec())
    record = state.record(SUSHI, DataType.L2_ORDERBOOK)
    async with EmbeddedNats() as server:
        nc = await nats.connect(server.url)
        js = nc.jetstream()
        await BucketKeeper(config).check(js)
        async with RelayClient(nc) as client:

            async def written() -> list[tuple[str, int, str | None]]:
                return [(r.state, r.resyncs, r.last_reason) for r in await client.status()]

            record.seen(10, True)
            await writer.flush(js, nc.max_payload)
            assert await written() == [("streaming", 0, None)]
            if fault == "resync":
                state.resync("binance-usdm", "SUSHIUSDT", "gap")
            else:
                state.stale("binance-usdm", "l2_orderbook")
                state.connection_closed("binance-usdm")
            record.seen(20, True)  # back before the flush
            await writer.flush(js, nc.max_payload)
            resyncs, reason = (1, "gap") if fault == "resync" else (0, None)
            assert await written() == [(shown, resyncs, reason)]
            await writer.flush(js, nc.max_payload)
            assert await written() == [("streaming", resyncs, reason)]
            await writer.flush(js, nc.max_payload)
            assert await written() == [("streaming", resyncs, reason)]
        await nc.close()


@pytest.mark.parametrize("added_again", [False, True], ids=["removed", "removed-then-added"])
async def test_a_stream_removed_at_runtime_leaves_no_status_record_or_book_image(
    added_again: bool,
) -> None:
    """A stream unsubscribed at runtime: its ``relay-status`` record and ``relay-books``
    parts are purged at the next flush (``status()`` and ``book_image()`` no longer find
    it); one added again before that flush is written afresh after the purge."""
    config = ConsumerStateConfig()
    ctk = Instrument("binance-usdm", "CTKUSDT", "CTK/USDT")
    state = ConsumerState(
        [
            (SUSHI, DataType.L2_ORDERBOOK, "binance-usdm"),
            (SUSHI, DataType.TICKER, "binance-usdm"),
            (ctk, DataType.TICKER, "binance-usdm"),
        ]
    )
    writer = ConsumerStateWriter(config, state, JsonCodec())
    async with EmbeddedNats() as server:
        nc = await nats.connect(server.url)
        js = nc.jetstream()
        await BucketKeeper(config).check(js)
        for instrument, data_type in ((SUSHI, DataType.L2_ORDERBOOK), (SUSHI, DataType.TICKER)):
            state.record(instrument, data_type).seen(1626992742289, True)
        state.books[SUSHI].apply(sushi_snapshot(), 41, 1626992742289)
        await writer.flush(js, 4096)
        written_parts = state.books[SUSHI].written_parts
        assert written_parts > 1
        async with RelayClient(nc) as client:
            before = {(s.instrument, s.data_type) for s in await client.status()}
            assert before == {
                ("SUSHIUSDT", "l2_orderbook"),
                ("SUSHIUSDT", "ticker"),
                ("CTKUSDT", "ticker"),
            }
            state.remove_stream("binance-usdm", "SUSHIUSDT", DataType.L2_ORDERBOOK)
            state.remove_stream("binance-usdm", "CTKUSDT", DataType.TICKER)
            if added_again:
                state.add_stream(ctk, DataType.TICKER, "binance-usdm")
            await writer.flush(js, 4096)
            after = {(s.instrument, s.data_type) for s in await client.status()}
            assert after == {("SUSHIUSDT", "ticker")} | (
                {("CTKUSDT", "ticker")} if added_again else set()
            )
            assert await client.book_image("binance-usdm", "sushi-usdt") is None
            kv = await js.key_value("relay-books")
            for part in range(1, written_parts + 1):
                with pytest.raises((KeyDeletedError, KeyNotFoundError)):
                    await kv.get(f"binance-usdm.sushi-usdt.{part}")
            assert state.removed_keys == {}
        await nc.close()
