"""``RelayClient.subscribe`` on a real nats-server: events by Content-Type, holes reported."""

from __future__ import annotations

import asyncio
import contextlib
from decimal import Decimal

import nats
import pytest

from relay.client import NoStreamError, ReceivedEvent, RelayClient
from relay.domain.model import DataType, Instrument, MarketEvent, Side, Trade
from relay.infrastructure.embedded_nats import EmbeddedNats
from relay.serialization.json_codec import encode_json
from relay.serialization.protobuf_codec import encode_protobuf

pytestmark = pytest.mark.integration

CTK = Instrument("binance-usdm", "CTKUSDT", "CTK/USDT")
# The first CTKUSDT aggTrade of shared/captures/binance-usdm.jsonl, as published.
TRADE = MarketEvent(
    CTK,
    DataType.TRADE,
    1626992742289,
    1626992741421,
    Trade("16599292", Decimal("1.01100"), Decimal("10"), Side.BUY),
    "16599292",
)


async def test_events_are_decoded_by_content_type_and_a_sequence_hole_is_reported() -> None:
    holes: list[tuple[str, int]] = []
    received: list[ReceivedEvent] = []
    subject = "market.binance-usdm.ctk-usdt.trade"
    async with EmbeddedNats() as server, RelayClient(server.url) as client:
        publisher = await nats.connect(server.url)

        async def consume() -> None:
            async with contextlib.aclosing(
                client.subscribe(
                    "binance-usdm", data_type="trade", on_hole=lambda s, n: holes.append((s, n))
                )
            ) as events:
                async for event in events:
                    received.append(event)
                    if event.sequence == 5:
                        return

        task = asyncio.create_task(consume())
        for sequence, encode, content_type in (
            (1, encode_json, "application/json"),
            (2, encode_protobuf, "application/protobuf"),
            (5, encode_json, "application/json"),
        ):
            await asyncio.sleep(0)
            # Published until the subscription is in place (core NATS has no history).
            while not received and sequence == 1 and not task.done():
                await publisher.publish(
                    subject,
                    encode(TRADE, sequence),
                    headers={"Content-Type": content_type, "Nats-Msg-Id": TRADE.msg_id},
                )
                await publisher.flush()
                await asyncio.sleep(0.05)
            if sequence > 1:
                await publisher.publish(
                    subject,
                    encode(TRADE, sequence),
                    headers={"Content-Type": content_type, "Nats-Msg-Id": TRADE.msg_id},
                )
        await asyncio.wait_for(task, 10)
        await publisher.close()
    first = received[0]
    assert first.event == TRADE
    tail = [(r.sequence, r.missed, r.event) for r in received[-2:]]
    assert tail == [(2, 0, TRADE), (5, 2, TRADE)]
    assert holes == [(subject, 2)]


@pytest.mark.parametrize("prefix", ["market", "other"])
async def test_a_book_no_stream_captures_is_one_clear_error(prefix: str) -> None:
    """Before the relay set up its stream, or with another ``subject_prefix``: the book's
    subject is named, not nats-py's bare NotFoundError."""
    async with EmbeddedNats() as server:
        js = (publisher := await nats.connect(server.url)).jetstream()
        if prefix == "other":
            await js.add_stream(name="MARKET", subjects=["market.>"])
        async with RelayClient(server.url, subject_prefix=prefix) as client:
            with pytest.raises(NoStreamError) as raised:
                await client.order_book("binance-usdm", "sushi-usdt")
        await publisher.close()
    assert str(raised.value) == (
        f"no JetStream stream captures {prefix}.binance-usdm.sushi-usdt.l2_orderbook: is the"
        " relay running, publishing with this subject_prefix?"
    )
