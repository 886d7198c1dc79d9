"""The ``[nats]`` section and its ``[[nats.streams]]`` tables -> :class:`NatsConfig`."""

from __future__ import annotations

from typing import Final

from relay.config.checks import (
    nats_url_problem,
    stream_name_problem,
    subject_problem,
    token_problem,
)
from relay.config.model import (
    DEFAULT_MEMORY_MAX_BYTES,
    NatsConfig,
    StorageType,
    StreamConfig,
)
from relay.config.reader import Table

MAX_STREAM_REPLICAS: Final = 5
"""JetStream's upper limit of stream replicas."""

MAX_PING_INTERVAL_S: Final = 60.0
"""Upper bound of ``[nats] ping_interval_s``: a hung server must be noticed within minutes."""

MAX_OUTSTANDING_PINGS: Final = 10
"""Upper bound of ``[nats] max_outstanding_pings``."""

# Defaults, read from an instance: a slotted dataclass keeps no class-level defaults.
_STREAM: Final = StreamConfig(name="", subjects=())


def nats_config(table: Table) -> NatsConfig:
    """``[nats]`` read from ``table``; problems are reported to its context."""
    defaults = NatsConfig()
    urls = table.strings("urls", "URL", defaults.urls, nats_url_problem)
    stream_names: dict[str, str] = {}
    streams: list[StreamConfig] = []
    for stream_table in table.tables("streams", StreamConfig, required=False):
        stream = _stream(stream_table)
        if not stream_table.failed("name"):
            first = stream_names.setdefault(stream.name, stream_table.key_path("name"))
            if first != stream_table.key_path("name"):
                stream_table.report(
                    "name", f"duplicate stream name {stream.name!r} (first at {first})"
                )
        streams.append(stream)
    return NatsConfig(
        urls=tuple(url for _, url in urls),
        embedded=table.boolean("embedded", defaults.embedded),
        embedded_store_dir=table.string("embedded_store_dir", defaults.embedded_store_dir),
        streams=tuple(streams),
        subject_prefix=table.string("subject_prefix", defaults.subject_prefix, token_problem),
        ack_timeout_s=table.seconds("ack_timeout_s", defaults.ack_timeout_s, positive=True),
        max_in_flight=table.integer("max_in_flight", defaults.max_in_flight, minimum=1),
        connect_timeout_s=table.seconds(
            "connect_timeout_s", defaults.connect_timeout_s, positive=True
        ),
        ack_mode=table.choice("ack_mode", defaults.ack_mode),
        ack_batch_max=table.integer("ack_batch_max", defaults.ack_batch_max, minimum=1),
        ping_interval_s=_ping_interval(table, defaults.ping_interval_s),
        max_outstanding_pings=table.integer(
            "max_outstanding_pings",
            defaults.max_outstanding_pings,
            minimum=1,
            maximum=MAX_OUTSTANDING_PINGS,
        ),
    )


def _ping_interval(table: Table, default: float) -> float:
    value = table.seconds("ping_interval_s", default, positive=True)
    if value > MAX_PING_INTERVAL_S:
        table.report(
            "ping_interval_s", f"must be at most {MAX_PING_INTERVAL_S:g} seconds, got {value:g}"
        )
        return default
    return value


def _stream(table: Table) -> StreamConfig:
    name = table.string("name", check=stream_name_problem)
    subjects = table.strings("subjects", "subject", check=subject_problem)
    storage = table.choice("storage", _STREAM.storage)
    return StreamConfig(
        name=name,
        subjects=tuple(subject for _, subject in subjects),
        storage=storage,
        max_age_s=table.seconds("max_age_s", _STREAM.max_age_s, positive=False),
        max_bytes=_max_bytes(table, storage),
        max_msgs_per_subject=_unlimited_or_positive(
            table, "max_msgs_per_subject", _STREAM.max_msgs_per_subject, "messages"
        ),
        duplicate_window_s=table.seconds(
            "duplicate_window_s", _STREAM.duplicate_window_s, positive=False
        ),
        replicas=table.integer(
            "replicas", _STREAM.replicas, minimum=1, maximum=MAX_STREAM_REPLICAS
        ),
        discard=table.choice("discard", _STREAM.discard),
        manage=table.choice("manage", _STREAM.manage),
    )


def _max_bytes(table: Table, storage: StorageType) -> int:
    default = DEFAULT_MEMORY_MAX_BYTES if storage is StorageType.MEMORY else _STREAM.max_bytes
    return _unlimited_or_positive(table, "max_bytes", default, "bytes")


def _unlimited_or_positive(table: Table, key: str, default: int, unit: str) -> int:
    value = table.integer(key, default, minimum=-1)
    if value == 0:
        table.report(key, f"must be -1 (unlimited) or a positive number of {unit}, got 0")
        return default
    return value
