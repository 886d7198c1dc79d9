"""Ack verdicts and batch confirmation by stream sequence, on acks from a real nats-server."""

from __future__ import annotations

from collections.abc import AsyncIterator

import nats
import pytest
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js.api import DiscardPolicy, StorageType, StreamConfig

from relay.application.ports import OutboundMessage
from relay.infrastructure.embedded_nats import EmbeddedNats
from relay.infrastructure.nats.acks import (
    STORED,
    AckResult,
    AckVerdict,
    BatchAcks,
    Pending,
    message_ack,
)
from relay.infrastructure.nats.commands import header_tail, write_commands

pytestmark = pytest.mark.integration

TRADES = "market.binance-usdm.sushi-usdt.trade"


@pytest.fixture
async def nc() -> AsyncIterator[Client]:
    async with EmbeddedNats() as server:
        client = await nats.connect(server.url)
        js = client.jetstream()
        memory = StorageType.MEMORY
        await js.add_stream(StreamConfig(name="MARKET", subjects=["market.>"], storage=memory))
        await js.add_stream(
            StreamConfig(
                name="FULL",
                subjects=["full.>"],
                storage=memory,
                max_msgs=1,
                discard=DiscardPolicy.NEW,
            )
        )
        yield client
        await client.close()


async def ack_of(nc: Client, subject: str, msg_id: str) -> Msg:
    """The server's answer to one message published with its own reply subject."""
    inbox = nc.new_inbox()
    sub = await nc.subscribe(inbox)
    await nc.publish(subject, b'{"x":1}', reply=inbox, headers={"Nats-Msg-Id": msg_id})
    msg = await sub.next_msg(timeout=5.0)
    await sub.unsubscribe()
    return msg


def pending(subject: str, msg_id: str, order: int) -> Pending:
    return Pending(
        OutboundMessage(subject, b'{"x":1}', msg_id, "binance-usdm", "trade"), 0, 0.0, order
    )


async def batch_ack(nc: Client, acks: BatchAcks, items: list[Pending], token: str) -> AckResult:
    """Publish ``items`` as one batch (only the last asks for an ack) and judge its ack."""
    inbox = nc.new_inbox()
    sub = await nc.subscribe(inbox)
    for item in items:
        acks.add(item)
    await write_commands(nc, acks.close(token, inbox, 0.0))
    msg = await sub.next_msg(timeout=5.0)
    await sub.unsubscribe()
    batch = acks.pop(token)
    assert batch is not None and batch.items == items
    return acks.judge(batch, msg)


async def test_each_kind_of_ack_gets_its_verdict(nc: Client) -> None:
    assert message_ack(await ack_of(nc, TRADES, "t:1")) == STORED
    assert message_ack(await ack_of(nc, TRADES, "t:1")) == STORED  # duplicate: stored once
    assert message_ack(await ack_of(nc, "nowhere.x", "n:1")) == AckResult(AckVerdict.UNAVAILABLE)
    assert message_ack(await ack_of(nc, "full.x", "f:1")) == STORED
    refused = message_ack(await ack_of(nc, "full.x", "f:2"))
    assert refused == AckResult(
        AckVerdict.FAILED,
        "{'code': 503, 'err_code': 10077, 'description': 'maximum messages exceeded'}",
    )


async def test_a_batch_is_confirmed_only_when_the_stream_sequence_moved_by_its_size(
    nc: Client,
) -> None:
    acks = BatchAcks(256, header_tail("application/json"))
    acks.stream_last_seq = 0
    first = [pending(TRADES, f"b:{i}", i) for i in range(3)]
    assert await batch_ack(nc, acks, first, "1") == STORED
    assert acks.stream_last_seq == 3

    replayed = [pending(TRADES, "b:3", 3), pending(TRADES, "b:2", 4)]
    assert await batch_ack(nc, acks, replayed, "2") == AckResult(
        AckVerdict.FAILED, "duplicate in batch"
    )
    assert acks.stream_last_seq is None

    unknown_start = [pending(TRADES, f"b:{i}", i) for i in (5, 6)]
    assert await batch_ack(nc, acks, unknown_start, "3") == AckResult(
        AckVerdict.FAILED, "stream sequence moved 6, batch of 2"
    )
    assert acks.stream_last_seq == 6

    assert message_ack(await ack_of(nc, TRADES, "other-publisher:1")) == STORED
    after_other = [pending(TRADES, f"b:{i}", i) for i in (7, 8)]
    assert await batch_ack(nc, acks, after_other, "4") == AckResult(
        AckVerdict.FAILED, "stream sequence moved 3, batch of 2"
    )
    assert await batch_ack(nc, acks, [pending(TRADES, "b:9", 9)], "5") == STORED
    assert acks.stream_last_seq == 10

    lost = [pending("nowhere.x", "n:2", 10)]
    assert await batch_ack(nc, acks, lost, "6") == AckResult(AckVerdict.UNAVAILABLE)
    assert acks.stream_last_seq == 10


def test_everything_unconfirmed_is_taken_back_and_the_sequence_forgotten() -> None:
    acks = BatchAcks(3, header_tail("application/json"))
    acks.stream_last_seq = 41
    items = [pending(TRADES, f"h:{i}", i) for i in range(5)]
    assert [acks.add(item) for item in items[:3]] == [False, False, True]
    acks.close("1", "_INBOX.x.1", 7.5)
    acks.add(items[3])
    acks.add(items[4])
    assert (acks.unacknowledged, acks.awaiting) == (5, 3)
    assert (acks.overdue(7.4), acks.overdue(7.5)) == (False, True)
    assert sorted(acks.take_all(), key=lambda p: p.order) == items
    assert (acks.unacknowledged, last_seq(acks), acks.has_tail) == (0, None, False)


def last_seq(acks: BatchAcks) -> int | None:
    """The stream sequence as ``acks`` knows it (read through a call: it changes under methods)."""
    return acks.stream_last_seq
