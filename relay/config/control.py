"""The ``[control]`` section: the runtime control plane (``/api/v1``) and who may use it.

Kept in its own module (model and reader) so the section is added to the
loader by one call; ``docs/configuration.md`` and ``docs/control.md`` list the
keys and checks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from relay.config.checks import stream_name_problem
from relay.domain.model import DataType

if TYPE_CHECKING:
    from relay.config.reader import Table

MIN_TOKEN_CHARS: Final = 16
"""Least characters of a control token (a guessable token is no protection)."""


@dataclass(frozen=True, slots=True)
class ControlToken:
    """One bearer token of the control API.

    Attributes:
        name: who uses it, written in the log line of every change it makes
            (``"ops"``; ``"token-1"``, ``"token-2"``... for tokens given as plain strings).
        token: the secret (at least :data:`MIN_TOKEN_CHARS` characters; never logged).
        read_only: may read (``GET``) but not change anything (403).
    """

    name: str
    token: str = field(repr=False)
    read_only: bool = False


@dataclass(frozen=True, slots=True)
class ControlConfig:
    """``[control]``: the runtime control API under ``/api/v1`` (docs/control.md).

    Attributes:
        enabled: serve ``/api/v1`` (and the dashboard ``/ui``); false removes both
            and runtime changes kept in the bucket are not loaded.
        tokens: the accepted bearer tokens; none: every change is refused (401).
        read_requires_token: GETs need a token too (default: only changes do).
        bucket: the key-value bucket keeping the desired streams, key
            ``<[cluster] group>.streams``.
        replicas: replicas of the bucket when the relay creates it (3 on a
            cluster of three or more servers; 1 to 5).
        max_body_bytes: largest request body accepted (413 above it).
        events_interval_s: seconds between two snapshots of ``GET /api/v1/events``.
    """

    enabled: bool = True
    tokens: tuple[ControlToken, ...] = ()
    read_requires_token: bool = False
    bucket: str = "relay-control"
    replicas: int = 1
    max_body_bytes: int = 65_536
    events_interval_s: float = 1.0


_DEFAULT: Final = ControlConfig()


@dataclass(frozen=True, slots=True)
class StreamRequest:
    """A runtime request to subscribe one instrument's data types (``POST /api/v1/streams``).

    Checked by :func:`relay.config.loader.read_stream_request` with the rules of a
    ``[[venues.subscriptions]]`` table.

    Attributes:
        venue: a registered venue id.
        instrument: the venue's instrument id (``"BTCUSDT"``).
        canonical_symbol: the relay-wide name (``"BTC/USDT"``).
        data_types: the data types to add, each supported by the venue.
        depth: published book depth (0 = the venue's full book).
        candle_interval: the candle interval (``"1m"``).
    """

    venue: str
    instrument: str
    canonical_symbol: str
    data_types: tuple[DataType, ...]
    depth: int = 0
    candle_interval: str = "1m"


def _token_problem(text: str) -> str | None:
    if len(text) < MIN_TOKEN_CHARS:
        return f"must be at least {MIN_TOKEN_CHARS} characters, got {len(text)}"
    if any(character.isspace() for character in text):
        return "must not contain white space"
    return None


def _name_problem(text: str) -> str | None:
    if not text or len(text) > 64 or any(c.isspace() or not c.isprintable() for c in text):
        return f"must be 1 to 64 printable characters without spaces, got {text!r}"
    return None


def _tokens(table: Table) -> tuple[ControlToken, ...]:
    """``tokens``: an array of strings or of ``{name, token, read_only}`` tables."""
    value = table.data.get("tokens")
    if value is None:
        return ()
    if not isinstance(value, list):
        table.report("tokens", "expected an array of strings or of {name, token} tables")
        return ()
    result: list[ControlToken] = []
    names: dict[str, str] = {}
    secrets: dict[str, str] = {}
    for index, item in enumerate(value):
        path = f"{table.key_path('tokens')}[{index}]"
        if isinstance(item, str):
            text = table.context.substitute(item, path)
            name = f"token-{index + 1}"
            read_only = False
            name_path = path
            token_path = path
        elif isinstance(item, dict):
            entry = type(table)(table.context, item, path, ControlToken)
            name = entry.string("name", check=_name_problem)
            text = entry.string("token", secret=True)
            read_only = entry.boolean("read_only", False)
            name_path = entry.key_path("name")
            token_path = entry.key_path("token")
            if entry.failed("token"):
                text = None
        else:
            table.context.report(path, "expected a string or a {name, token} table")
            continue
        if text is None:
            continue
        problem = _token_problem(text)
        if problem is not None:
            table.context.report(token_path, problem)
            continue
        first = names.setdefault(name, name_path)
        if first != name_path:
            table.context.report(name_path, f"duplicate token name {name!r} (first at {first})")
            continue
        first = secrets.setdefault(text, token_path)
        if first != token_path:
            table.context.report(token_path, f"the same token as {first}")
            continue
        result.append(ControlToken(name, text, read_only))
    return tuple(result)


def read_control(table: Table) -> ControlConfig:
    """The ``[control]`` table as a :class:`ControlConfig`; problems go to the loader.

    Args:
        table: the loader's view of ``[control]`` (empty when absent).

    Returns:
        The section; a key with a problem keeps its default (the loader raises
        :class:`~relay.config.errors.ConfigError` listing every problem).
    """
    d = _DEFAULT
    return ControlConfig(
        enabled=table.boolean("enabled", d.enabled),
        tokens=_tokens(table),
        read_requires_token=table.boolean("read_requires_token", d.read_requires_token),
        bucket=table.string("bucket", d.bucket, stream_name_problem),
        replicas=table.integer("replicas", d.replicas, minimum=1, maximum=5),
        max_body_bytes=table.integer(
            "max_body_bytes", d.max_body_bytes, minimum=1024, maximum=16 * 1024 * 1024
        ),
        events_interval_s=table.seconds("events_interval_s", d.events_interval_s, positive=True),
    )
