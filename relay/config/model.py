"""Typed, frozen configuration. Built only by :func:`relay.config.loader.load_config`.

Every field's TOML key is the field's name; sections are named in each class's
docstring. Durations end in ``_s`` (seconds, float), sizes say their unit.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Final

from relay.config.cluster import ClusterConfig
from relay.config.control import ControlConfig
from relay.config.recording import RecordingConfig
from relay.domain.model import DataType


class SerializationFormat(enum.Enum):
    """``[serialization] format``."""

    JSON = "json"
    PROTOBUF = "protobuf"


class StorageType(enum.Enum):
    """``[[nats.streams]] storage``."""

    FILE = "file"
    MEMORY = "memory"


class DiscardPolicy(enum.Enum):
    """``[[nats.streams]] discard``: what a full stream does with a new message."""

    OLD = "old"
    """The oldest messages are removed to make room (default)."""
    NEW = "new"
    """The new message is refused (the relay counts it as a drop after its retries)."""


class AckMode(enum.Enum):
    """``[nats] ack_mode``: how the publisher learns that JetStream stored a message."""

    BATCH = "batch"
    """Batches confirmed by the stream sequence of each batch's last ack (default)."""
    EACH = "each"
    """One ack per message."""


class StreamManagement(enum.Enum):
    """``[[nats.streams]] manage``: what the relay may do to a stream that exists."""

    CREATE = "create"
    """Create the stream when it is missing; leave an existing one as it is (default)."""
    UPDATE = "update"
    """Also update an existing stream to the configured settings."""


GIB: Final = 1024**3

DEFAULT_FILE_MAX_BYTES: Final = 10 * GIB
"""Byte limit of a file stream when ``max_bytes`` is not set: 10 GiB."""

DEFAULT_MEMORY_MAX_BYTES: Final = 1 * GIB
"""Byte limit of a memory stream when ``max_bytes`` is not set: 1 GiB."""


@dataclass(frozen=True, slots=True)
class StreamConfig:
    """``[[nats.streams]]``: a JetStream stream the relay checks at start and after reconnects.

    Attributes:
        name: stream name (``"MARKET"``).
        subjects: subjects it captures (``["market.>"]``).
        storage: file or memory.
        max_age_s: drop messages older than this; 0 = unlimited. Default 24 h.
        max_bytes: size limit in bytes; -1 = unlimited. Default 10 GiB for a
            file stream, 1 GiB for a memory one (the loader picks by storage).
        max_msgs_per_subject: messages kept per subject; -1 = unlimited.
        duplicate_window_s: JetStream's ``Nats-Msg-Id`` duplicate window.
        replicas: stream replicas (1 on a single server).
        discard: what a full stream does with a new message.
        manage: whether an existing stream is updated to these settings.
    """

    name: str
    subjects: tuple[str, ...]
    storage: StorageType = StorageType.FILE
    max_age_s: float = 86_400.0
    max_bytes: int = DEFAULT_FILE_MAX_BYTES
    max_msgs_per_subject: int = -1
    duplicate_window_s: float = 120.0
    replicas: int = 1
    discard: DiscardPolicy = DiscardPolicy.OLD
    manage: StreamManagement = StreamManagement.CREATE


