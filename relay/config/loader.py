"""Load a TOML configuration file into :class:`relay.config.model.RelayConfig`.

The file is parsed with tomlkit, ``${VAR}`` / ``${VAR:-default}`` references in
string values are replaced from the environment, and every key is checked
against the model. Every problem of the file is collected before one
:class:`~relay.config.errors.ConfigError` is raised, so one run shows them all.
The keys, their defaults and the checks are listed in ``docs/configuration.md``.

Which venue ids exist, and which data types each supports, is passed in by the
composition root (``venues``), so this layer does not import any venue code.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Final

import tomlkit
from tomlkit.exceptions import ParseError, TOMLKitError

from relay.config.checks import (
    canonical_problem,
    interval_problem,
    listen_problem,
    non_empty_problem,
    rest_url_problem,
    stream_name_problem,
    venue_problem,
    ws_url_problem,
)
from relay.config.cluster import ClusterConfig, read_cluster
from relay.config.control import ControlConfig, StreamRequest, read_control
from relay.config.errors import ConfigError, ConfigProblem
from relay.config.model import (
    ConsumerStateConfig,
    HttpConfig,
    LoggingConfig,
    NatsConfig,
    PipelineConfig,
    RelayConfig,
    SerializationConfig,
    StaleAfterConfig,
    SubscriptionConfig,
    VenueConfig,
)
from relay.config.nats_section import MAX_STREAM_REPLICAS, nats_config
from relay.config.reader import Context, Table
from relay.config.recording import RecordingConfig, read_recording
from relay.domain.model import DataType, subject_token

__all__ = [
    "LOG_LEVELS",
    "ConfigError",
    "ConfigProblem",
    "load_config",
    "parse_config",
    "read_stream_request",
]

LOG_LEVELS: Final = ("DEBUG", "INFO", "WARNING", "ERROR")
"""Accepted ``[logging] level`` values (case-insensitive in the file, stored upper-case)."""

# Defaults, read from instances: a slotted dataclass keeps no class-level defaults.
_SERIALIZATION: Final = SerializationConfig()
_HTTP: Final = HttpConfig()
_PIPELINE: Final = PipelineConfig()
_LOGGING: Final = LoggingConfig()
_VENUE: Final = VenueConfig(id="", subscriptions=())
_SUBSCRIPTION: Final = SubscriptionConfig(instrument="", canonical_symbol="", data_types=())


def load_config(
    path: Path,
    *,
    venues: Mapping[str, frozenset[DataType]],
    environ: Mapping[str, str] | None = None,
) -> RelayConfig:
    """Read, substitute and validate the UTF-8 TOML file at ``path``.

    Args:
        path: the configuration file (``config/relay.toml``).
        venues: every registered venue id mapped to the data types it
            supports (``{"binance-spot": frozenset({DataType.TRADE, ...})}``).
        environ: where ``${VAR}`` values come from; ``os.environ`` when None.

    Returns:
        The frozen configuration.

    Raises:
        ConfigError: the file cannot be read or decoded, is not valid TOML, or
            has any problem; ``problems`` lists all of them.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        problem = ConfigProblem("", f"cannot read the file: {error}")
        raise ConfigError(str(path), (problem,)) from None
    return parse_config(text, source=str(path), venues=venues, environ=environ)


def parse_config(
    text: str,
    *,
    source: str,
    venues: Mapping[str, frozenset[DataType]],
    environ: Mapping[str, str] | None = None,
) -> RelayConfig:
    """Parse, substitute and validate configuration TOML text.

    Args:
        text: the TOML document.
        source: where the text came from, named in the error (a file path).
        venues: every registered venue id mapped to the data types it supports.
        environ: where ``${VAR}`` values come from; ``os.environ`` when None.

    Returns:
        The frozen configuration: tuples for arrays, enums for choices,
        floats for durations (seconds).

    Raises:
        ConfigError: the text is not valid TOML (one problem naming line and
            column) or breaks any rule of ``docs/configuration.md`` (every
            problem, each with its key path).
    """
    try:
        document = tomlkit.parse(text).unwrap()
    except ParseError as error:
        raise ConfigError(source, (ConfigProblem("", _syntax_message(error)),)) from None
    except TOMLKitError as error:
        raise ConfigError(source, (ConfigProblem("", f"invalid TOML: {error}"),)) from None
    context = Context(os.environ if environ is None else environ)
    config = _relay_config(Table(context, document, "", RelayConfig), venues)
    if context.problems:
        raise ConfigError(source, tuple(context.problems))
    return config


