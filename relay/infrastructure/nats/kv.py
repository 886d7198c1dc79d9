"""The key-value buckets consumers read: created at start, written off the publish path.

Three JetStream key-value buckets (``[consumer_state]``, docs/configuration.md;
their keys and values in docs/wire-format.md), each a stream ``KV_<bucket>``
with history 1 and ``max_bytes``:

- ``relay-latest``: ``<venue>.<symbol>.<data_type>`` -> the latest ``ticker``,
  ``funding_rate``, ``open_interest`` or closed ``candle`` envelope, the same
  bytes and ``Content-Type`` header as the stream message;
- ``relay-books``: ``<venue>.<symbol>.<part>`` -> part ``part`` of the book's
  latest full snapshot, an ``l2_orderbook`` snapshot envelope whose ``sequence``
  is the stream message the book reflects and ``received_at`` that message's
  (every part carries the same ones);
- ``relay-status``: ``<venue>.<symbol>.<data_type>`` -> a JSON status record.

:class:`BucketKeeper` applies the streams' ``manage`` rule to the buckets:
missing -> created; different on history, max_bytes or storage -> logged once
(``create``) or updated (``update``). :class:`ConsumerStateWriter` writes what
:class:`~relay.application.consumer_state.ConsumerState` collected every
``latest_interval_s``: at most one write per key per interval, the newest
value winning. A write that fails is logged (rate-limited); the buckets are
checked (and re-created if lost, e.g. a memory store after a server restart)
before the next flush, which writes every book image and status record again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Coroutine
from typing import Any

import nats.errors
import orjson
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import KeyValueConfig
from nats.js.api import StorageType as JsStorageType
from nats.js.errors import APIError, NotFoundError

from relay.application.book_publication import split_snapshot
from relay.application.consumer_state import (
    BookImage,
    ConsumerState,
    StreamState,
    book_key,
    state_key,
)
from relay.application.log_rate_limit import LogRateLimit
from relay.application.ports import EventEncoder
from relay.config.model import ConsumerStateConfig, StreamManagement
from relay.domain.model import DataType, MarketEvent
from relay.infrastructure.cancellation import raise_if_cancelled
from relay.infrastructure.nats.streams import (
    JetStreamUnavailableError,
    StreamSetupError,
    as_unavailable,
    stream_request,
)

log = logging.getLogger("relay.nats")

STATUS_REFRESH_S = 10.0
"""A status record whose only change is its last event time is rewritten at most this often."""

HEADER_ROOM_BYTES = 1024
"""Room left below ``max_payload`` for headers when a book image is cut into parts."""


def _value(storage: JsStorageType | None) -> str:
    return "file" if storage is None else str(storage.value)


def bucket_configs(config: ConsumerStateConfig) -> list[KeyValueConfig]:
    """The nats-py configurations of the three buckets (history 1, ``max_bytes``, storage,
    replicas)."""
    return [
        KeyValueConfig(
            bucket=name,
            history=1,
            max_bytes=config.max_bytes,
            storage=JsStorageType(config.storage.value),
            replicas=config.replicas,
        )
        for name in (config.latest_bucket, config.books_bucket, config.status_bucket)
    ]


RETRY_S = 0.25
"""Wait between two bucket checks while JetStream does not answer."""


class BucketKeeper:
    """Creates the buckets at start; the ``manage`` rule for ones that exist.

    Args:
        config: ``[consumer_state]``.
    """

    def __init__(self, config: ConsumerStateConfig) -> None:
        self._config = config

    async def check(self, js: JetStreamContext, wait_s: float = 0.0) -> None:
        """Make sure every bucket exists (and matches the config under ``manage = "update"``).

        Args:
            js: a JetStream context whose ``timeout`` bounds each request.
            wait_s: how long JetStream not answering (a timeout, no responders, 503:
                a cluster still electing its leaders at start) is asked again, every
                ``RETRY_S``, before giving up; 0 gives up at once.

        Raises:
            StreamSetupError: a bucket cannot be created or updated, or JetStream
                did not answer for ``wait_s`` (one line naming the bucket).
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait_s
        for wanted in bucket_configs(self._config):
            while True:
                raise_if_cancelled()
                try:
                    with as_unavailable():
                        await self._ensure(js, wanted)
                    break
                except JetStreamUnavailableError as exc:
                    if loop.time() >= deadline:
                        waited = f" for {wait_s:g} s" if wait_s > 0 else ""
                        raise StreamSetupError(f"bucket {wanted.bucket}: {exc}{waited}") from None
                    await asyncio.sleep(RETRY_S)
                except nats.errors.Error as exc:
                    said = exc.description if isinstance(exc, APIError) else repr(exc)
                    raise StreamSetupError(f"bucket {wanted.bucket}: {said}") from None

    async def _ensure(self, js: JetStreamContext, wanted: KeyValueConfig) -> None:
        """Create one bucket, or apply the ``manage`` rule to it when it exists."""
        stream = f"KV_{wanted.bucket}"
        try:
            info = await js.stream_info(stream)
        except NotFoundError:
            await stream_request(
                js.create_key_value(wanted), f"bucket {wanted.bucket}: cannot create it"
            )
            log.warning("bucket created", extra={"bucket": wanted.bucket})
            return
        have = info.config
        differences = [
            f"{key}: {old!r} on the server, {new!r} configured"
            for key, old, new in (
                ("history", have.max_msgs_per_subject, 1),
                ("max_bytes", have.max_bytes, wanted.max_bytes),
                (
                    "storage",
                    getattr(have.storage, "value", have.storage),
                    _value(wanted.storage),
                ),
                ("replicas", have.num_replicas, wanted.replicas),
            )
            if old != new
        ]
        if not differences:
            return
        if self._config.manage is StreamManagement.UPDATE:
            have.max_msgs_per_subject = 1
            have.max_bytes = wanted.max_bytes
            have.num_replicas = wanted.replicas
            await stream_request(
                js.update_stream(have),
                f"bucket {wanted.bucket}: cannot update it ({'; '.join(differences)})",
            )
            log.warning(
                "bucket updated to the configuration",
                extra={"bucket": wanted.bucket, "differences": differences},
            )
        else:
            log.warning(
                'bucket differs from the configuration; left as it is (manage = "create")',
                extra={"bucket": wanted.bucket, "differences": differences},
            )


