"""``RelayClient``: the relay's streams, latest values, books and stream states over NATS.

Needs only a NATS server the relay publishes to (docs/client.md); imports the
domain, the serialization and nats-py, nothing of the service.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import json
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from dataclasses import dataclass
from decimal import Decimal
from types import TracebackType
from typing import Any

import nats
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js.api import ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError

from relay.client.book import BookAssembler
from relay.domain.errors import RelayError
from relay.domain.model import L2Update, MarketEvent, PriceLevel
from relay.serialization.codec import JSON_CONTENT_TYPE
from relay.serialization.events import decode_envelope, event_from_wire


def _raise_if_cancelled() -> None:
    """Raise ``CancelledError`` when the current task was asked to cancel and goes on.

    nats-py awaits ``asyncio.wait_for``, which on Python 3.11 can return the result
    instead of raising the cancellation that arrived with it (a request made while
    :meth:`LiveBook.close` cancels the re-bootstrap): ``Task.cancelling()`` still
    counts it. The service has the same guard (``relay.infrastructure.cancellation``),
    which this package may not import.
    """
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


class NoStreamError(RelayError):
    """No JetStream stream captures a subject the client reads (the relay has not set up
    its streams yet, or another ``subject_prefix``).

    Attributes:
        subject: the subject.
    """

    def __init__(self, subject: str) -> None:
        super().__init__(
            f"no JetStream stream captures {subject}: is the relay running, publishing"
            " with this subject_prefix?"
        )
        self.subject = subject


@dataclass(frozen=True, slots=True)
class ReceivedEvent:
    """One event from :meth:`RelayClient.subscribe`.

    Attributes:
        event: the domain event (``Decimal`` fields).
        sequence: the envelope's per-stream sequence.
        subject: ``market.<venue>.<symbol>.<data_type>``.
        missed: sequence numbers skipped just before this event on its subject
            (0: none; a hole is reported, never hidden).
    """

    event: MarketEvent
    sequence: int
    subject: str
    missed: int = 0


@dataclass(frozen=True, slots=True)
class StreamStatus:
    """One record of the ``relay-status`` bucket (docs/wire-format.md).

    Attributes:
        venue, instrument, canonical_symbol, data_type: whose.
        state: ``streaming``, ``resyncing``, ``stale`` or ``disconnected``.
        last_event_at_ms: epoch ms the relay read its latest event, None before one.
        resyncs: book resyncs since the relay started; last_reason: the latest one's reason.
    """

    venue: str
    instrument: str
    canonical_symbol: str
    data_type: str
    state: str
    last_event_at_ms: int | None
    resyncs: int
    last_reason: str | None


STREAM_REWIND_S = 5.0
"""A live book reads the stream from this long before its image's ``received_at``."""


def _decode(msg: Msg) -> tuple[MarketEvent, int]:
    headers = msg.headers or {}
    wire = decode_envelope(msg.data, headers.get("Content-Type", JSON_CONTENT_TYPE))
    return event_from_wire(wire, headers.get("Nats-Msg-Id", ""))


