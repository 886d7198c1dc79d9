"""Checks of single configuration strings: URLs, listen addresses, names, subject tokens.

Each ``*_problem`` function takes the substituted string and returns the
problem message (shown after the key path), or None when the value is fine;
they are passed to :meth:`relay.config.reader.Table.string` as ``check``.
"""

from __future__ import annotations

import re
import ssl
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


def _name_problem(name: str, forbidden: frozenset[str], rule: str) -> str | None:
    """``None`` for a non-empty ``name`` free of ``forbidden`` characters and white
    space, else the problem: ``"must not be empty"`` or ``"<rule>, got '<name>'"``."""
    if not name:
        return "must not be empty"
    if forbidden.intersection(name) or any(c.isspace() for c in name):
        return f"{rule}, got {name!r}"
    return None


def token_problem(token: str) -> str | None:
    """The problem with ``token`` as one NATS subject token, or ``None``."""
    return _name_problem(
        token,
        _SUBJECT_TOKEN_FORBIDDEN,
        "must be one NATS subject token (no '.', '*', '>' or spaces)",
    )


def stream_name_problem(name: str) -> str | None:
    """The problem with ``name`` as a JetStream stream name, or ``None``."""
    return _name_problem(
        name,
        _STREAM_NAME_FORBIDDEN,
        "a stream name must not contain '.', '*', '>', '/', '\\' or spaces",
    )


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


def _read_text(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8", errors="replace") as file:
            return file.read()
    except OSError:
        return None


def nkey_seed_file_problem(path: str) -> str | None:
    """``nkey_seed_file``: readable, and its first non-empty line is a user seed (``SU...``).

    The seed itself is never part of the message.
    """
    problem = file_problem(path)
    if problem is not None:
        return problem
    lines = [line.strip() for line in (_read_text(path) or "").splitlines() if line.strip()]
    if not lines or not lines[0].startswith("SU"):
        return f"{path!r} does not hold an nkey user seed (a line starting with 'SU')"
    return None


CREDS_MARKERS: Final = ("-----BEGIN NATS USER JWT-----", "-----BEGIN USER NKEY SEED-----")
"""The two sections a ``.creds`` file has (as ``nsc`` writes it and nats-py reads it)."""


def creds_file_problem(path: str) -> str | None:
    """``creds_file``: readable, with a user JWT section and a user seed section."""
    problem = file_problem(path)
    if problem is not None:
        return problem
    text = _read_text(path) or ""
    missing = [marker for marker in CREDS_MARKERS if marker not in text]
    if missing:
        return f"{path!r} is not a NATS credentials file (no {' and no '.join(missing)})"
    return None


def tls_ca_file_problem(path: str) -> str | None:
    """``tls_ca_file``: readable, and PEM certificates the TLS library accepts as CAs."""
    problem = file_problem(path)
    if problem is not None:
        return problem
    try:
        ssl.create_default_context(cafile=path)
    except (ssl.SSLError, ValueError) as error:
        return f"{path!r} is not a PEM file of CA certificates: {_ssl_reason(error)}"
    return None


def tls_pair_problem(cert_path: str, key_path: str) -> str | None:
    """``tls_cert_file`` + ``tls_key_file``: a PEM certificate and its private key."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    try:
        context.load_cert_chain(cert_path, key_path)
    except (ssl.SSLError, ValueError) as error:
        return (
            f"{cert_path!r} and {key_path!r} are not a PEM certificate and its private key:"
            f" {_ssl_reason(error)}"
        )
    return None


def _ssl_reason(error: Exception) -> str:
    reason = getattr(error, "reason", None)
    return str(reason) if reason else str(error)
