"""JetStream acks: what one ack says, and batches confirmed by stream sequence arithmetic.

A publish ack (JetStream API, docs.nats.io/reference/reference-protocols/nats_api_reference)
is ``{"stream": "MARKET", "seq": 42}`` (``"duplicate": true`` when the message id
was already stored), ``{"error": {"code": 503, "err_code": ..., "description": ...}}``,
or an empty message with a ``Status: 503`` header ("no responders": no stream
answered).

In ``batch`` ack mode (:class:`BatchAcks`) only the last message of a batch asks
for an ack; the others are published without a reply. Messages on one
connection reach the stream in order, so the last one's sequence confirms the
whole batch when it moved by exactly the batch's size (:meth:`BatchAcks.judge`).
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
from dataclasses import dataclass
from typing import Any

import orjson
from nats.aio.msg import Msg

from relay.application.ports import OutboundMessage
from relay.infrastructure.nats.commands import hpub_command

STORE_FAILED_ERR_CODE = 10077
"""JetStream's ``err_code`` of a 503 that is a rejection: the stream refused to store
the message (``maximum bytes exceeded`` with ``discard = "new"``...)."""


def unavailable(msg: Msg, reply: dict[str, Any]) -> bool:
    """Whether an ack says that no stream answered: "no responders", or a JetStream 503
    other than a refusal to store (:data:`STORE_FAILED_ERR_CODE`)."""
    if not msg.data:
        return msg.header is not None and msg.header.get("Status") == "503"
    error = reply.get("error")
    return (
        isinstance(error, dict)
        and error.get("code") == 503
        and error.get("err_code") != STORE_FAILED_ERR_CODE
    )


@dataclass(slots=True)
class Pending:
    """A message the publisher has taken and not yet seen acked or dropped.

    Attributes:
        message: what to publish.
        attempt: re-sends so far (0: first send).
        deadline: event loop time (s) by which its ack is due, while awaiting one.
        order: submission number; held messages go back out in this order.
    """

    message: OutboundMessage
    attempt: int
    deadline: float
    order: int = 0


@dataclass(slots=True)
class Batch:
    """Messages published without a reply, confirmed together by the last one's ack."""

    items: list[Pending]
    deadline: float


class InFlightSlots:
    """At most ``max_in_flight`` messages awaiting acks: a counter and an event, cheaper
    than ``asyncio.Semaphore`` on the publisher's hot path.

    Args:
        max_in_flight: ``[nats] max_in_flight`` (>= 1).
    """

    def __init__(self, max_in_flight: int) -> None:
        self._free = max_in_flight
        self._freed = asyncio.Event()

    async def acquire(self) -> None:
        """Take a slot, waiting while all are taken."""
        while self._free <= 0:
            self._freed.clear()
            await self._freed.wait()
        self._free -= 1

    def release(self, count: int = 1) -> None:
        """Give back ``count`` slots."""
        self._free += count
        self._freed.set()


class AckVerdict(enum.Enum):
    """What an ack means for the message(s) it answers."""

    STORED = "stored"
    """Stored (a batch: every message, by the sequence arithmetic)."""
    UNAVAILABLE = "unavailable"
    """No stream answered: an outage signal, never a rejection."""
    FAILED = "failed"
    """Rejected (one message: retry, then drop) or not confirmed (a batch: one ack each)."""


@dataclass(frozen=True, slots=True)
class AckResult:
    """An ack's verdict and, for ``FAILED``, why (one line for the log)."""

    verdict: AckVerdict
    reason: str = ""


STORED = AckResult(AckVerdict.STORED)


def message_ack(msg: Msg) -> AckResult:
    """The verdict of the ack of one message published with its own reply subject."""
    reply: dict[str, Any] = {}
    if msg.data:
        try:
            reply = orjson.loads(msg.data)
        except orjson.JSONDecodeError:
            reply = {"error": {"description": msg.data[:200].decode(errors="replace")}}
    if unavailable(msg, reply):
        return AckResult(AckVerdict.UNAVAILABLE)
    if not msg.data:
        status = msg.header.get("Status") if msg.header else None
        return AckResult(AckVerdict.FAILED, f"no ack body (status {status})")
    if "error" in reply:
        return AckResult(AckVerdict.FAILED, str(reply["error"]))
    return STORED


