"""The outage buffer: its bounds (events and payload bytes), each full-policy, publish order."""

from __future__ import annotations

import asyncio

import pytest

from relay.application.ports import OutboundMessage
from relay.config.model import OutagePolicy, PipelineConfig
from relay.infrastructure.nats.acks import Pending
from relay.infrastructure.nats.outage_buffer import OutageBuffer


def pending(order: int, subject: str = "market.okx.btc-usdt.trade", size: int = 10) -> Pending:
    message = OutboundMessage(subject, b"x" * size, f"okx:BTC-USDT:trade:{order}", "okx", "trade")
    return Pending(message, 0, 0.0, order)


def buffer(
    policy: OutagePolicy,
    *,
    events: int = 2,
    size_bytes: int = 1_000,
    dropped: list[int] | None = None,
) -> OutageBuffer:
    config = PipelineConfig(
        outage_buffer_max_events=events,
        outage_buffer_max_bytes=size_bytes,
        outage_full_policy=policy,
    )
    sink = dropped if dropped is not None else []
    return OutageBuffer(config, lambda p: sink.append(p.order))


def drain(held: OutageBuffer) -> list[int]:
    return [held.pop().order for _ in range(len(held))]


async def test_drop_newest_refuses_the_new_message_when_full() -> None:
    dropped: list[int] = []
    held = buffer(OutagePolicy.DROP_NEWEST, dropped=dropped)
    assert [await held.add(pending(i)) for i in (1, 2, 3)] == [True, True, False]
    assert (dropped, drain(held)) == ([3], [1, 2])


async def test_drop_oldest_makes_room_by_dropping_the_oldest() -> None:
    dropped: list[int] = []
    held = buffer(OutagePolicy.DROP_OLDEST, dropped=dropped)
    assert [await held.add(pending(i)) for i in (1, 2, 3, 4)] == [True, True, True, True]
    assert (dropped, drain(held)) == ([1, 2], [3, 4])


@pytest.mark.parametrize(("events", "size_bytes"), [(2, 1_000), (100, 25)])
async def test_block_waits_for_room_under_either_bound(events: int, size_bytes: int) -> None:
    dropped: list[int] = []
    held = buffer(OutagePolicy.BLOCK, events=events, size_bytes=size_bytes, dropped=dropped)
    await held.add(pending(1))
    await held.add(pending(2))
    third = asyncio.create_task(held.add(pending(3)))
    for _ in range(5):
        await asyncio.sleep(0)
    assert not third.done()
    assert held.pop().order == 1
    assert await asyncio.wait_for(third, 5.0) is True
    assert (dropped, drain(held)) == ([], [2, 3])


async def test_messages_put_back_go_first_whatever_the_bounds_and_removal_keeps_order() -> None:
    held = buffer(OutagePolicy.DROP_NEWEST, events=2)
    await held.add(pending(3))
    await held.add(pending(4, subject="market.okx.eth-usdt.trade"))
    for order in (2, 1):
        held.put_back(pending(order, subject="market.okx.eth-usdt.trade"))
    assert len(held) == 4
    removed = held.remove({"market.okx.eth-usdt.trade"})
    assert [p.order for p in removed] == [1, 2, 4]
    assert held.remove(set()) == []
    assert drain(held) == [3]