@dataclass(frozen=True, slots=True)
class NatsConfig:
    """``[nats]``.

    Attributes:
        urls: server URLs (``["nats://127.0.0.1:4222"]``).
        embedded: start the bundled nats-server with JetStream (listening on
            the first URL's host and port) instead of connecting to one.
        embedded_store_dir: JetStream store of the embedded server; empty = a
            temporary directory removed at exit.
        streams: streams ensured at start.
        subject_prefix: first subject token (``"market"``).
        ack_timeout_s: how long one publish waits for its JetStream ack.
        max_in_flight: publishes awaiting acks at once.
        connect_timeout_s: one connection attempt's limit.
        ack_mode: ``batch`` (default): messages are confirmed in batches by the
            stream sequence of each batch's last ack, falling back to one ack per
            message when the arithmetic does not add up; only with exactly one
            configured stream. ``each``: one ack per message.
        ack_batch_max: largest batch in ``batch`` mode.
        ping_interval_s: seconds between two client PINGs to the server.
        max_outstanding_pings: PINGs without a PONG after which the connection
            counts as dead (a hung server) and is replaced.
        user: user name for user/password authentication ("" = none).
        password: its password (never shown: ``***`` in logs and errors).
        token: token authentication (never shown).
        nkey_seed_file: file holding an nkey user seed (``SU...``): nkey authentication.
        creds_file: JWT user credentials file (``.creds``: JWT and nkey seed).
        tls_ca_file: PEM file of the CAs that signed the server's certificate
            ("" = the system's CAs).
        tls_cert_file: PEM client certificate (mutual TLS); needs ``tls_key_file``.
        tls_key_file: PEM private key of ``tls_cert_file``.
        tls_verify: check the server's certificate and host name (default true).
        tls_handshake_first: start TLS before the server's INFO (the server must
            be configured with ``handshake_first``).
    """

    urls: tuple[str, ...] = ("nats://127.0.0.1:4222",)
    embedded: bool = False
    embedded_store_dir: str = ""
    streams: tuple[StreamConfig, ...] = ()
    subject_prefix: str = "market"
    ack_timeout_s: float = 5.0
    max_in_flight: int = 256
    connect_timeout_s: float = 5.0
    ack_mode: AckMode = AckMode.BATCH
    ack_batch_max: int = 256
    ping_interval_s: float = 5.0
    max_outstanding_pings: int = 2
    user: str = ""
    password: str = field(default="", repr=False)
    token: str = field(default="", repr=False)
    nkey_seed_file: str = ""
    creds_file: str = ""
    tls_ca_file: str = ""
    tls_cert_file: str = ""
    tls_key_file: str = ""
    tls_verify: bool = True
    tls_handshake_first: bool = False

    @property
    def tls_configured(self) -> bool:
        """Whether any ``tls_*`` key asks for TLS settings of the relay's own."""
        return bool(
            self.tls_ca_file
            or self.tls_cert_file
            or self.tls_key_file
            or not self.tls_verify
            or self.tls_handshake_first
        )


@dataclass(frozen=True, slots=True)
class SerializationConfig:
    """``[serialization]``: ``format`` is ``"json"`` (default) or ``"protobuf"``."""

    format: SerializationFormat = SerializationFormat.JSON


@dataclass(frozen=True, slots=True)
class HttpConfig:
    """``[http]``: ``listen`` is ``"host:port"`` for /livez, /readyz, /health and /metrics.

    ``enabled`` false switches the HTTP server off. The limits bound what
    clients can hold (docs/configuration.md):

    - ``max_connections``: open HTTP connections at most (also uvicorn's
      ``limit_concurrency``); lowered at start to leave file descriptors for
      the venues (:func:`relay.infrastructure.http_limits.connection_cap`).
      At the cap the longest-open idle connection is closed to admit a new one;
      with none idle the new one is closed at once.
    - ``max_header_bytes``: bytes of a request head (request line + headers)
      at most; more is answered 400 (h11's ``max_incomplete_event_size``).
    - ``header_timeout_s``: seconds a connection may take to send a complete
      request head, from its accept or from the end of the previous response;
      then it is closed.
    - ``keep_alive_timeout_s``: whole seconds an idle keep-alive connection is
      kept after a response (uvicorn's ``timeout_keep_alive``).
    - ``backlog``: the listen queue length: connections the kernel holds before
      they are accepted, costing the process no file descriptor (the kernel
      caps it at ``net.core.somaxconn``). When the queue is full the kernel
      drops new SYNs and clients retry after 1 s, so it is large enough for a
      burst of connections not to delay a probe by that second.
    """

    listen: str = "127.0.0.1:8080"
    enabled: bool = True
    max_connections: int = 100
    max_header_bytes: int = 16_384
    header_timeout_s: float = 10.0
    keep_alive_timeout_s: int = 5
    backlog: int = 2048

    @property
    def host(self) -> str:
        """The host part of ``listen``."""
        return self.listen.rsplit(":", 1)[0].strip("[]")

    @property
    def port(self) -> int:
        """The port part of ``listen``."""
        return int(self.listen.rsplit(":", 1)[1])