class BatchAcks:
    """The open batch, the batches awaiting their ack, and the stream sequence last seen.

    A message joins the open batch once the next one arrives (the newest is the
    tail, the one that will carry the reply subject). The batch is closed
    (:meth:`close`) when full or when the publisher's queue runs dry.

    Args:
        batch_max: most messages in one batch (>= 1).
        header_tail: the header block's end (:func:`~.commands.header_tail`).
    """

    def __init__(self, batch_max: int, header_tail: bytes) -> None:
        self._batch_max = batch_max
        self._header_tail = header_tail
        self._subjects: dict[str, bytes] = {}
        self._commands: list[bytes] = []
        self._open: list[Pending] = []
        self._tail: Pending | None = None
        self._batches: dict[str, Batch] = {}
        self.stream_last_seq: int | None = None
        """The stream's last sequence as this publisher knows it; None: unknown."""

    def add(self, pending: Pending) -> bool:
        """Take ``pending`` as the new tail (the previous one joins the batch); True when full."""
        tail, self._tail = self._tail, pending
        if tail is not None:
            self._open.append(tail)
            self._commands.append(self._command(tail.message, b""))
        return len(self._open) + 1 >= self._batch_max

    def _command(self, message: OutboundMessage, reply: bytes) -> bytes:
        subject = self._subjects.get(message.subject)
        if subject is None:
            subject = self._subjects[message.subject] = message.subject.encode()
        return hpub_command(subject, reply, message.msg_id, self._header_tail, message.payload)

    @property
    def has_tail(self) -> bool:
        """Whether a batch is open (at least its tail)."""
        return self._tail is not None

    def close(self, token: str, reply: str, deadline: float) -> bytes:
        """Close the open batch: register it under ``token`` and return its ``HPUB`` commands.

        Only the tail's command carries ``reply``. Call only when :attr:`has_tail`.
        """
        tail = self._tail
        assert tail is not None
        self._tail = None
        items, self._open = [*self._open, tail], []
        self._batches[token] = Batch(items, deadline)
        commands, self._commands = self._commands, []
        commands.append(self._command(tail.message, reply.encode()))
        return b"".join(commands)

    def pop(self, token: str) -> Batch | None:
        """The batch awaiting the ack with ``token``, no longer awaiting it; None if unknown."""
        return self._batches.pop(token, None)

    def restore(self, token: str, batch: Batch) -> None:
        """Put a popped batch back (it is held, with the rest, by the outage that follows)."""
        self._batches[token] = batch

    def judge(self, batch: Batch, msg: Msg) -> AckResult:
        """The batch's last message was acked: confirm all by stream sequence arithmetic.

        Messages on one connection reach the stream in order, so when the ack of
        the last message says sequence S, the stream has processed the whole
        batch. If S moved by exactly the batch's size since the previous batch,
        every message was stored once (``STORED``); otherwise (a rejection, a
        duplicate, another publisher on the stream, an unknown starting point) the
        verdict is ``FAILED`` and each message is to be sent again with its own
        ack: ``Nats-Msg-Id`` makes that safe.
        """
        reply: dict[str, object] = {}
        if msg.data:
            with contextlib.suppress(orjson.JSONDecodeError):
                reply = orjson.loads(msg.data)
        seq = reply.get("seq")
        if unavailable(msg, reply):
            return AckResult(AckVerdict.UNAVAILABLE)
        if "error" in reply or not isinstance(seq, int):
            self.stream_last_seq = None
            return AckResult(AckVerdict.FAILED, str(reply.get("error") or "no ack"))
        previous = self.stream_last_seq
        if reply.get("duplicate"):
            self.stream_last_seq = None
            return AckResult(AckVerdict.FAILED, "duplicate in batch")
        self.stream_last_seq = seq
        if previous is None or seq - previous != len(batch.items):
            return AckResult(
                AckVerdict.FAILED,
                f"stream sequence moved {seq - (previous or 0)}, batch of {len(batch.items)}",
            )
        return STORED

    def take_all(self) -> list[Pending]:
        """Every message not yet confirmed (awaiting acks, open, tail), unordered; forget them.

        The stream sequence becomes unknown: the next batch is confirmed one by one.
        """
        held = [pending for batch in self._batches.values() for pending in batch.items]
        held.extend(self._open)
        if self._tail is not None:
            held.append(self._tail)
        self._commands = []
        self._batches.clear()
        self._open = []
        self._tail = None
        self.stream_last_seq = None
        return held

    @property
    def unacknowledged(self) -> int:
        """Messages in batches awaiting acks, in the open batch, and the tail."""
        return self.awaiting + len(self._open) + (self._tail is not None)

    @property
    def awaiting(self) -> int:
        """Messages in batches awaiting their ack."""
        return sum(len(batch.items) for batch in self._batches.values())

    def overdue(self, now: float) -> bool:
        """Whether a batch's ack is overdue at event loop time ``now``."""
        return any(batch.deadline <= now for batch in self._batches.values())
