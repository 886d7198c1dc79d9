"""The TOML reader of the configuration: ``${VAR}`` substitution and typed getters.

:class:`Table` reads one TOML table: every getter substitutes ``${VAR}`` /
``${VAR:-default}`` from the environment (:class:`Context`), checks the value's
type and range, and on a problem reports it under the key's path and returns the
default, so the loader collects every problem of a file before raising one
:class:`~relay.config.errors.ConfigError`. Unknown keys are reported with the
closest known key. The sections' rules live in :mod:`relay.config.loader` and
:mod:`relay.config.nats_section`.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import fields
from typing import TYPE_CHECKING, TypeVar

from relay.config.cluster import ReplicaMode
from relay.config.errors import ConfigProblem
from relay.config.model import (
    AckMode,
    DiscardPolicy,
    LogFormat,
    OutagePolicy,
    SerializationFormat,
    StorageType,
    StreamManagement,
)

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

__all__ = ["Context", "StringCheck", "Table"]

_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_INDEX = re.compile(r"\[\d+\]")

_E = TypeVar(
    "_E",
    SerializationFormat,
    StorageType,
    OutagePolicy,
    DiscardPolicy,
    StreamManagement,
    AckMode,
    LogFormat,
    ReplicaMode,
)

StringCheck = Callable[[str], str | None]
"""Checks one string value: returns a problem message, or None when it is fine."""


class Context:
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


class Table:
    """One TOML table being read: typed getters that report under the table's path.

    Each getter returns the value, or the default (a placeholder for a
    required key) after reporting a problem; the caller raises at the end.
    """

    def __init__(
        self,
        context: Context,
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

    def string(
        self,
        key: str,
        default: str | None = None,
        check: StringCheck | None = None,
        *,
        secret: bool = False,
    ) -> str:
        """A string, substituted; ``default`` None means the key is required.

        ``secret``: a password or token; a value of the wrong type is described
        by its type only, never shown.
        """
        fallback = "" if default is None else default
        value = self.data.get(key)
        if value is None:
            if default is None:
                self.report(key, "missing required key")
            return fallback
        path = self.key_path(key)
        text = self._string_value(value, path, secret=secret)
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

    def _string_value(self, value: object, path: str, *, secret: bool = False) -> str | None:
        if not isinstance(value, str):
            shown = _describe(value).split(" ")[:2] if secret else [_describe(value)]
            self.context.report(path, f"expected a string, got {' '.join(shown)}")
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

    def table(self, key: str, model: type[DataclassInstance]) -> Table:
        """A sub-table; an absent one reads as empty, so every default applies."""
        value = self.data.get(key)
        path = self.key_path(key)
        if value is None:
            return Table(self.context, {}, path, model)
        if not isinstance(value, dict):
            self.report(key, f"expected a table [{_INDEX.sub('', path)}], got {_describe(value)}")
            return Table(self.context, {}, path, model)
        return Table(self.context, value, path, model)

    def tables(self, key: str, model: type[DataclassInstance], *, required: bool) -> list[Table]:
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
        result: list[Table] = []
        for index, item in enumerate(value):
            item_path = f"{path}[{index}]"
            if isinstance(item, dict):
                result.append(Table(self.context, item, item_path, model))
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