def _syntax_message(error: ParseError) -> str:
    reason = str(error)
    suffix = f" at line {error.line} col {error.col}"
    reason = reason.removesuffix(suffix)
    # tomlkit counts columns from 0; editors count them from 1.
    return f"TOML syntax error at line {error.line}, column {error.col + 1}: {reason}"


def _relay_config(root: Table, venues: Mapping[str, frozenset[DataType]]) -> RelayConfig:
    nats = nats_config(root.table("nats", NatsConfig))
    venue_configs = _venues(root, venues)
    serialization = root.table("serialization", SerializationConfig)
    http = root.table("http", HttpConfig)
    pipeline = root.table("pipeline", PipelineConfig)
    logging = root.table("logging", LoggingConfig)
    recording = read_recording(root.table("recording", RecordingConfig))
    return RelayConfig(
        nats=nats,
        venues=venue_configs,
        serialization=SerializationConfig(
            format=serialization.choice("format", _SERIALIZATION.format)
        ),
        http=HttpConfig(
            listen=http.string("listen", _HTTP.listen, listen_problem),
            enabled=http.boolean("enabled", _HTTP.enabled),
            max_connections=http.integer("max_connections", _HTTP.max_connections, minimum=1),
            max_header_bytes=http.integer("max_header_bytes", _HTTP.max_header_bytes, minimum=1024),
            header_timeout_s=http.seconds(
                "header_timeout_s", _HTTP.header_timeout_s, positive=True
            ),
            keep_alive_timeout_s=http.integer(
                "keep_alive_timeout_s", _HTTP.keep_alive_timeout_s, minimum=1
            ),
            backlog=http.integer("backlog", _HTTP.backlog, minimum=1),
        ),
        pipeline=PipelineConfig(
            max_queue_events=pipeline.integer(
                "max_queue_events", _PIPELINE.max_queue_events, minimum=1
            ),
            publish_retry_delays_s=pipeline.seconds_list(
                "publish_retry_delays_s", _PIPELINE.publish_retry_delays_s
            ),
            shutdown_timeout_s=pipeline.seconds(
                "shutdown_timeout_s", _PIPELINE.shutdown_timeout_s, positive=True
            ),
            outage_buffer_max_events=pipeline.integer(
                "outage_buffer_max_events", _PIPELINE.outage_buffer_max_events, minimum=1
            ),
            outage_buffer_max_bytes=pipeline.integer(
                "outage_buffer_max_bytes", _PIPELINE.outage_buffer_max_bytes, minimum=1024
            ),
            outage_full_policy=pipeline.choice("outage_full_policy", _PIPELINE.outage_full_policy),
        ),
        logging=LoggingConfig(
            level=logging.one_of("level", _LOGGING.level, LOG_LEVELS, fold_case=True),
            format=logging.choice("format", _LOGGING.format),
        ),
        recording=recording,
        consumer_state=_consumer_state(root.table("consumer_state", ConsumerStateConfig)),
        cluster=read_cluster(root.table("cluster", ClusterConfig)),
        control=read_control(root.table("control", ControlConfig)),
    )


