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

import difflib
import math
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import fields
from pathlib import Path
from typing import TYPE_CHECKING, Final, TypeVar

import tomlkit
from tomlkit.exceptions import ParseError, TOMLKitError

from relay.config.errors import ConfigError, ConfigProblem
from relay.config.model import (
    DEFAULT_MEMORY_MAX_BYTES,
    AckMode,
    ConsumerStateConfig,
    DiscardPolicy,
    HttpConfig,
    LogFormat,
    LoggingConfig,
    NatsConfig,
    OutagePolicy,
    PipelineConfig,
    RelayConfig,
    SerializationConfig,
    SerializationFormat,
    StaleAfterConfig,
    StorageType,
    StreamConfig,
    StreamManagement,
    SubscriptionConfig,
    VenueConfig,
)
from relay.domain.errors import InvalidValueError
from relay.domain.model import DataType, subject_token

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

__all__ = [
    "LOG_LEVELS",
    "ConfigError",
    "ConfigProblem",
    "load_config",
    "parse_config",
]

LOG_LEVELS: Final = ("DEBUG", "INFO", "WARNING", "ERROR")
"""Accepted ``[logging] level`` values (case-insensitive in the file, stored upper-case)."""


NATS_URL_SCHEMES: Final = ("nats://", "tls://", "ws://", "wss://")
WS_URL_SCHEMES: Final = ("ws://", "wss://")
REST_URL_SCHEMES: Final = ("http://", "https://")

MAX_STREAM_REPLICAS: Final = 5
"""JetStream's upper limit of stream replicas."""

MAX_PING_INTERVAL_S: Final = 60.0
"""Upper bound of ``[nats] ping_interval_s``: a hung server must be noticed within minutes."""

MAX_OUTSTANDING_PINGS: Final = 10
"""Upper bound of ``[nats] max_outstanding_pings``."""

_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_INDEX = re.compile(r"\[\d+\]")
_PORT = re.compile(r"[0-9]+")
_CANDLE_INTERVAL = re.compile(r"[1-9][0-9]*[smhdwM]")
_STREAM_NAME_FORBIDDEN = frozenset(".*>/\\")
_SUBJECT_TOKEN_FORBIDDEN = frozenset(".*>")

# Defaults, read from instances: a slotted dataclass keeps no class-level defaults.
_SERIALIZATION: Final = SerializationConfig()
_HTTP: Final = HttpConfig()
_PIPELINE: Final = PipelineConfig()
_LOGGING: Final = LoggingConfig()
_STREAM: Final = StreamConfig(name="", subjects=())
_VENUE: Final = VenueConfig(id="", subscriptions=())
_SUBSCRIPTION: Final = SubscriptionConfig(instrument="", canonical_symbol="", data_types=())

_E = TypeVar(
    "_E",
    SerializationFormat,
    StorageType,
    OutagePolicy,
    DiscardPolicy,
    StreamManagement,
    AckMode,
    LogFormat,
)

StringCheck = Callable[[str], str | None]
"""Checks one string value: returns a problem message, or None when it is fine."""


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
    context = _Context(os.environ if environ is None else environ)
    config = _relay_config(_Table(context, document, "", RelayConfig), venues)
    if context.problems:
        raise ConfigError(source, tuple(context.problems))
    return config


def _syntax_message(error: ParseError) -> str:
    reason = str(error)
    suffix = f" at line {error.line} col {error.col}"
    reason = reason.removesuffix(suffix)
    # tomlkit counts columns from 0; editors count them from 1.
    return f"TOML syntax error at line {error.line}, column {error.col + 1}: {reason}"