class ConsumerStateWriter:
    """Writes latest values, book images and status records to their buckets, on a timer.

    Args:
        config: ``[consumer_state]``.
        state: what the pipeline collected.
        encoder: the envelope encoder (book images are encoded like stream messages).
    """

    def __init__(
        self, config: ConsumerStateConfig, state: ConsumerState, encoder: EventEncoder
    ) -> None:
        self._config = config
        self._state = state
        self._encoder = encoder
        self._headers = {"Content-Type": encoder.content_type}
        self._json_headers = {"Content-Type": "application/json"}
        self._log_limit = LogRateLimit(10.0)
        self._keeper = BucketKeeper(config)
        self._failed_writes = False
        self.writes = 0
        """Values written since start (every part of a book image counts)."""
        self.paused = False
        """No write while True (a suspended leader); what changed meanwhile is written after."""

    async def run(self, nc: Client) -> None:
        """Write every ``latest_interval_s`` (unless :attr:`paused`) until cancelled."""
        js = nc.jetstream(timeout=5.0)
        while True:
            raise_if_cancelled()
            await asyncio.sleep(self._config.latest_interval_s)
            if not self.paused:
                await self.flush(js, nc.max_payload)

    async def flush(self, js: JetStreamContext, max_payload: int) -> None:
        """Write what changed since the last flush (see the module docstring for failures)."""
        state = self._state
        config = self._config
        if self._failed_writes:
            try:
                await self._keeper.check(js)
            except Exception as exc:
                self._failed("bucket check", exc)
                return
            self._failed_writes = False
            for image in state.books.values():
                image.due = True
            for record in state.records.values():
                record.changed = True
        if state.removed_keys and not await self._purge_removed(js):
            return
        # The pipeline's streams hold this dict: take a copy and empty it in place.
        pending = dict(state.pending_latest)
        state.pending_latest.clear()
        writes: list[Coroutine[Any, Any, object]] = [
            self._put(js, f"$KV.{config.latest_bucket}.{key}", data, self._headers)
            for key, data in pending.items()
        ]
        now_s = time.monotonic()
        for image in state.due_books(now_s):
            writes.extend(self._book_writes(js, image, max_payload))
            image.due = False
            image.written_at_s = now_s
        now_ms = time.time_ns() // 1_000_000
        for record in state.records.values():
            if record.resync_unwritten or record.stale_unwritten:
                # A resync (or a stale stream) over before this flush still shows for one interval.
                shown = StreamState.RESYNCING if record.resync_unwritten else StreamState.STALE
                record.resync_unwritten = record.stale_unwritten = False
                document = record.document(shown)
                record.changed = record.state is not shown
            elif record.changed or (
                record.last_event_ms != record.written_event_ms
                and (record.written_event_ms or 0) + STATUS_REFRESH_S * 1000 <= now_ms
            ):
                record.changed = False
                document = record.document()
            else:
                continue
            record.written_event_ms = record.last_event_ms
            key = state_key(record.instrument, record.data_type)
            writes.append(
                self._put(
                    js,
                    f"$KV.{config.status_bucket}.{key}",
                    orjson.dumps(document),
                    self._json_headers,
                )
            )
        if writes:
            await asyncio.gather(*writes)

    async def _purge_removed(self, js: JetStreamContext) -> bool:
        """Purge the status records and book images of streams unsubscribed at runtime,
        before any write (a stream added again writes afresh after). False when one
        purge failed: they are all tried again at the next flush."""
        removed = dict(self._state.removed_keys)
        purges = []
        for key, parts in removed.items():
            if parts == 0:
                purges.append(self._purge(js, f"$KV.{self._config.status_bucket}.{key}"))
            else:
                prefix = f"$KV.{self._config.books_bucket}.{key}"
                purges.extend(self._purge(js, f"{prefix}.{n}") for n in range(1, parts + 1))
        if not all(await asyncio.gather(*purges)):
            return False
        for key in removed:
            self._state.removed_keys.pop(key, None)
        return True

    def _book_writes(
        self, js: JetStreamContext, image: BookImage, max_payload: int
    ) -> list[Coroutine[Any, Any, object]]:
        """Writes of a book image's parts, and purges of parts left from a longer image."""
        snapshot = image.snapshot()
        event = MarketEvent(
            image.instrument, DataType.L2_ORDERBOOK, image.received_at_ms, None, snapshot, ""
        )
        limit = max(1, max_payload - HEADER_ROOM_BYTES)
        count = 1
        levels = max(len(snapshot.bids), len(snapshot.asks), 1)
        while True:
            parts = [
                self._encoder.encode(
                    MarketEvent(
                        event.instrument, event.data_type, event.received_at_ms, None, part, ""
                    ),
                    image.sequence,
                )
                for part in (split_snapshot(snapshot, count) if count > 1 else [snapshot])
            ]
            if all(len(part) <= limit for part in parts) or count >= levels:
                break
            count = min(max(count + 1, count * 5 // 4), levels)
        prefix = f"$KV.{self._config.books_bucket}.{book_key(image.instrument)}"
        writes: list[Coroutine[Any, Any, object]] = [
            self._put(js, f"{prefix}.{number}", part, self._headers)
            for number, part in enumerate(parts, 1)
        ]
        for stale in range(len(parts) + 1, image.written_parts + 1):
            writes.append(self._purge(js, f"{prefix}.{stale}"))
        image.written_parts = len(parts)
        return writes

    async def _put(
        self, js: JetStreamContext, subject: str, data: bytes, headers: dict[str, str]
    ) -> None:
        try:
            await js.publish(subject, data, headers=headers)
            self.writes += 1
        except Exception as exc:  # one failed write never ends the writer
            self._failed(subject, exc)

    async def _purge(self, js: JetStreamContext, subject: str) -> bool:
        try:
            await js.publish(subject, b"", headers={"KV-Operation": "PURGE", "Nats-Rollup": "sub"})
        except Exception as exc:
            self._failed(subject, exc)
            return False
        return True

    def _failed(self, subject: str, exc: Exception) -> None:
        self._failed_writes = True
        suppressed = self._log_limit.allow(type(exc).__name__)
        if suppressed is not None:
            log.warning(
                "key-value write failed; retried at the next interval",
                extra={"subject": subject, "error": repr(exc), "suppressed": suppressed},
            )
