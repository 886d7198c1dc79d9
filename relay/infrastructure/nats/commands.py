"""NATS client protocol bytes for the publisher's hot path, and the nats-py internals they need.

``HPUB <subject> [<reply>] <header bytes> <total bytes>\\r\\n<headers><payload>\\r\\n``
(NATS client protocol, docs.nats.io/reference/reference-protocols/nats-protocol#hpub),
built here (pure functions, bytes out) and handed to nats-py's write buffer in one piece.

This is the only module of the relay that touches nats-py's private members
(``_send_command``, ``_flush_pending``, ``_flush_queue``, ``_pending``,
``_pending_data_size``) and changes a client's options after connect
(:func:`allow_reconnect`). They are those of nats-py 2.x (:data:`NATS_PY_MAJOR`);
:func:`check_client` refuses any other client at connect, and
``tests/infrastructure/nats/test_commands.py`` proves the bytes equal what
nats-py's own ``publish`` sends.
"""

from __future__ import annotations

import importlib.metadata

import nats
from nats.aio.client import Client

from relay.domain.errors import RelayError

NATS_PY_MAJOR = 2
"""The nats-py major version whose private members this module uses (pyproject pins ``<3``)."""

PRIVATE_MEMBERS = (
    "_send_command",
    "_flush_pending",
    "_flush_queue",
    "_pending",
    "_pending_data_size",
)
"""The nats-py client members used here; :func:`check_client` checks that they exist."""

_HEADER_START = b"NATS/1.0\r\nNats-Msg-Id: "
_HEADER_NEWLINES = str.maketrans({"\r": " ", "\n": " "})


class UnsupportedNatsClientError(RelayError):
    """The installed nats-py lacks the private members the publisher's hot path uses.

    Attributes:
        version: the installed nats-py version (``"2.16.0"``; ``"unknown"`` when
            its package metadata cannot be read).
        missing: the members of :data:`PRIVATE_MEMBERS` it lacks (may be empty
            when only the major version differs).
    """

    def __init__(self, version: str, missing: tuple[str, ...]) -> None:
        super().__init__(
            f"this nats-py ({version}) has no _send_command/_flush_pending; "
            f"relay needs nats-py {NATS_PY_MAJOR}.x"
        )
        self.version = version
        self.missing = missing


def _installed_version() -> str:
    try:
        return importlib.metadata.version("nats-py")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def check_client(nc: Client) -> None:
    """Make sure ``nc`` is a nats-py client whose private members this module may use.

    Raises:
        UnsupportedNatsClientError: nats-py is not version :data:`NATS_PY_MAJOR`.x, or
            ``nc`` lacks a member of :data:`PRIVATE_MEMBERS`.
    """
    version = _installed_version()
    missing = tuple(name for name in PRIVATE_MEMBERS if not hasattr(nc, name))
    if missing or version.split(".")[0] != str(NATS_PY_MAJOR):
        raise UnsupportedNatsClientError(version, missing)


def allow_reconnect(nc: Client) -> None:
    """Let a client connected with ``allow_reconnect=False`` reconnect from now on.

    The relay's first connection is made with reconnects off, so that each
    failed attempt raises to the relay's own retry loop instead of being retried
    inside nats-py: after a TLS verification failure nats-py 2.16 hangs in
    ``_close`` -> ``wait_closed`` and never tries again. nats-py reads
    ``options["allow_reconnect"]`` when a connection is lost, so setting it here
    turns its reconnects on for the rest of the client's life.
    """
    nc.options["allow_reconnect"] = True


def header_tail(content_type: str) -> bytes:
    """What follows the message id in every header block: the ``Content-Type`` line and the end."""
    return b"\r\nContent-Type: " + content_type.encode() + b"\r\n\r\n"


def hpub_command(subject: bytes, reply: bytes, msg_id: str, tail: bytes, payload: bytes) -> bytes:
    """One ``HPUB`` command carrying ``Nats-Msg-Id`` and the headers in ``tail``.

    ``HPUB <subject> [<reply>] <header bytes> <total bytes>\\r\\n<headers><payload>\\r\\n``
    with the header block ``NATS/1.0\\r\\nNats-Msg-Id: <msg_id>`` + ``tail``
    (:func:`header_tail`). The bytes equal what nats-py's ``publish`` sends for the
    same message (``tests/infrastructure/nats/test_commands.py``); like it, the
    header value is stripped and CR and LF in it become spaces. ``reply`` may be
    empty (no reply subject).
    """
    stripped = msg_id.strip()
    if stripped is not msg_id or "\r" in msg_id or "\n" in msg_id:
        msg_id = stripped.translate(_HEADER_NEWLINES)
    header = _HEADER_START + msg_id.encode() + tail
    size = len(header)
    if reply:
        return b"HPUB %b %b %d %d\r\n%b%b\r\n" % (
            subject,
            reply,
            size,
            size + len(payload),
            header,
            payload,
        )
    return b"HPUB %b %d %d\r\n%b%b\r\n" % (subject, size, size + len(payload), header, payload)


async def write_commands(nc: Client, data: bytes) -> None:
    """Queue protocol bytes on ``nc``'s write buffer and wake its flusher, as ``publish`` does.

    nats-py has no public call for pre-built commands; this uses the two methods its
    ``publish`` ends with (``_send_command``, ``_flush_pending``; nats-py 2.x).
    :func:`check_client` checks that they exist.

    Raises:
        nats.errors.ConnectionClosedError: the client is closed.
    """
    if nc.is_closed:
        raise nats.errors.ConnectionClosedError
    await nc._send_command(data)
    flush_queue = nc._flush_queue
    if flush_queue is not None and flush_queue.empty():
        await nc._flush_pending()


def discard_pending_commands(nc: Client) -> None:
    """Throw away the commands nats-py holds for its next connection.

    Called when the connection drops: those commands would reach the next
    connection before the held messages that precede them, and the stream would
    store them out of order.
    """
    nc._pending = []
    nc._pending_data_size = 0