class _Context:
    """The environment for substitution and the problems found so far."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.environ = environ
        self.problems: list[ConfigProblem] = []
        self.failed_paths: set[str] = set()

    def report(self, path: str, message: str) -> None:
        self.problems.append(ConfigProblem(path, message))
        self.failed_paths.add(path)

    def substitute(self, text: str, path: str) -> str | None:
        """``text`` with every ``${VAR}`` replaced; None (reported) if one cannot be."""
        unset: list[str] = []

        def replace(match: re.Match[str]) -> str:
            name, default = match.group(1), match.group(2)
            value = self.environ.get(name)
            if default is not None and not value:
                return default
            if value is None:
                unset.append(name)
                return ""
            return value

        result = _VARIABLE.sub(replace, text)
        for name in unset:
            self.report(
                path, f"environment variable {name} is not set and ${{{name}}} has no default"
            )
        if "${" in _VARIABLE.sub("", text):
            self.report(path, "malformed variable reference: write ${NAME} or ${NAME:-default}")
            return None
        return None if unset else result


class _Table:
    """One TOML table being read: typed getters that report under the table's path.

    Each getter returns the value, or the default (a placeholder for a
    required key) after reporting a problem; the caller raises at the end.
    """

    def __init__(
        self,
        context: _Context,
        data: Mapping[str, object],
        path: str,
        model: type[DataclassInstance],
    ) -> None:
        self.context = context
        self.data = data
        self.path = path
        known = tuple(field.name for field in fields(model))
        for key in data:
            if key not in known:
                close = difflib.get_close_matches(key, known, n=1)
                hint = f"did you mean {close[0]!r}?" if close else f"known keys: {', '.join(known)}"
                context.report(self.key_path(key), f"unknown key ({hint})")

    def key_path(self, key: str) -> str:
        """``venues[0]`` + ``id`` -> ``venues[0].id``; odd keys are quoted as in TOML."""
        if not _BARE_KEY.fullmatch(key):
            key = '"' + key.replace("\\", "\\\\").replace('"', '\\"') + '"'
        return f"{self.path}.{key}" if self.path else key

    def report(self, key: str, message: str) -> None:
        self.context.report(self.key_path(key), message)

    def failed(self, key: str) -> bool:
        """Whether a problem was reported for this key (so later checks skip it)."""
        return self.key_path(key) in self.context.failed_paths

    def string(self, key: str, default: str | None = None, check: StringCheck | None = None) -> str:
        """A string, substituted; ``default`` None means the key is required."""
        fallback = "" if default is None else default
        value = self.data.get(key)
        if value is None:
            if default is None:
                self.report(key, "missing required key")
            return fallback
        path = self.key_path(key)
        text = self._string_value(value, path)
        if text is None:
            return fallback
        if check is not None:
            message = check(text)
            if message is not None:
                self.context.report(path, message)
                return fallback
        return text

    def strings(
        self,
        key: str,
        noun: str,
        default: tuple[str, ...] | None = None,
        check: StringCheck | None = None,
    ) -> list[tuple[str, str]]:
        """A non-empty array of strings, substituted, as (path, value) pairs.

        Elements with problems (wrong type, unset variable, refused by
        ``check``) are reported and left out; ``default`` None means the key
        is required.
        """
        value = self.data.get(key)
        if value is None:
            if default is None:
                self.report(key, "missing required key")
                return []
            return [(f"{self.key_path(key)}[{i}]", item) for i, item in enumerate(default)]
        if not isinstance(value, list):
            self.report(key, f"expected an array of strings, got {_describe(value)}")
            return []
        if not value:
            self.report(key, f"must list at least one {noun}")
            return []
        pairs: list[tuple[str, str]] = []
        for index, item in enumerate(value):
            path = f"{self.key_path(key)}[{index}]"
            text = self._string_value(item, path)
            message = None if text is None or check is None else check(text)
            if message is not None:
                self.context.report(path, message)
            elif text is not None:
                pairs.append((path, text))
        return pairs

    def _string_value(self, value: object, path: str) -> str | None:
        if not isinstance(value, str):
            self.context.report(path, f"expected a string, got {_describe(value)}")
            return None
        return self.context.substitute(value, path)

    def one_of(
        self, key: str, default: str, choices: tuple[str, ...], *, fold_case: bool = False
    ) -> str:
        """A string that must be one of ``choices`` (upper-cased first if ``fold_case``)."""

        def check(text: str) -> str | None:
            candidate = text.upper() if fold_case else text
            if candidate in choices:
                return None
            return f"must be one of {', '.join(map(repr, choices))}, got {text!r}"

        text = self.string(key, default, check)
        return text.upper() if fold_case else text

    def choice(self, key: str, default: _E) -> _E:
        """An enum member named by its value (``"file"`` -> ``StorageType.FILE``)."""
        enum_type = type(default)
        values = tuple(str(member.value) for member in enum_type)
        return enum_type(self.one_of(key, str(default.value), values))

    def boolean(self, key: str, default: bool) -> bool:
        value = self.data.get(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            self.report(key, f"expected a boolean (true or false), got {_describe(value)}")
            return default
        return value

    def integer(self, key: str, default: int, *, minimum: int, maximum: int | None = None) -> int:
        value = self.data.get(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            self.report(key, f"expected an integer, got {_describe(value)}")
            return default
        if value < minimum or (maximum is not None and value > maximum):
            limit = f"at least {minimum}" if maximum is None else f"{minimum} to {maximum}"
            self.report(key, f"must be {limit}, got {value}")
            return default
        return value

    def seconds(self, key: str, default: float, *, positive: bool) -> float:
        """A duration in seconds: an integer or float, > 0 if ``positive`` else >= 0."""
        value = self.data.get(key)
        if value is None:
            return default
        seconds = _as_seconds(value, positive=positive)
        if isinstance(seconds, str):
            self.report(key, seconds)
            return default
        return seconds

    def seconds_list(self, key: str, default: tuple[float, ...]) -> tuple[float, ...]:
        """An array (possibly empty) of durations >= 0 in seconds."""
        value = self.data.get(key)
        if value is None:
            return default
        if not isinstance(value, list):
            self.report(key, f"expected an array of numbers (seconds), got {_describe(value)}")
            return default
        result: list[float] = []
        for index, item in enumerate(value):
            seconds = _as_seconds(item, positive=False)
            if isinstance(seconds, str):
                self.context.report(f"{self.key_path(key)}[{index}]", seconds)
            else:
                result.append(seconds)
        return tuple(result)

    def table(self, key: str, model: type[DataclassInstance]) -> _Table:
        """A sub-table; an absent one reads as empty, so every default applies."""
        value = self.data.get(key)
        path = self.key_path(key)
        if value is None:
            return _Table(self.context, {}, path, model)
        if not isinstance(value, dict):
            self.report(key, f"expected a table [{_INDEX.sub('', path)}], got {_describe(value)}")
            return _Table(self.context, {}, path, model)
        return _Table(self.context, value, path, model)

    def tables(self, key: str, model: type[DataclassInstance], *, required: bool) -> list[_Table]:
        """An array of tables (``[[venues]]``); ``required`` means at least one."""
        value = self.data.get(key)
        path = self.key_path(key)
        header = f"[[{_INDEX.sub('', path)}]]"
        if value is None:
            if required:
                self.report(key, f"missing required key: at least one {header} table is needed")
            return []
        if not isinstance(value, list):
            self.report(key, f"expected an array of tables {header}, got {_describe(value)}")
            return []
        if not value and required:
            self.report(key, f"must list at least one {header} table")
        result: list[_Table] = []
        for index, item in enumerate(value):
            item_path = f"{path}[{index}]"
            if isinstance(item, dict):
                result.append(_Table(self.context, item, item_path, model))
            else:
                self.context.report(item_path, f"expected a table {header}, got {_describe(item)}")
        return result


def _describe(value: object) -> str:
    if isinstance(value, bool):
        return f"a boolean {'true' if value else 'false'}"
    if isinstance(value, int):
        return f"an integer {value}"
    if isinstance(value, float):
        return f"a float {value}"
    if isinstance(value, str):
        return f"a string {value!r}"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    return f"a {type(value).__name__} {value}"


def _as_seconds(value: object, *, positive: bool) -> float | str:
    """The value as float seconds, or the problem message."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return f"expected a number of seconds, got {_describe(value)}"
    if not math.isfinite(value):
        return f"must be a finite number of seconds, got {value}"
    if positive and value <= 0:
        return f"must be greater than 0 seconds, got {value}"
    if value < 0:
        return f"must be at least 0 seconds, got {value}"
    return float(value)


