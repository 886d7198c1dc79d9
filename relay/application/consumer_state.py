"""What consumers read besides the streams: latest values, book images, stream states.

The pipeline tells :class:`ConsumerState` about every message it publishes
(cheap calls: a dict assignment, a book update); a writer in the
infrastructure (:mod:`relay.infrastructure.nats.kv`) takes what changed every
``latest_interval_s`` and writes it to the key-value buckets, so the stream
publish path never waits for a bucket. Everything here is bounded by the
configured instruments: one pending value per key (the newest wins), one book
per book stream, one status record per (venue, instrument, data type).

Keys are ``<venue>.<symbol token>.<data type>`` (``binance-usdm.btc-usdt.ticker``)
for latest values and states, ``<venue>.<symbol token>`` for books.

Stream states (:class:`StreamState`)::

    DISCONNECTED --event--> STREAMING --resync--> RESYNCING --snapshot--> STREAMING
    any --stale watchdog--> STALE --event (after the reconnect)--> STREAMING
    any but STALE --connection closed--> DISCONNECTED

A stale stream stays ``stale`` while the watchdog's connection is closed and
replaced (that closing is the watchdog's action, not a new cause). A resync or
a stale stream is shown for at least ``hold_s`` (:meth:`StatusRecord.shown`,
what ``/health`` reports) and written to the status bucket at least once
(``resync_unwritten``, ``stale_unwritten``), even when the stream is streaming
again sooner: ``/health`` and the bucket show every one of them.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from relay.application.order_book import apply_levels
from relay.domain.model import DataType, Instrument, L2Update, PriceLevel

LATEST_TYPES = frozenset(
    {DataType.TICKER, DataType.FUNDING_RATE, DataType.OPEN_INTEREST, DataType.CANDLE}
)
"""Data types whose latest value is kept (candles: closed ones only)."""


class StreamState(enum.Enum):
    """The state of one (venue, instrument, data type) stream (see the module docstring)."""

    STREAMING = "streaming"
    RESYNCING = "resyncing"
    STALE = "stale"
    DISCONNECTED = "disconnected"


_KEPT_AT_CLOSE = frozenset({StreamState.DISCONNECTED, StreamState.STALE})
"""States a closed connection leaves as they are."""


def state_key(instrument: Instrument, data_type: DataType) -> str:
    """``binance-usdm.btc-usdt.ticker``: the key of a latest value or a status record."""
    return f"{instrument.venue}.{instrument.symbol_token}.{data_type.value}"


def book_key(instrument: Instrument) -> str:
    """``binance-usdm.btc-usdt``: the key prefix of a book image's parts."""
    return f"{instrument.venue}.{instrument.symbol_token}"


@dataclass(slots=True)
class StatusRecord:
    """One stream's state as written to the status bucket.

    Attributes:
        instrument, data_type: whose.
        connection: the venue connection carrying it (``binance-usdm``, ``binance-usdm#2``).
        state: the :class:`StreamState`.
        last_event_ms: epoch ms the relay read its latest event (None: none yet).
        resyncs: how often the book was resynced since start (books only; 0 else).
        last_reason: the latest resync's reason (``"gap"``), None before one.
        changed: not yet written since the last change.
        written_event_ms: ``last_event_ms`` as last written.
        resync_unwritten: a resync began and no ``resyncing`` record was written
            yet: the writer writes one even when the book streams again already,
            so every resync shows for at least one interval.
        stale_unwritten: as ``resync_unwritten``, for ``stale``.
        held: a ``resyncing`` or ``stale`` state :meth:`shown` reports while the
            stream streams, until monotonic time ``held_until_s``.
    """

    instrument: Instrument
    data_type: DataType
    connection: str
    state: StreamState = StreamState.DISCONNECTED
    last_event_ms: int | None = None
    resyncs: int = 0
    last_reason: str | None = None
    changed: bool = True
    written_event_ms: int | None = None
    resync_unwritten: bool = False
    stale_unwritten: bool = False
    held: StreamState | None = None
    held_until_s: float = 0.0
    events: int = 0
    """Messages published since start (a book snapshot cut in parts counts once)."""

    def seen(self, received_at_ms: int, snapshot: bool) -> None:
        """An event of the stream was published; a resyncing book streams again at its snapshot."""
        self.last_event_ms = received_at_ms
        if self.state is not StreamState.STREAMING and (
            snapshot or self.state is not StreamState.RESYNCING
        ):
            self.state = StreamState.STREAMING
            self.changed = True

    def hold(self, state: StreamState, until_s: float) -> None:
        """Show ``state`` (resyncing or stale) until monotonic time ``until_s`` at least."""
        self.state = state
        self.changed = True
        self.held = state
        self.held_until_s = until_s
        if state is StreamState.RESYNCING:
            self.resync_unwritten = True
        else:
            self.stale_unwritten = True

    def shown(self, now_s: float) -> StreamState:
        """The state to report at monotonic time ``now_s``: the current one, or a
        ``resyncing`` / ``stale`` held over a ``streaming`` that came back sooner."""
        if self.held is not None and self.state is StreamState.STREAMING:
            if now_s < self.held_until_s:
                return self.held
            self.held = None
        return self.state

    def health(self, now_s: float, now_ms: int) -> dict[str, object]:
        """The record's entry in ``/health`` ``streams`` (at monotonic ``now_s``, epoch ``now_ms``).

        Shape: ``{"state": "streaming", "last_event_age_s": 0.2, "resyncs": 0,
        "last_reason": null}``; the age is None before the first event.
        """
        last = self.last_event_ms
        return {
            "state": self.shown(now_s).value,
            "last_event_age_s": None if last is None else round((now_ms - last) / 1000, 3),
            "resyncs": self.resyncs,
            "last_reason": self.last_reason,
        }

    def document(self, state: StreamState | None = None) -> dict[str, object]:
        """The JSON document of the record (docs/wire-format.md, "relay-status").

        ``state``: written instead of the current one (a resync already over).
        """
        return {
            "venue": self.instrument.venue,
            "instrument": self.instrument.instrument,
            "canonical_symbol": self.instrument.canonical_symbol,
            "data_type": self.data_type.value,
            "state": (state or self.state).value,
            "last_event_at": self.last_event_ms,
            "resyncs": self.resyncs,
            "last_reason": self.last_reason,
        }


