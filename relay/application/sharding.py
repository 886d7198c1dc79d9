"""Which shard of a relay group covers a (venue, instrument): a stable hash, pure.

Every process of a group, and any other code that must route something to a
shard (runtime control changes, ``relay validate --shards N``), calls
:func:`shard_of`; the answer depends only on the venue id, the venue's
instrument id and the number of shards, never on the process, the Python
version or the order of the config.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable


def shard_of(venue: str, instrument: str, shards: int) -> int:
    """The shard (0 to ``shards - 1``) covering ``instrument`` of ``venue``.

    The first 8 bytes of SHA-256 over ``"<venue>\\x00<instrument>"`` (UTF-8),
    big-endian, modulo ``shards``: stable across processes and releases.

    Args:
        venue: the venue id (``"binance-usdm"``).
        instrument: the venue's instrument id as configured (``"SUSHIUSDT"``).
        shards: how many shards, at least 1.

    Raises:
        ValueError: ``shards`` below 1.
    """
    if shards < 1:
        raise ValueError(f"shards must be at least 1, got {shards}")
    digest = hashlib.sha256(f"{venue}\x00{instrument}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % shards


def split(pairs: Iterable[tuple[str, str]], shards: int) -> list[list[tuple[str, str]]]:
    """``(venue, instrument)`` pairs grouped by shard: list index = shard, input order kept.

    Raises:
        ValueError: ``shards`` below 1.
    """
    result: list[list[tuple[str, str]]] = [[] for _ in range(max(shards, 1))]
    for venue, instrument in pairs:
        result[shard_of(venue, instrument, shards)].append((venue, instrument))
    return result


def split_lines(pairs: Iterable[tuple[str, str]], shards: int) -> list[str]:
    """The split as ``relay validate --shards N`` prints it, one line per shard::

        shard 0/2: 2 subscriptions: binance-usdm:AKROUSDT binance-usdm:KEEPUSDT

    Raises:
        ValueError: ``shards`` below 1.
    """
    lines = []
    for shard, members in enumerate(split(pairs, shards)):
        listed = " ".join(f"{venue}:{instrument}" for venue, instrument in members)
        lines.append(f"shard {shard}/{shards}: {len(members)} subscriptions: {listed}")
    return lines
