"""The ``[nats]`` section and its ``[[nats.streams]]`` tables -> :class:`NatsConfig`."""

from __future__ import annotations

from typing import Final

from relay.config.checks import (
    creds_file_problem,
    file_problem,
    nats_url_problem,
    nkey_seed_file_problem,
    stream_name_problem,
    subject_problem,
    tls_ca_file_problem,
    tls_pair_problem,
    token_problem,
)
from relay.config.model import (
    DEFAULT_MEMORY_MAX_BYTES,
    NatsConfig,
    StorageType,
    StreamConfig,
)
from relay.config.reader import Table
from relay.config.secrets import has_credentials

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
    user = table.string("user", defaults.user)
    password = table.string("password", defaults.password, secret=True)
    token = table.string("token", defaults.token, secret=True)
    tls_cert_file = table.string("tls_cert_file", defaults.tls_cert_file, file_problem)
    tls_key_file = table.string("tls_key_file", defaults.tls_key_file, file_problem)
    config = NatsConfig(
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
        user=user,
        password=password,
        token=token,
        nkey_seed_file=table.string(
            "nkey_seed_file", defaults.nkey_seed_file, nkey_seed_file_problem
        ),
        creds_file=table.string("creds_file", defaults.creds_file, creds_file_problem),
        tls_ca_file=table.string("tls_ca_file", defaults.tls_ca_file, tls_ca_file_problem),
        tls_cert_file=tls_cert_file,
        tls_key_file=tls_key_file,
        tls_verify=table.boolean("tls_verify", defaults.tls_verify),
        tls_handshake_first=table.boolean("tls_handshake_first", defaults.tls_handshake_first),
    )
    _check_security(table, config, [path for path, url in urls if has_credentials(url)])
    return config


def _check_security(table: Table, config: NatsConfig, urls_with_credentials: list[str]) -> None:
    """Refuse incomplete or conflicting authentication and client-certificate settings.

    One problem per conflicting key, each naming the method it conflicts with;
    secrets are never part of a message.
    """
    if config.user and not config.password and not table.failed("password"):
        table.report("password", "missing: user is set, so a password is needed")
    if config.password and not config.user and not table.failed("user"):
        table.report("user", "missing: password is set, so a user is needed")
    if config.tls_cert_file and not config.tls_key_file and not table.failed("tls_key_file"):
        table.report("tls_key_file", "missing: tls_cert_file is set, so its key file is needed")
    if config.tls_key_file and not config.tls_cert_file and not table.failed("tls_cert_file"):
        table.report("tls_cert_file", "missing: tls_key_file is set, so its certificate is needed")
    if config.tls_cert_file and config.tls_key_file:
        problem = tls_pair_problem(config.tls_cert_file, config.tls_key_file)
        if problem is not None:
            table.report("tls_cert_file", problem)
    methods = [
        (table.key_path(key), name)
        for key, name, present in (
            ("user", "user/password", config.user or config.password),
            ("token", "token", config.token),
            ("nkey_seed_file", "nkey_seed_file", config.nkey_seed_file),
            ("creds_file", "creds_file", config.creds_file),
        )
        if present
    ]
    if urls_with_credentials:
        # One method however many URLs carry it (every server of a cluster).
        methods.append((urls_with_credentials[0], "the credentials in the URL"))
    for path, _ in methods[1:]:
        table.context.report(
            path,
            f"conflicts with {methods[0][1]}: set one authentication method"
            " (user/password, token, nkey_seed_file, creds_file or credentials in the URL)",
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