class BookImage:
    """The book one book stream describes, and the ``sequence`` of its latest message.

    Kept as two plain price -> quantity dicts (one dict operation per level on
    the publish path); sorted only when an image is written.

    Attributes:
        instrument: whose book.
        bids, asks: the levels after message ``sequence``.
        sequence: the envelope sequence of the latest message applied.
        received_at_ms: that message's envelope ``received_at``.
        complete: every part of the latest snapshot is in.
        due: it should be written at the next flush (after a snapshot, i.e. a resync).
        written_at_s: monotonic time of the latest write (0: never).
        written_parts: how many parts the latest write had.
    """

    __slots__ = (
        "asks",
        "bids",
        "complete",
        "due",
        "instrument",
        "received_at_ms",
        "sequence",
        "written_at_s",
        "written_parts",
    )

    def __init__(self, instrument: Instrument) -> None:
        self.instrument = instrument
        self.bids: dict[Decimal, PriceLevel] = {}
        self.asks: dict[Decimal, PriceLevel] = {}
        self.sequence = 0
        self.received_at_ms = 0
        self.complete = False
        self.due = False
        self.written_at_s = 0.0
        self.written_parts = 0

    def apply(self, update: L2Update, sequence: int, received_at_ms: int) -> None:
        """Apply one published book message (a snapshot or a delta) with its sequence.

        ``received_at_ms``: the message's envelope ``received_at``; the image
        carries it, so a consumer can start reading the stream from that time.
        """
        self.received_at_ms = received_at_ms
        self.sequence = sequence
        if update.is_snapshot:
            if update.snapshot_part == 1:
                self.bids = {}
                self.asks = {}
            self.complete = update.snapshot_part == update.snapshot_parts
            self.due = self.due or self.complete
        apply_levels(self.bids, update.bids)
        apply_levels(self.asks, update.asks)

    def snapshot(self) -> L2Update:
        """The book as one snapshot (levels best first)."""
        return L2Update(
            bids=tuple(sorted(self.bids.values(), reverse=True)),
            asks=tuple(sorted(self.asks.values())),
            is_snapshot=True,
        )