def _relay_config(root: _Table, venues: Mapping[str, frozenset[DataType]]) -> RelayConfig:
    nats = _nats(root.table("nats", NatsConfig))
    venue_configs = _venues(root, venues)
    serialization = root.table("serialization", SerializationConfig)
    http = root.table("http", HttpConfig)
    pipeline = root.table("pipeline", PipelineConfig)
    logging = root.table("logging", LoggingConfig)
    return RelayConfig(
        nats=nats,
        venues=venue_configs,
        serialization=SerializationConfig(
            format=serialization.choice("format", _SERIALIZATION.format)
        ),
        http=HttpConfig(
            listen=http.string("listen", _HTTP.listen, _listen_problem),
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
        consumer_state=_consumer_state(root.table("consumer_state", ConsumerStateConfig)),
    )


def _nats(table: _Table) -> NatsConfig:
    defaults = NatsConfig()
    urls = table.strings("urls", "URL", defaults.urls, _nats_url_problem)
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
        subject_prefix=table.string("subject_prefix", defaults.subject_prefix, _token_problem),
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


def _ping_interval(table: _Table, default: float) -> float:
    value = table.seconds("ping_interval_s", default, positive=True)
    if value > MAX_PING_INTERVAL_S:
        table.report(
            "ping_interval_s", f"must be at most {MAX_PING_INTERVAL_S:g} seconds, got {value:g}"
        )
        return default
    return value


def _stream(table: _Table) -> StreamConfig:
    name = table.string("name", check=_stream_name_problem)
    subjects = table.strings("subjects", "subject", check=_subject_problem)
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


def _max_bytes(table: _Table, storage: StorageType) -> int:
    default = DEFAULT_MEMORY_MAX_BYTES if storage is StorageType.MEMORY else _STREAM.max_bytes
    return _unlimited_or_positive(table, "max_bytes", default, "bytes")


def _unlimited_or_positive(table: _Table, key: str, default: int, unit: str) -> int:
    value = table.integer(key, default, minimum=-1)
    if value == 0:
        table.report(key, f"must be -1 (unlimited) or a positive number of {unit}, got 0")
        return default
    return value


def _venues(
    root: _Table, known_venues: Mapping[str, frozenset[DataType]]
) -> tuple[VenueConfig, ...]:
    venue_ids: dict[str, str] = {}
    result: list[VenueConfig] = []
    for table in root.tables("venues", VenueConfig, required=True):
        venue_id = table.string("id", check=lambda text: _venue_problem(text, known_venues))
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
                ws_url=table.string("ws_url", _VENUE.ws_url, _ws_url_problem),
                rest_url=table.string("rest_url", _VENUE.rest_url, _rest_url_problem),
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
            )
        )
    return tuple(result)


