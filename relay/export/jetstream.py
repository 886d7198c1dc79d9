"""Reading a stream's messages of one subject filter and time window from JetStream.

An ephemeral pull consumer (no acks, deleted at the end, inactive for 30 s it
goes away by itself) starts at ``since`` (the time JetStream stored a message)
or at the stream's first message, filtered on the subject. Reading stops at the
first message stored after ``until``, or once the consumer has nothing pending:
what arrives later is not part of the export.
"""

from __future__ import annotations

import contextlib
import datetime
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import nats
from nats.aio.msg import Msg
from nats.js import api

from relay.domain.errors import RelayError
from relay.export.tables import StoredMessage
from relay.serialization.codec import JSON_CONTENT_TYPE, PROTOBUF_CONTENT_TYPE, WireDecodeError
from relay.serialization.formats import codec_for

FETCH_BATCH = 500
"""Messages asked for per pull request."""

FETCH_TIMEOUT_S = 5.0
"""How long one pull request waits for messages the consumer said were pending."""

CONSUMER_INACTIVE_S = 30.0
"""The ephemeral consumer is removed by the server this long after its last use."""

_FORMATS = {JSON_CONTENT_TYPE: "json", PROTOBUF_CONTENT_TYPE: "protobuf"}


class ExportError(RelayError):
    """The export cannot be done: no stream for the subject, NATS unreachable, bad message."""


@dataclass(frozen=True, slots=True)
class Window:
    """What to export.

    Attributes:
        subject: a subject filter (``market.binance-usdm.>``).
        since: first stored time included (UTC), or None: from the first message.
        until: last stored time included (UTC), or None: up to the last message.
    """

    subject: str
    since: datetime.datetime | None
    until: datetime.datetime | None


ProgressCallback = Callable[[int, int], None]
"""``(messages read, messages pending at start)``."""


async def read_messages(
    nats_url: str, window: Window, progress: ProgressCallback
) -> AsyncIterator[StoredMessage]:
    """The stream's messages in the window, in stream order, decoded by their ``Content-Type``.

    Args:
        nats_url: the server (``nats://127.0.0.1:4222``).
        window: subject filter and time window.
        progress: called after every pull batch (and once at the start).

    Raises:
        ExportError: NATS unreachable, no stream holds the subject, a message
            has an unknown ``Content-Type`` or does not decode.
    """
    try:
        nc = await nats.connect(nats_url, connect_timeout=5, max_reconnect_attempts=0)
    except Exception as exc:
        raise ExportError(f"cannot connect to NATS at {nats_url}: {exc}") from exc
    try:
        js = nc.jetstream()
        try:
            stream = await js.find_stream_name_by_subject(window.subject)
        except nats.js.errors.NotFoundError:
            raise ExportError(f"no JetStream stream holds subject {window.subject!r}") from None
        config = api.ConsumerConfig(
            deliver_policy=(
                api.DeliverPolicy.ALL if window.since is None else api.DeliverPolicy.BY_START_TIME
            ),
            opt_start_time=window.since,
            ack_policy=api.AckPolicy.NONE,
            inactive_threshold=CONSUMER_INACTIVE_S,
        )
        subscription = await js.pull_subscribe(window.subject, stream=stream, config=config)
        try:
            total = (await subscription.consumer_info()).num_pending or 0
            read = 0
            progress(read, total)
            pending = total
            while pending > 0:
                batch = await subscription.fetch(min(FETCH_BATCH, pending), FETCH_TIMEOUT_S)
                for msg in batch:
                    meta = msg.metadata
                    if window.until is not None and meta.timestamp > window.until:
                        pending = 0
                        break
                    read += 1
                    pending = meta.num_pending
                    yield _decode(msg.subject, msg.headers or {}, meta, msg.data)
                progress(read, total)
        finally:
            with contextlib.suppress(Exception):
                await subscription.unsubscribe()
    finally:
        await nc.close()


def _decode(
    subject: str, headers: dict[str, str], meta: Msg.Metadata, data: bytes
) -> StoredMessage:
    content_type = headers.get("Content-Type", JSON_CONTENT_TYPE)
    format_name = _FORMATS.get(content_type)
    if format_name is None:
        raise ExportError(
            f"{subject} #{meta.sequence.stream}: unknown Content-Type {content_type!r}"
        )
    try:
        envelope = codec_for(format_name).decode(data)
    except WireDecodeError as exc:
        raise ExportError(f"{subject} #{meta.sequence.stream}: {exc}") from None
    return StoredMessage(
        subject=subject,
        msg_id=headers.get("Nats-Msg-Id", ""),
        stream_sequence=meta.sequence.stream,
        stored_at=meta.timestamp,
        envelope=envelope,
    )
