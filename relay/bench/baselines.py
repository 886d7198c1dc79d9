"""The baselines: the relay's own payloads published straight to JetStream, without the relay.

The maximum-load run's messages are read back from the stream (subject,
``Nats-Msg-Id``, payload, in stored order) and published again to a
deleted-and-recreated stream of the same configuration, with the same headers:
with nats-py ``js.publish_async`` (every ack awaited) and with core
``nc.publish`` (then ``flush``, and the stream polled until it holds them).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence
from typing import Any

from nats.js.api import AckPolicy, ConsumerConfig
from nats.js.errors import NotFoundError

from relay.bench.report import Baseline
from relay.config.model import StreamConfig
from relay.infrastructure.nats.streams import js_stream_config

STREAM = "MARKET"
"""The stream every run and baseline uses (``market.>``)."""
READBACK_BATCH = 5_000
MAX_IN_FLIGHT = 1024
"""``[nats] max_in_flight`` of the relay, and ``publish_async_max_pending`` of the baseline."""


Message = tuple[str, str, bytes]
"""``(subject, Nats-Msg-Id, payload)`` of one stored message."""


async def read_back(js: Any, count: int) -> list[Message]:
    """The first ``count`` messages of the stream, in order (pull consumer, no acks)."""
    sub = await js.pull_subscribe(
        "market.>",
        stream=STREAM,
        config=ConsumerConfig(ack_policy=AckPolicy.NONE, inactive_threshold=60.0),
    )
    messages: list[Message] = []
    try:
        while len(messages) < count:
            batch = await sub.fetch(min(READBACK_BATCH, count - len(messages)), timeout=10)
            messages.extend(
                (m.subject, (m.headers or {}).get("Nats-Msg-Id", ""), m.data) for m in batch
            )
    finally:
        await sub.unsubscribe()
    return messages


async def baseline_publish_async(
    nc: Any, stream: StreamConfig, messages: Sequence[Message], content_type: str
) -> Baseline:
    js = nc.jetstream(publish_async_max_pending=MAX_IN_FLIGHT)
    await delete_stream(js)
    await js.add_stream(js_stream_config(stream))
    errors = 0

    def check(future: asyncio.Future[Any]) -> None:
        nonlocal errors
        if future.cancelled() or future.exception() is not None:
            errors += 1

    started = time.monotonic()
    for subject, msg_id, payload in messages:
        future = await js.publish_async(
            subject, payload, headers={"Nats-Msg-Id": msg_id, "Content-Type": content_type}
        )
        future.add_done_callback(check)
    await js.publish_async_completed()
    elapsed = time.monotonic() - started
    stored = await stream_count(js)
    return Baseline("publish_async", len(messages), stored, errors, stored / elapsed)


async def baseline_core_publish(
    nc: Any, stream: StreamConfig, messages: Sequence[Message], content_type: str
) -> Baseline:
    js = nc.jetstream()
    await delete_stream(js)
    await js.add_stream(js_stream_config(stream))
    started = time.monotonic()
    for subject, msg_id, payload in messages:
        await nc.publish(
            subject, payload, headers={"Nats-Msg-Id": msg_id, "Content-Type": content_type}
        )
    await nc.flush()
    last, last_change = -1, time.monotonic()
    while True:
        stored = await stream_count(js)
        now = time.monotonic()
        if stored >= len(messages):
            break
        if stored != last:
            last, last_change = stored, now
        elif now - last_change > 5.0:
            break
        await asyncio.sleep(0.01)
    elapsed = now - started if stored >= len(messages) else last_change - started
    return Baseline("core_publish", len(messages), stored, 0, stored / elapsed)


async def stream_count(js: Any) -> int:
    """Messages the stream holds (0 when it does not exist)."""
    try:
        info = await js.stream_info(STREAM)
    except NotFoundError:
        return 0
    count: int = info.state.messages
    return count


async def delete_stream(js: Any) -> None:
    """Delete the stream, if it exists."""
    with contextlib.suppress(NotFoundError):
        await js.delete_stream(STREAM)
