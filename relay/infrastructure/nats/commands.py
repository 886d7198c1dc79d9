"""NATS client protocol bytes for the publisher's hot path: ``HPUB`` commands.

``HPUB <subject> [<reply>] <header bytes> <total bytes>\\r\\n<headers><payload>\\r\\n``
(NATS client protocol, docs.nats.io/reference/reference-protocols/nats-protocol#hpub),
built here and handed to nats-py's write buffer in one piece.
"""

from __future__ import annotations

import nats
from nats.aio.client import Client

_HEADER_START = b"NATS/1.0\r\nNats-Msg-Id: "
_HEADER_NEWLINES = str.maketrans({"\r": " ", "\n": " "})


def header_tail(content_type: str) -> bytes:
    """What follows the message id in every header block: the ``Content-Type`` line and the end."""
    return b"\r\nContent-Type: " + content_type.encode() + b"\r\n\r\n"


def hpub_command(subject: bytes, reply: bytes, msg_id: str, tail: bytes, payload: bytes) -> bytes:
    """One ``HPUB`` command carrying ``Nats-Msg-Id`` and the headers in ``tail``.

    ``HPUB <subject> [<reply>] <header bytes> <total bytes>\\r\\n<headers><payload>\\r\\n``
    with the header block ``NATS/1.0\\r\\nNats-Msg-Id: <msg_id>`` + ``tail``
    (:func:`header_tail`). The bytes equal what nats-py's ``publish`` sends for the
    same message (``tests/infrastructure/test_nats_publisher.py``); like it, the
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
            subject, reply, size, size + len(payload), header, payload)
    return b"HPUB %b %d %d\r\n%b%b\r\n" % (subject, size, size + len(payload), header, payload)


async def write_commands(nc: Client, data: bytes) -> None:
    """Queue protocol bytes on ``nc``'s write buffer and wake its flusher, as ``publish`` does.

    nats-py has no public call for pre-built commands; this uses the two methods its
    ``publish`` ends with (``_send_command``, ``_flush_pending``; nats-py 2.x).
    :meth:`JetStreamPublisher.connect` checks that they exist.

    Raises:
        nats.errors.ConnectionClosedError: the client is closed.
    """
    if nc.is_closed:
        raise nats.errors.ConnectionClosedError
    await nc._send_command(data)
    flush_queue = nc._flush_queue
    if flush_queue is not None and flush_queue.empty():
        await nc._flush_pending()