class OutagePolicy(enum.Enum):
    """``[pipeline] outage_full_policy``: what a full NATS outage buffer does with a new event."""

    BLOCK = "block"
    """The publisher stops taking events; the queue fills and venue readers wait (default)."""
    DROP_NEWEST = "drop_newest"
    """The new event is dropped and counted."""
    DROP_OLDEST = "drop_oldest"
    """The oldest buffered event is dropped and counted."""


@dataclass(frozen=True, slots=True)
class PipelineConfig:
    """``[pipeline]``.

    Attributes:
        max_queue_events: bound of the queue between venue readers and the
            publisher; a full queue blocks the reader (backpressure). 2,048
            events are about 0.1 s of the relay's maximum rate here: enough for
            bursts, while a larger queue only adds latency and memory under
            sustained overload (docs/performance.md).
        publish_retry_delays_s: waits between publish attempts before an
            event is dropped (the retry-then-drop rule).
        shutdown_timeout_s: how long a stop may take to drain.
        outage_buffer_max_events, outage_buffer_max_bytes: bounds of the buffer
            that holds events while NATS is unreachable.
        outage_full_policy: what happens when that buffer is full.
    """

    max_queue_events: int = 2_048
    publish_retry_delays_s: tuple[float, ...] = (0.1, 0.5, 2.0)
    shutdown_timeout_s: float = 10.0
    outage_buffer_max_events: int = 100_000
    outage_buffer_max_bytes: int = 256 * 1024 * 1024
    outage_full_policy: OutagePolicy = OutagePolicy.BLOCK


@dataclass(frozen=True, slots=True)
class SubscriptionConfig:
    """``[[venues.subscriptions]]``: one instrument of a venue.

    Attributes:
        instrument: the venue's id (``"SUSHIUSDT"``).
        canonical_symbol: relay-wide name (``"SUSHI/USDT"``); no ``.``, ``*``,
            ``>`` or spaces.
        data_types: what to publish for it.
        depth: order book depth hint, where the venue offers several (0 = venue default).
        candle_interval: kline interval (``"1m"``).
    """

    instrument: str
    canonical_symbol: str
    data_types: tuple[DataType, ...]
    depth: int = 0
    candle_interval: str = "1m"


@dataclass(frozen=True, slots=True)
class StaleAfterConfig:
    """``[venues.stale_after_s]``: seconds without data, per data type, after which the
    connection is replaced; 0 switches the watchdog off for that data type.

    Pings, pongs and heartbeats are not data. Trades and liquidations are off by
    default: a quiet market is not a dead feed.
    """

    trade: float = 0.0
    ticker: float = 60.0
    l2_orderbook: float = 60.0
    funding_rate: float = 120.0
    liquidation: float = 0.0
    open_interest: float = 300.0
    candle: float = 180.0

    def for_type(self, data_type: DataType) -> float:
        """The threshold of one data type, seconds (0 = off)."""
        value: float = getattr(self, data_type.value)
        return value


