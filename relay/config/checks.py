"""Checks of single configuration strings: URLs, listen addresses, names, subject tokens.

Each ``*_problem`` function takes the substituted string and returns the
problem message (shown after the key path), or None when the value is fine;
they are passed to :meth:`relay.config.reader.Table.string` as ``check``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final

from relay.config.secrets import mask_url
from relay.domain.errors import InvalidValueError
from relay.domain.model import DataType, subject_token

NATS_URL_SCHEMES: Final = ("nats://", "tls://", "ws://", "wss://")
WS_URL_SCHEMES: Final = ("ws://", "wss://")
REST_URL_SCHEMES: Final = ("http://", "https://")

_PORT = re.compile(r"[0-9]+")
_CANDLE_INTERVAL = re.compile(r"[1-9][0-9]*[smhdwM]")
_STREAM_NAME_FORBIDDEN = frozenset(".*>/\\")
_SUBJECT_TOKEN_FORBIDDEN = frozenset(".*>")


def non_empty_problem(text: str) -> str | None:
    return "must not be empty" if not text else None


def venue_problem(venue_id: str, known_venues: Mapping[str, frozenset[DataType]]) -> str | None:
    if venue_id in known_venues:
        return None
    return f"unknown venue {venue_id!r}; known venues: {', '.join(sorted(known_venues))}"


def canonical_problem(symbol: str) -> str | None:
    try:
        subject_token(symbol)
    except InvalidValueError as error:
        return f"{symbol!r}: {error.reason}"
    if any(character.isspace() for character in symbol):
        return f"{symbol!r}: must not contain white space (NATS subject syntax)"
    return None


def token_problem(token: str) -> str | None:
    if not token:
        return "must not be empty"
    if _SUBJECT_TOKEN_FORBIDDEN.intersection(token) or any(c.isspace() for c in token):
        return f"must be one NATS subject token (no '.', '*', '>' or spaces), got {token!r}"
    return None


def stream_name_problem(name: str) -> str | None:
    if not name:
        return "must not be empty"
    if _STREAM_NAME_FORBIDDEN.intersection(name) or any(c.isspace() for c in name):
        return f"a stream name must not contain '.', '*', '>', '/', '\\' or spaces, got {name!r}"
    return None


def subject_problem(subject: str) -> str | None:
    if not subject or any(character.isspace() for character in subject):
        return f"a subject must be non-empty without spaces, got {subject!r}"
    return None


def url_problem(url: str, schemes: tuple[str, ...]) -> str | None:
    scheme = next((prefix for prefix in schemes if url.startswith(prefix)), None)
    if scheme is None:
        allowed = f"{', '.join(schemes[:-1])} or {schemes[-1]}"
        return f"must start with {allowed}, got {mask_url(url)!r}"
    if len(url) == len(scheme) or any(character.isspace() for character in url):
        return f"not a URL: {mask_url(url)!r}"
    return None


def nats_url_problem(url: str) -> str | None:
    return url_problem(url, NATS_URL_SCHEMES)


def ws_url_problem(url: str) -> str | None:
    return None if not url else url_problem(url, WS_URL_SCHEMES)


def rest_url_problem(url: str) -> str | None:
    return None if not url else url_problem(url, REST_URL_SCHEMES)


def listen_problem(listen: str) -> str | None:
    host, separator, port = listen.rpartition(":")
    if not separator or not host or not _PORT.fullmatch(port):
        return f"must be 'host:port' (like '127.0.0.1:8080'), got {listen!r}"
    if ":" in host and not (host.startswith("[") and host.endswith("]")):
        return f"an IPv6 host must be in brackets (like '[::1]:8080'), got {listen!r}"
    if int(port) > 65535:
        return f"port must be 0 to 65535, got {int(port)}"
    return None


def interval_problem(interval: str) -> str | None:
    if _CANDLE_INTERVAL.fullmatch(interval):
        return None
    return f"must be a count and a unit s, m, h, d, w or M (like '1m'), got {interval!r}"


def file_problem(path: str) -> str | None:
    """A file named in the config that the relay must read: it exists and can be opened."""
    try:
        with open(path, "rb"):
            return None
    except IsADirectoryError:
        return f"{path!r} is a directory, not a file"
    except OSError as error:
        return f"cannot read the file {path!r}: {error.strerror or error}"