class ConsumerState:
    """Latest values, book images and stream states, waiting for the bucket writer.

    Args:
        streams: every configured stream: (instrument, data type, connection name).
        book_snapshot_interval_s: a book image is due at least this often.
        hold_s: a resync or a stale stream is shown at least this long (the
            writer's ``latest_interval_s``).
    """

    def __init__(
        self,
        streams: Iterable[tuple[Instrument, DataType, str]],
        book_snapshot_interval_s: float = 30.0,
        hold_s: float = 1.0,
    ) -> None:
        self.book_snapshot_interval_s = book_snapshot_interval_s
        self.hold_s = hold_s
        self.pending_latest: dict[str, bytes] = {}
        """Key -> encoded envelope not yet written; bounded by the configured streams,
        a newer value replaces a pending one."""
        self.books: dict[Instrument, BookImage] = {}
        self.records: dict[tuple[str, str, DataType], StatusRecord] = {}
        self.removed_keys: dict[str, int] = {}
        """Keys of streams unsubscribed at runtime, to purge from the buckets: a status key
        -> 0, a book key -> the parts its image had written. Emptied by the writer."""
        for instrument, data_type, connection in streams:
            self.records[(instrument.venue, instrument.instrument, data_type)] = StatusRecord(
                instrument, data_type, connection
            )
            if data_type is DataType.L2_ORDERBOOK:
                self.books[instrument] = BookImage(instrument)

    def record(self, instrument: Instrument, data_type: DataType) -> StatusRecord:
        """The status record of a stream (made on first use for one not configured)."""
        key = (instrument.venue, instrument.instrument, data_type)
        found = self.records.get(key)
        if found is None:
            found = self.records[key] = StatusRecord(instrument, data_type, instrument.venue)
        return found

    def add_stream(self, instrument: Instrument, data_type: DataType, connection: str) -> None:
        """A stream subscribed at runtime on ``connection`` gets its record (and book image)."""
        key = (instrument.venue, instrument.instrument, data_type)
        if key not in self.records:
            self.records[key] = StatusRecord(instrument, data_type, connection)
        else:
            self.records[key].connection = connection
        if data_type is DataType.L2_ORDERBOOK and instrument not in self.books:
            self.books[instrument] = BookImage(instrument)

    def remove_stream(self, venue: str, instrument: str, data_type: DataType) -> None:
        """A stream unsubscribed at runtime: its record and book image are dropped, and
        their keys wait in :attr:`removed_keys` to be purged (a consumer reading
        ``relay-status`` or ``relay-books`` no longer finds the stream)."""
        record = self.records.pop((venue, instrument, data_type), None)
        if record is None:
            return
        self.removed_keys[state_key(record.instrument, data_type)] = 0
        if data_type is DataType.L2_ORDERBOOK:
            image = self.books.pop(record.instrument, None)
            if image is not None and image.written_parts:
                key = book_key(record.instrument)
                self.removed_keys[key] = max(image.written_parts, self.removed_keys.get(key, 0))

    def book(self, instrument: Instrument) -> BookImage:
        """The book image of a book stream (made on first use)."""
        found = self.books.get(instrument)
        if found is None:
            found = self.books[instrument] = BookImage(instrument)
        return found

    def resync(self, venue: str, instrument: str, reason: str) -> None:
        """A venue book lost its integrity and is being resynchronized."""
        record = self.records.get((venue, instrument, DataType.L2_ORDERBOOK))
        if record is None:
            return
        record.resyncs += 1
        record.last_reason = reason
        record.hold(StreamState.RESYNCING, time.monotonic() + self.hold_s)

    def connection_closed(self, connection: str) -> None:
        """Every stream of a venue connection is disconnected."""
        for record in self.records.values():
            if record.connection == connection and record.state not in _KEPT_AT_CLOSE:
                record.state = StreamState.DISCONNECTED
                record.changed = True

    def stale(self, venue: str, data_type: str) -> None:
        """A venue's streams of one data type went silent (the watchdog replaces the connection)."""
        until_s = time.monotonic() + self.hold_s
        for record in self.records.values():
            if record.instrument.venue == venue and record.data_type.value == data_type:
                record.hold(StreamState.STALE, until_s)

    def health(
        self, now_s: float | None = None, now_ms: int | None = None
    ) -> dict[str, dict[str, dict[str, dict[str, object]]]]:
        """The ``/health`` ``streams`` section: venue -> instrument -> data type -> entry.

        Entries as :meth:`StatusRecord.health` (``state`` as :meth:`StatusRecord.shown`);
        ``now_s`` monotonic and ``now_ms`` epoch times, the clocks' by default.
        """
        mono = time.monotonic() if now_s is None else now_s
        epoch = time.time_ns() // 1_000_000 if now_ms is None else now_ms
        streams: dict[str, dict[str, dict[str, dict[str, object]]]] = {}
        for record in self.records.values():
            instrument = record.instrument
            streams.setdefault(instrument.venue, {}).setdefault(instrument.instrument, {})[
                record.data_type.value
            ] = record.health(mono, epoch)
        return streams

    def due_books(self, now_s: float | None = None) -> list[BookImage]:
        """Complete book images due for a write: after a snapshot, or older than the interval."""
        now = time.monotonic() if now_s is None else now_s
        return [
            image
            for image in self.books.values()
            if image.complete
            and image.sequence
            and (image.due or now - image.written_at_s >= self.book_snapshot_interval_s)
        ]