class LiveBook:
    """A book kept live from NATS: bootstrapped from ``relay-books``, then the book stream.

    Made by :meth:`RelayClient.order_book`; stops with the client or :meth:`close`.
    """

    def __init__(self, client: RelayClient, venue: str, symbol: str) -> None:
        self.venue = venue
        self.symbol = symbol
        self.assembler = BookAssembler()
        self._client = client
        self._changed = asyncio.Event()
        self._image_wanted = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._sub: Any = None
        self.rebootstraps = 0
        """Bootstraps after the first (a hole, or a book that lost its sync)."""
        self.bootstrap_errors = 0
        """Re-bootstraps that failed (NATS not answering, the stream gone): each is tried
        again 0.5 s later; ``last_error`` says why the latest failed."""
        self.last_error: str | None = None

    async def start(self) -> None:
        """Read the image, then the book stream from its time on (:meth:`_bootstrap`)."""
        await self._bootstrap()
        self._task = asyncio.get_running_loop().create_task(self._rebootstrap_loop())

    async def _on_msg(self, msg: Msg) -> None:
        event, sequence = _decode(msg)
        payload = event.payload
        if isinstance(payload, L2Update) and self.assembler.on_message(payload, sequence):
            self._changed.set()
        if self.assembler.needs_image:
            self._image_wanted.set()

    async def _bootstrap(self) -> bool:
        """Apply the book's image at sequence S and read the stream from S's ``received_at``.

        The stream is read by an ordered consumer starting ``STREAM_REWIND_S``
        before the image message's ``received_at`` (clock skew between relay and
        server), so the deltas after S that were published before this call are
        read too; older ones are ignored. Without an image the consumer starts
        with new messages and the book waits for a snapshot in the stream.
        """
        if self._sub is not None:
            with contextlib.suppress(Exception):
                await self._sub.unsubscribe()
            self._sub = None
        subject = f"{self._client.subject_prefix}.{self.venue}.{self.symbol}.l2_orderbook"
        found = await self._client.book_image(self.venue, self.symbol)
        if found is None:
            config = ConsumerConfig(deliver_policy=DeliverPolicy.NEW)
        else:
            parts, sequence, received_at_ms = found
            self.assembler = BookAssembler()
            self.assembler.on_image(parts, sequence)
            self._changed.set()
            start = datetime.datetime.fromtimestamp(
                received_at_ms / 1000 - STREAM_REWIND_S, tz=datetime.UTC
            )
            config = ConsumerConfig(
                deliver_policy=DeliverPolicy.BY_START_TIME, opt_start_time=start
            )
        js = self._client.nc.jetstream()
        try:
            self._sub = await js.subscribe(
                subject, ordered_consumer=True, cb=self._on_msg, config=config
            )
        except NotFoundError:
            raise NoStreamError(subject) from None
        return found is not None

    async def _rebootstrap_loop(self) -> None:
        """Bootstrap again whenever the book lost its sync; retry every 0.5 s until it holds
        (a bootstrap that fails, NATS not answering or the stream gone, is counted in
        ``bootstrap_errors`` and retried: the book never stops trying)."""
        while True:
            _raise_if_cancelled()
            await self._image_wanted.wait()
            self._image_wanted.clear()
            while self.assembler.needs_image:
                self.rebootstraps += 1
                try:
                    await self._bootstrap()
                    _raise_if_cancelled()
                except (nats.errors.Error, TimeoutError, NoStreamError) as exc:
                    _raise_if_cancelled()
                    self.bootstrap_errors += 1
                    self.last_error = repr(exc)
                    # An image applied without its stream subscription is not kept live:
                    # unsynced until a bootstrap succeeds whole.
                    self.assembler = BookAssembler()
                if not self.assembler.needs_image:
                    break
                await asyncio.sleep(0.5)

    @property
    def synced(self) -> bool:
        """True while the book is complete and every message since its image was applied."""
        return self.assembler.synced

    @property
    def sequence(self) -> int:
        """Envelope sequence of the latest book message applied."""
        return self.assembler.sequence

    @property
    def best_bid(self) -> PriceLevel | None:
        """(price, quantity) of the highest bid, None for an empty side."""
        top = self.assembler.top_bids(1)
        return top[0] if top else None

    @property
    def best_ask(self) -> PriceLevel | None:
        """(price, quantity) of the lowest ask, None for an empty side."""
        top = self.assembler.top_asks(1)
        return top[0] if top else None

    def bids(self, n: int = 10) -> list[PriceLevel]:
        """The best ``n`` bids, highest first."""
        return self.assembler.top_bids(n)

    def asks(self, n: int = 10) -> list[PriceLevel]:
        """The best ``n`` asks, lowest first."""
        return self.assembler.top_asks(n)

    def levels(self) -> tuple[dict[Decimal, Decimal], dict[Decimal, Decimal]]:
        """Copies of both sides as price -> quantity (bids, asks)."""
        return dict(self.assembler.bids), dict(self.assembler.asks)

    async def updates(self) -> AsyncIterator[LiveBook]:
        """Yields the book after changes (several changes between two steps come as one)."""
        while True:
            await self._changed.wait()
            self._changed.clear()
            yield self

    async def close(self) -> None:
        """Unsubscribe and stop re-bootstrapping."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._sub is not None:
            with contextlib.suppress(Exception):
                await self._sub.unsubscribe()


class RelayClient:
    """Reads what the relay publishes (an async context manager).

    Args:
        nats: a server URL (``"nats://127.0.0.1:4222"``; connected on enter,
            closed on exit) or an open nats-py connection (left open).
        subject_prefix: the relay's ``[nats] subject_prefix``.
        latest_bucket, books_bucket, status_bucket: the relay's ``[consumer_state]`` buckets.
    """

    def __init__(
        self,
        nats: str | Client,
        subject_prefix: str = "market",
        latest_bucket: str = "relay-latest",
        books_bucket: str = "relay-books",
        status_bucket: str = "relay-status",
    ) -> None:
        self._target = nats
        self.subject_prefix = subject_prefix
        self.latest_bucket = latest_bucket
        self.books_bucket = books_bucket
        self.status_bucket = status_bucket
        self._nc: Client | None = nats if isinstance(nats, Client) else None
        self._books: list[LiveBook] = []

    @property
    def nc(self) -> Client:
        """The NATS connection.

        Raises:
            RuntimeError: used outside ``async with``.
        """
        if self._nc is None:
            raise RuntimeError("RelayClient is used outside 'async with'")
        return self._nc

    async def __aenter__(self) -> RelayClient:
        if isinstance(self._target, str):
            self._nc = await nats.connect(self._target)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for book in self._books:
            await book.close()
        if isinstance(self._target, str) and self._nc is not None:
            await self._nc.close()
            self._nc = None

    def _subject(self, venue: str, symbol: str, data_type: str) -> str:
        return f"{self.subject_prefix}.{venue}.{symbol}.{data_type}"

    async def subscribe(
        self,
        venue: str = "*",
        symbol: str = "*",
        data_type: str = "*",
        on_hole: Callable[[str, int], None] | None = None,
    ) -> AsyncGenerator[ReceivedEvent, None]:
        """Live events as they are published (core NATS: from now on, none stored before).

        Close it (``contextlib.aclosing``) when leaving the loop early.

        Args:
            venue, symbol, data_type: subject tokens or ``*``.
            on_hole: also told ``(subject, missed)`` of each sequence hole.

        Yields:
            :class:`ReceivedEvent`, ``missed`` > 0 after a hole on its subject.
        """
        queue: asyncio.Queue[Msg] = asyncio.Queue(10_000)
        subscription = await self.nc.subscribe(
            self._subject(venue, symbol, data_type), cb=queue.put, pending_msgs_limit=10_000
        )
        last: dict[str, int] = {}
        try:
            while True:
                msg = await queue.get()
                event, sequence = _decode(msg)
                previous = last.get(msg.subject)
                last[msg.subject] = sequence
                missed = 0 if previous is None else max(0, sequence - previous - 1)
                if missed and on_hole is not None:
                    on_hole(msg.subject, missed)
                yield ReceivedEvent(event, sequence, msg.subject, missed)
        finally:
            with contextlib.suppress(nats.errors.ConnectionClosedError):
                await subscription.unsubscribe()

    async def _last_kv(self, bucket: str, key: str) -> tuple[bytes, dict[str, str]] | None:
        js = self.nc.jetstream()
        try:
            raw = await js.get_last_msg(f"KV_{bucket}", f"$KV.{bucket}.{key}")
        except NotFoundError:
            return None
        if not raw.data:
            return None
        return raw.data, dict(raw.headers or {})

    async def latest(self, venue: str, symbol: str, data_type: str) -> MarketEvent | None:
        """The latest ``ticker``, ``funding_rate``, ``open_interest`` or closed ``candle``.

        Returns:
            the event from ``relay-latest`` (written at most ``latest_interval_s``
            after it was published), None when the relay wrote none.
        """
        found = await self._last_kv(self.latest_bucket, f"{venue}.{symbol}.{data_type}")
        if found is None:
            return None
        data, headers = found
        wire = decode_envelope(data, headers.get("Content-Type", JSON_CONTENT_TYPE))
        return event_from_wire(wire)[0]

    async def book_image(self, venue: str, symbol: str) -> tuple[list[L2Update], int, int] | None:
        """The book's latest image in ``relay-books``: its parts, their sequence and received_at.

        None when there is none, or its parts disagree (a refresh under way).
        """
        parts: list[L2Update] = []
        sequence = None
        number = 1
        while True:
            found = await self._last_kv(self.books_bucket, f"{venue}.{symbol}.{number}")
            if found is None:
                return None
            data, headers = found
            wire = decode_envelope(data, headers.get("Content-Type", JSON_CONTENT_TYPE))
            event, part_sequence = event_from_wire(wire)
            update = event.payload
            if not isinstance(update, L2Update) or sequence not in (None, part_sequence):
                return None
            sequence = part_sequence
            parts.append(update)
            if update.snapshot_part >= update.snapshot_parts:
                return parts, part_sequence, event.received_at_ms
            number += 1

    async def order_book(self, venue: str, symbol: str) -> LiveBook:
        """A live book bootstrapped from NATS alone (no venue REST call); see :class:`LiveBook`.

        Raises:
            NoStreamError: no stream captures the book's subject.
        """
        book = LiveBook(self, venue, symbol)
        await book.start()
        self._books.append(book)
        return book

    async def history(
        self, venue: str, symbol: str, data_type: str, count: int
    ) -> list[MarketEvent]:
        """The last ``count`` events of one subject stored in the stream, oldest first.

        Reads the subject's messages from the stream that captures it with an
        ordered consumer (cost: every stored message of that subject).
        """
        subject = self._subject(venue, symbol, data_type)
        js = self.nc.jetstream()
        stream = await js.find_stream_name_by_subject(subject)
        info = await js.stream_info(stream, subjects_filter=subject)
        total = (info.state.subjects or {}).get(subject, 0)
        if total == 0 or count <= 0:
            return []
        sub = await js.subscribe(
            subject,
            stream=stream,
            ordered_consumer=True,
            config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL),
        )
        events: list[MarketEvent] = []
        try:
            for index in range(total):
                msg = await sub.next_msg(timeout=10)
                if index >= total - count:
                    events.append(_decode(msg)[0])
        finally:
            await sub.unsubscribe()
        return events

    async def status(self, venue: str = "*") -> list[StreamStatus]:
        """The stream states of ``relay-status`` (one venue, or every one with ``*``)."""
        js = self.nc.jetstream()
        records: list[StreamStatus] = []
        filter_subject = f"$KV.{self.status_bucket}.{venue}.>"
        try:
            info = await js.stream_info(f"KV_{self.status_bucket}", subjects_filter=filter_subject)
        except NotFoundError:
            return []
        for subject in sorted(info.state.subjects or {}):
            raw = await js.get_last_msg(f"KV_{self.status_bucket}", subject)
            if not raw.data:
                continue
            doc = json.loads(raw.data)
            records.append(
                StreamStatus(
                    doc["venue"],
                    doc["instrument"],
                    doc["canonical_symbol"],
                    doc["data_type"],
                    doc["state"],
                    doc["last_event_at"],
                    doc["resyncs"],
                    doc["last_reason"],
                )
            )
        return records