@dataclass(frozen=True, slots=True)
class VenueConfig:
    """``[[venues]]``.

    Attributes:
        id: a registered venue id (``"binance-usdm"``).
        ws_url: WebSocket URL override; empty = the venue's public URL.
        rest_url: REST base URL override; empty = the venue's public URL.
        subscriptions: instruments and data types.
        enabled: false keeps the section but opens no connection.
        reconnect_base_s, reconnect_cap_s: reconnect backoff (full jitter).
        snapshot_timeout_s: limit of one REST snapshot request.
        connect_timeout_s: limit of one WebSocket opening handshake.
        stable_after_s: a connection up this long resets the backoff and
            counts as a circuit breaker success.
        ping_interval_s, pong_timeout_s: WebSocket keepalive; a missing pong
            replaces the connection.
        max_frame_bytes: larger frames are counted (``oversized``) and skipped.
        stale_after_s: the per-data-type staleness watchdog.
        breaker_failure_threshold, breaker_reset_timeout_s,
        breaker_success_threshold: the venue's circuit breaker.
        rest_weight_per_minute: REST request weight allowed per minute; 0 = the
            venue's documented limit.
        rotate_after_s: planned connection rotation age; 0 = the venue's own
            (Binance closes connections after 24 h).
        ws_compression: offer permessage-deflate (less bandwidth, more CPU and latency).
        rest_poll_interval_s: seconds between two polls of each data type the
            venue offers only over REST (Binance futures open interest), per
            instrument subscribed to it.
        rest_fallback_after_s: once the venue's WebSocket has been down this
            long, its trades and tickers are polled over REST until it is back
            (venues declaring fallback endpoints); 0 = no fallback.
        rest_fallback_interval_s: seconds between two fallback polls of each
            instrument while the fallback is active.
    """

    id: str
    subscriptions: tuple[SubscriptionConfig, ...]
    ws_url: str = ""
    rest_url: str = ""
    enabled: bool = True
    reconnect_base_s: float = 0.5
    reconnect_cap_s: float = 30.0
    snapshot_timeout_s: float = 10.0
    connect_timeout_s: float = 10.0
    stable_after_s: float = 30.0
    ping_interval_s: float = 20.0
    pong_timeout_s: float = 20.0
    max_frame_bytes: int = 8 * 1024 * 1024
    stale_after_s: StaleAfterConfig = field(default_factory=StaleAfterConfig)
    breaker_failure_threshold: int = 5
    breaker_reset_timeout_s: float = 30.0
    breaker_success_threshold: int = 2
    rest_weight_per_minute: int = 0
    rotate_after_s: float = 0.0
    ws_compression: bool = False
    rest_poll_interval_s: float = 10.0
    rest_fallback_after_s: float = 10.0
    rest_fallback_interval_s: float = 2.0


class LogFormat(enum.Enum):
    """``[logging] format``."""

    JSON = "json"
    """One JSON object per line (default)."""
    TEXT = "text"
    """Human-readable lines."""


@dataclass(frozen=True, slots=True)
class LoggingConfig:
    """``[logging]``: ``level`` (DEBUG/INFO/WARNING/ERROR) and ``format``."""

    level: str = "INFO"
    format: LogFormat = LogFormat.JSON


@dataclass(frozen=True, slots=True)
class ConsumerStateConfig:
    """``[consumer_state]``: the JetStream key-value buckets consumers read (docs/wire-format.md).

    Attributes:
        enabled: keep the buckets; false publishes only the streams.
        latest_bucket: latest ``ticker``, ``funding_rate``, ``open_interest`` and
            closed ``candle`` per instrument (``relay-latest``).
        books_bucket: each book's latest full snapshot, in parts (``relay-books``).
        status_bucket: each (venue, instrument, data type)'s stream state (``relay-status``).
        latest_interval_s: at most one write per key in this many seconds (the
            newest value wins); also how often status changes are written.
        book_snapshot_interval_s: a book's snapshot is rewritten at least this
            often (and at once after every resync).
        max_bytes: size limit of each bucket, bytes.
        storage: file or memory.
        manage: as ``[[nats.streams]] manage``, for the buckets' streams.
        replicas: each bucket's replicas (3 on a cluster of three or more servers).
    """

    enabled: bool = True
    latest_bucket: str = "relay-latest"
    books_bucket: str = "relay-books"
    status_bucket: str = "relay-status"
    latest_interval_s: float = 1.0
    book_snapshot_interval_s: float = 30.0
    max_bytes: int = 256 * 1024 * 1024
    storage: StorageType = StorageType.FILE
    manage: StreamManagement = StreamManagement.CREATE
    replicas: int = 1


@dataclass(frozen=True, slots=True)
class RelayConfig:
    """The whole configuration file."""

    nats: NatsConfig
    venues: tuple[VenueConfig, ...]
    serialization: SerializationConfig = field(default_factory=SerializationConfig)
    http: HttpConfig = field(default_factory=HttpConfig)
    pipeline: PipelineConfig = field(default_factory=PipelineConfig)
    logging: LoggingConfig = field(default_factory=LoggingConfig)
    recording: RecordingConfig = field(default_factory=RecordingConfig)
    consumer_state: ConsumerStateConfig = field(default_factory=ConsumerStateConfig)
    cluster: ClusterConfig = field(default_factory=ClusterConfig)
    control: ControlConfig = field(default_factory=ControlConfig)