def _venues(
    root: Table, known_venues: Mapping[str, frozenset[DataType]]
) -> tuple[VenueConfig, ...]:
    venue_ids: dict[str, str] = {}
    result: list[VenueConfig] = []
    for table in root.tables("venues", VenueConfig, required=True):
        venue_id = table.string("id", check=lambda text: venue_problem(text, known_venues))
        supported = None if table.failed("id") else known_venues[venue_id]
        if supported is not None:
            first = venue_ids.setdefault(venue_id, table.key_path("id"))
            if first != table.key_path("id"):
                table.report("id", f"duplicate venue id {venue_id!r} (first at {first})")
        subscriptions = _subscriptions(table, venue_id, supported)
        reconnect_base_s = table.seconds("reconnect_base_s", _VENUE.reconnect_base_s, positive=True)
        reconnect_cap_s = table.seconds("reconnect_cap_s", _VENUE.reconnect_cap_s, positive=True)
        if (
            reconnect_cap_s < reconnect_base_s
            and not table.failed("reconnect_base_s")
            and not table.failed("reconnect_cap_s")
        ):
            table.report(
                "reconnect_cap_s",
                f"must be at least reconnect_base_s ({reconnect_base_s:g})"
                f", got {reconnect_cap_s:g}",
            )
        result.append(
            VenueConfig(
                id=venue_id,
                subscriptions=subscriptions,
                ws_url=table.string("ws_url", _VENUE.ws_url, ws_url_problem),
                rest_url=table.string("rest_url", _VENUE.rest_url, rest_url_problem),
                enabled=table.boolean("enabled", _VENUE.enabled),
                reconnect_base_s=reconnect_base_s,
                reconnect_cap_s=reconnect_cap_s,
                snapshot_timeout_s=table.seconds(
                    "snapshot_timeout_s", _VENUE.snapshot_timeout_s, positive=True
                ),
                connect_timeout_s=table.seconds(
                    "connect_timeout_s", _VENUE.connect_timeout_s, positive=True
                ),
                stable_after_s=table.seconds(
                    "stable_after_s", _VENUE.stable_after_s, positive=True
                ),
                ping_interval_s=table.seconds(
                    "ping_interval_s", _VENUE.ping_interval_s, positive=True
                ),
                pong_timeout_s=table.seconds(
                    "pong_timeout_s", _VENUE.pong_timeout_s, positive=True
                ),
                max_frame_bytes=table.integer(
                    "max_frame_bytes", _VENUE.max_frame_bytes, minimum=1024
                ),
                stale_after_s=_stale_after(table.table("stale_after_s", StaleAfterConfig)),
                breaker_failure_threshold=table.integer(
                    "breaker_failure_threshold", _VENUE.breaker_failure_threshold, minimum=1
                ),
                breaker_reset_timeout_s=table.seconds(
                    "breaker_reset_timeout_s", _VENUE.breaker_reset_timeout_s, positive=True
                ),
                breaker_success_threshold=table.integer(
                    "breaker_success_threshold", _VENUE.breaker_success_threshold, minimum=1
                ),
                rest_weight_per_minute=table.integer(
                    "rest_weight_per_minute", _VENUE.rest_weight_per_minute, minimum=0
                ),
                rotate_after_s=table.seconds(
                    "rotate_after_s", _VENUE.rotate_after_s, positive=False
                ),
                ws_compression=table.boolean("ws_compression", _VENUE.ws_compression),
                rest_poll_interval_s=table.seconds(
                    "rest_poll_interval_s", _VENUE.rest_poll_interval_s, positive=True
                ),
                rest_fallback_after_s=table.seconds(
                    "rest_fallback_after_s", _VENUE.rest_fallback_after_s, positive=False
                ),
                rest_fallback_interval_s=table.seconds(
                    "rest_fallback_interval_s", _VENUE.rest_fallback_interval_s, positive=True
                ),
            )
        )
    return tuple(result)


def _stale_after(table: Table) -> StaleAfterConfig:
    default = StaleAfterConfig()
    return StaleAfterConfig(
        **{
            data_type.value: table.seconds(
                data_type.value, default.for_type(data_type), positive=False
            )
            for data_type in DataType
        }
    )


def _subscriptions(
    venue: Table, venue_id: str, supported: frozenset[DataType] | None
) -> tuple[SubscriptionConfig, ...]:
    instruments: dict[str, str] = {}
    tokens: dict[str, str] = {}
    result: list[SubscriptionConfig] = []
    for table in venue.tables("subscriptions", SubscriptionConfig, required=True):
        instrument = table.string("instrument", check=non_empty_problem)
        if not table.failed("instrument"):
            first = instruments.setdefault(instrument, table.key_path("instrument"))
            if first != table.key_path("instrument"):
                table.report(
                    "instrument",
                    f"duplicate instrument {instrument!r} in venue {venue_id!r} (first at {first})",
                )
        canonical_symbol = table.string("canonical_symbol", check=canonical_problem)
        if not table.failed("canonical_symbol"):
            token = subject_token(canonical_symbol)
            first = tokens.setdefault(token, table.key_path("canonical_symbol"))
            if first != table.key_path("canonical_symbol"):
                table.report(
                    "canonical_symbol",
                    f"subject token {token!r} of {canonical_symbol!r} is already used"
                    f" in venue {venue_id!r} (first at {first})",
                )
        result.append(
            SubscriptionConfig(
                instrument=instrument,
                canonical_symbol=canonical_symbol,
                data_types=_data_types(table, venue_id, supported),
                depth=table.integer("depth", _SUBSCRIPTION.depth, minimum=0),
                candle_interval=table.string(
                    "candle_interval", _SUBSCRIPTION.candle_interval, interval_problem
                ),
            )
        )
    return tuple(result)


