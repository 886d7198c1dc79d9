"""Poison frames for ``relay simulate --poison-every N``: malformed as real bugs are.

:func:`poison_frame` picks one of :data:`POISON_KINDS` deterministically by
turn; a connection sends them in rotation. Each is a frame no venue adapter may
take as data: it must be refused with a ``FrameError`` (counted in
``relay_frames_rejected_total``), and nothing else the relay publishes may change.

Kinds, by ``turn % 6``:

0. ``deep``: a JSON object whose value is nested 5,000 lists deep;
1. ``type_swapped``: the previous recorded frame with every top-level value
   wrapped in a list (its JSON type swapped);
2. ``unhashable``: ``{"event":[],"type":{},"channel":[],...}``: lists and
   objects where every venue expects a word;
3. ``invalid_utf8``: a binary frame of JSON-looking bytes that are not UTF-8;
4. ``non_finite``: the previous recorded frame with every decimal string
   (``"7.6110"``) replaced by ``"NaN"`` and every JSON number by ``1e400``;
   the previous frame itself when it holds neither (then: a copy of a frame
   already sent, which the adapter must refuse as stale or unknown);
5. ``megabyte``: an object with a 1 MB string field.

Pure: no I/O; the 1 MB and deep frames are built once.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

POISON_KINDS = ("deep", "type_swapped", "unhashable", "invalid_utf8", "non_finite", "megabyte")
"""The rotation of :func:`poison_frame`."""

DEEP_FRAME = '{"data":' + "[" * 5_000 + "1" + "]" * 5_000 + "}"
"""Nested 5,000 deep (orjson and the relay refuse past about 1,000)."""

UNHASHABLE_FRAME = (
    '{"event":[],"type":{},"channel":[],"stream":[],"topic":{},"method":[],"e":[],'
    '"action":{},"op":[]}'
)
"""Words of every venue's routing fields as lists and objects."""

INVALID_UTF8_FRAME = b'{"data":"\xff\xfe\xc3\x28","e":"\xed\xa0\x80"}'
"""Bytes that look like JSON but are not UTF-8 (sent as a binary frame)."""

MEGABYTE_FRAME = '{"data":"' + "x" * 1_000_000 + '"}'
"""An object whose one string field is 1 MB."""

_DECIMAL_STRING = re.compile(rb'"-?[0-9]+\.[0-9]+"')
_NUMBER = re.compile(rb"(?<=[:,\[])-?[0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?(?=[,\]}])")


def _type_swapped(previous: str | None) -> str:
    try:
        document = orjson.loads(previous) if previous is not None else None
    except orjson.JSONDecodeError:
        document = None
    if not isinstance(document, dict) or not document:
        return UNHASHABLE_FRAME
    swapped: dict[str, Any] = {key: [value] for key, value in document.items()}
    return orjson.dumps(swapped).decode()


def _non_finite(previous: str | None) -> str:
    if previous is None:
        return '{"price":"NaN","size":1e400}'
    data = _DECIMAL_STRING.sub(b'"NaN"', previous.encode())
    data = _NUMBER.sub(b"1e400", data)
    return data.decode()


def poison_frame(turn: int, previous: str | None) -> str | bytes:
    """The poison frame of a given turn.

    Args:
        turn: 0-based count of poison frames already sent on the connection.
        previous: the last recorded frame sent on it, or ``None``.

    Returns:
        Text, or bytes for the binary ``invalid_utf8`` kind; see the module docstring.
    """
    kind = POISON_KINDS[turn % len(POISON_KINDS)]
    if kind == "deep":
        return DEEP_FRAME
    if kind == "type_swapped":
        return _type_swapped(previous)
    if kind == "unhashable":
        return UNHASHABLE_FRAME
    if kind == "invalid_utf8":
        return INVALID_UTF8_FRAME
    if kind == "non_finite":
        return _non_finite(previous)
    return MEGABYTE_FRAME