def _stale_after(table: _Table) -> StaleAfterConfig:
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
    venue: _Table, venue_id: str, supported: frozenset[DataType] | None
) -> tuple[SubscriptionConfig, ...]:
    instruments: dict[str, str] = {}
    tokens: dict[str, str] = {}
    result: list[SubscriptionConfig] = []
    for table in venue.tables("subscriptions", SubscriptionConfig, required=True):
        instrument = table.string("instrument", check=_non_empty_problem)
        if not table.failed("instrument"):
            first = instruments.setdefault(instrument, table.key_path("instrument"))
            if first != table.key_path("instrument"):
                table.report(
                    "instrument",
                    f"duplicate instrument {instrument!r} in venue {venue_id!r} (first at {first})",
                )
        canonical_symbol = table.string("canonical_symbol", check=_canonical_problem)
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
                    "candle_interval", _SUBSCRIPTION.candle_interval, _interval_problem
                ),
            )
        )
    return tuple(result)


def _data_types(
    table: _Table, venue_id: str, supported: frozenset[DataType] | None
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


def _non_empty_problem(text: str) -> str | None:
    return "must not be empty" if not text else None


def _venue_problem(venue_id: str, known_venues: Mapping[str, frozenset[DataType]]) -> str | None:
    if venue_id in known_venues:
        return None
    return f"unknown venue {venue_id!r}; known venues: {', '.join(sorted(known_venues))}"


def _canonical_problem(symbol: str) -> str | None:
    try:
        subject_token(symbol)
    except InvalidValueError as error:
        return f"{symbol!r}: {error.reason}"
    if any(character.isspace() for character in symbol):
        return f"{symbol!r}: must not contain white space (NATS subject syntax)"
    return None


def _token_problem(token: str) -> str | None:
    if not token:
        return "must not be empty"
    if _SUBJECT_TOKEN_FORBIDDEN.intersection(token) or any(c.isspace() for c in token):
        return f"must be one NATS subject token (no '.', '*', '>' or spaces), got {token!r}"
    return None


def _stream_name_problem(name: str) -> str | None:
    if not name:
        return "must not be empty"
    if _STREAM_NAME_FORBIDDEN.intersection(name) or any(c.isspace() for c in name):
        return f"a stream name must not contain '.', '*', '>', '/', '\\' or spaces, got {name!r}"
    return None


def _subject_problem(subject: str) -> str | None:
    if not subject or any(character.isspace() for character in subject):
        return f"a subject must be non-empty without spaces, got {subject!r}"
    return None


def _url_problem(url: str, schemes: tuple[str, ...]) -> str | None:
    scheme = next((prefix for prefix in schemes if url.startswith(prefix)), None)
    if scheme is None:
        allowed = f"{', '.join(schemes[:-1])} or {schemes[-1]}"
        return f"must start with {allowed}, got {url!r}"
    if len(url) == len(scheme) or any(character.isspace() for character in url):
        return f"not a URL: {url!r}"
    return None


def _nats_url_problem(url: str) -> str | None:
    return _url_problem(url, NATS_URL_SCHEMES)


def _ws_url_problem(url: str) -> str | None:
    return None if not url else _url_problem(url, WS_URL_SCHEMES)


def _rest_url_problem(url: str) -> str | None:
    return None if not url else _url_problem(url, REST_URL_SCHEMES)


def _listen_problem(listen: str) -> str | None:
    host, separator, port = listen.rpartition(":")
    if not separator or not host or not _PORT.fullmatch(port):
        return f"must be 'host:port' (like '127.0.0.1:8080'), got {listen!r}"
    if ":" in host and not (host.startswith("[") and host.endswith("]")):
        return f"an IPv6 host must be in brackets (like '[::1]:8080'), got {listen!r}"
    if int(port) > 65535:
        return f"port must be 0 to 65535, got {int(port)}"
    return None


def _interval_problem(interval: str) -> str | None:
    if _CANDLE_INTERVAL.fullmatch(interval):
        return None
    return f"must be a count and a unit s, m, h, d, w or M (like '1m'), got {interval!r}"


_CONSUMER_STATE: Final = ConsumerStateConfig()


def _consumer_state(table: _Table) -> ConsumerStateConfig:
    """``[consumer_state]`` (docs/configuration.md)."""
    d = _CONSUMER_STATE
    return ConsumerStateConfig(
        enabled=table.boolean("enabled", d.enabled),
        latest_bucket=table.string("latest_bucket", d.latest_bucket, _stream_name_problem),
        books_bucket=table.string("books_bucket", d.books_bucket, _stream_name_problem),
        status_bucket=table.string("status_bucket", d.status_bucket, _stream_name_problem),
        latest_interval_s=table.seconds("latest_interval_s", d.latest_interval_s, positive=True),
        book_snapshot_interval_s=table.seconds(
            "book_snapshot_interval_s", d.book_snapshot_interval_s, positive=True
        ),
        max_bytes=table.integer("max_bytes", d.max_bytes, minimum=1024),
        storage=table.choice("storage", d.storage),
        manage=table.choice("manage", d.manage),
    )