def _data_types(
    table: Table, venue_id: str, supported: frozenset[DataType] | None
) -> tuple[DataType, ...]:
    result: list[DataType] = []
    for path, word in table.strings("data_types", "data type"):
        try:
            data_type = DataType(word)
        except ValueError:
            known = ", ".join(member.value for member in DataType)
            table.context.report(path, f"unknown data type {word!r}; known: {known}")
            continue
        if supported is not None and data_type not in supported:
            offered = ", ".join(member.value for member in DataType if member in supported)
            table.context.report(
                path,
                f"data type {word!r} is not supported by venue {venue_id!r} (supported: {offered})",
            )
        elif data_type in result:
            table.context.report(path, f"duplicate data type {word!r}")
        else:
            result.append(data_type)
    return tuple(result)


_CONSUMER_STATE: Final = ConsumerStateConfig()


def _consumer_state(table: Table) -> ConsumerStateConfig:
    """``[consumer_state]`` (docs/configuration.md)."""
    d = _CONSUMER_STATE
    return ConsumerStateConfig(
        enabled=table.boolean("enabled", d.enabled),
        latest_bucket=table.string("latest_bucket", d.latest_bucket, stream_name_problem),
        books_bucket=table.string("books_bucket", d.books_bucket, stream_name_problem),
        status_bucket=table.string("status_bucket", d.status_bucket, stream_name_problem),
        latest_interval_s=table.seconds("latest_interval_s", d.latest_interval_s, positive=True),
        book_snapshot_interval_s=table.seconds(
            "book_snapshot_interval_s", d.book_snapshot_interval_s, positive=True
        ),
        max_bytes=table.integer("max_bytes", d.max_bytes, minimum=1024),
        storage=table.choice("storage", d.storage),
        manage=table.choice("manage", d.manage),
        replicas=table.integer("replicas", d.replicas, minimum=1, maximum=MAX_STREAM_REPLICAS),
    )


class _LiteralContext(Context):
    """A context that substitutes nothing: API input is taken as written, never from the
    environment (``${RELAY_CONTROL_TOKEN}`` in a request stays those characters)."""

    def substitute(self, text: str, path: str) -> str | None:
        return text


def read_stream_request(
    body: Mapping[str, object], *, venues: Mapping[str, frozenset[DataType]]
) -> tuple[StreamRequest, tuple[ConfigProblem, ...]]:
    """Check a runtime stream request (``POST /api/v1/streams``) by the config file's rules.

    Args:
        body: the decoded JSON object: ``{"venue": "binance-usdm", "instrument":
            "BTCUSDT", "canonical_symbol": "BTC/USDT", "data_types": ["trade"],
            "depth": 20, "candle_interval": "1m"}`` (``depth`` and
            ``candle_interval`` optional).
        venues: every registered venue id mapped to the data types it supports.

    Returns:
        The request and every problem found (paths as ``data_types[0]``); the
        request is meaningful only when there is no problem. Nothing is read
        from the environment.
    """
    context = _LiteralContext({})
    table = Table(context, body, "", StreamRequest)
    venue_id = table.string("venue", check=lambda text: venue_problem(text, venues))
    supported = None if table.failed("venue") else venues[venue_id]
    request = StreamRequest(
        venue=venue_id,
        instrument=table.string("instrument", check=non_empty_problem),
        canonical_symbol=table.string("canonical_symbol", check=canonical_problem),
        data_types=_data_types(table, venue_id, supported),
        depth=table.integer("depth", _SUBSCRIPTION.depth, minimum=0, maximum=100_000),
        candle_interval=table.string(
            "candle_interval", _SUBSCRIPTION.candle_interval, interval_problem
        ),
    )
    return request, tuple(context.problems)
