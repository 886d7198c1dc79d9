"""Book-accurate REST depth snapshots for the venue simulator.

When the simulator's replay has moved past a recorded REST snapshot (frames
skipped, or a ``resume`` reconnect that lost frames), a client resyncing its
book needs the snapshot the venue would give *now*, not the recorded one. A
:class:`SnapshotBuilder` computes it from the recorded snapshot and the
recorded book updates the replay has passed.

Builders are venue-specific; each venue id's builder is registered with its
simulated side (:mod:`relay.sim.venues.registry`), so the simulator itself
never tests a venue name.

Binance (spot ``/api/v3/depth``, USD-M ``/fapi/v1/depth``, COIN-M
``/dapi/v1/depth``, each with ``symbol=``): the recorded snapshot (from
``shared/captures/binance-usdm.jsonl``, trimmed)::

    {"lastUpdateId":600859605926,"E":1626992741264,"T":1626992741261,
     "bids":[["7.6110","6"],["7.6080","161"]],"asks":[["7.6150","1563"]]}

and the combined-stream diff frames applied to it::

    {"stream":"sushiusdt@depth@100ms","data":{"e":"depthUpdate","E":1626992741037,
     "T":1626992741024,"s":"SUSHIUSDT","U":600859599090,"u":600859600917,
     "pu":600859598061,"b":[["7.5040","813"],["7.6090","0"]],"a":[["7.6150","1563"]]}}
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol, TypeGuard
from urllib.parse import parse_qsl

from relay.application.order_book import apply_raw_levels
from relay.infrastructure.venues.common import wire

BINANCE_DEPTH_PATHS = frozenset({"/api/v3/depth", "/fapi/v1/depth", "/dapi/v1/depth"})
"""REST paths (without the simulator's venue prefix) answered as Binance depth snapshots."""

Level = tuple[str, str]
"""One book level as the venue wrote it: ``(price, quantity)``, e.g. ``("7.6110", "6")``."""


class SnapshotBuilder(Protocol):
    """Rebuilds a venue's REST book snapshot at the replay's current position."""

    def snapshot(
        self, path: str, query: str, recorded_body: str, positions: Sequence[int]
    ) -> str | None:
        """The snapshot body the venue would answer now, if it differs from the recording.

        Args:
            path: request path without the simulator's venue prefix
                (``"/fapi/v1/depth"``).
            query: raw query string (``"symbol=SUSHIUSDT&limit=1000"``).
            recorded_body: the recorded response body for this request (JSON text).
            positions: per recorded connection of the capture, in capture order,
                how many of its ``recv`` frames the replay has passed (sent or
                skipped).

        Returns:
            The rebuilt body (JSON text), or ``None`` to serve ``recorded_body``
            unchanged (not a book request, or the replay has not yet passed
            the recorded snapshot).
        """
        ...


SnapshotBuilderFactory = Callable[[Sequence[Sequence[str]]], SnapshotBuilder]
"""Builds a :class:`SnapshotBuilder` from the ``recv`` frame texts of each recorded connection."""


@dataclass(frozen=True, slots=True)
class BinanceDepthUpdate:
    """One recorded Binance ``depthUpdate`` frame.

    Attributes:
        connection: index of the recorded connection that received it.
        frame: index of the frame among that connection's ``recv`` frames.
        first_update_id: ``U``.
        last_update_id: ``u``.
        event_time_ms: ``E``, or ``None`` when absent.
        transaction_time_ms: ``T`` (futures only), or ``None`` when absent.
        bids: ``b`` levels, venue strings.
        asks: ``a`` levels, venue strings.
    """

    connection: int
    frame: int
    first_update_id: int
    last_update_id: int
    event_time_ms: int | None
    transaction_time_ms: int | None
    bids: tuple[Level, ...]
    asks: tuple[Level, ...]


def parse_binance_depth_update(text: str) -> tuple[str, BinanceDepthUpdate] | None:
    """Read a Binance diff-depth frame, combined-stream wrapped or raw.

    Args:
        text: one frame, e.g. ``{"stream":"sushiusdt@depth@100ms","data":{"e":"depthUpdate",
            "s":"SUSHIUSDT","U":1,"u":2,"b":[["7.5","1"]],"a":[]}}``.

    Returns:
        ``(symbol, update)`` with ``connection`` and ``frame`` set to ``0``, or
        ``None`` when the text is not a well-formed ``depthUpdate``.
    """
    obj: Any = wire.parse_object(text)
    if isinstance(obj, dict) and isinstance(obj.get("data"), dict):
        obj = obj["data"]
    if not isinstance(obj, dict) or obj.get("e") != "depthUpdate":
        return None
    symbol, first, last = obj.get("s"), obj.get("U"), obj.get("u")
    if not isinstance(symbol, str) or not _is_int(first) or not _is_int(last):
        return None
    bids, asks = _levels(obj.get("b")), _levels(obj.get("a"))
    if bids is None or asks is None:
        return None
    event_time, transaction_time = obj.get("E"), obj.get("T")
    return symbol, BinanceDepthUpdate(
        connection=0,
        frame=0,
        first_update_id=first,
        last_update_id=last,
        event_time_ms=event_time if _is_int(event_time) else None,
        transaction_time_ms=transaction_time if _is_int(transaction_time) else None,
        bids=bids,
        asks=asks,
    )


class BinanceSnapshotBuilder:
    """Binance depth snapshots as of the replay position (spot, USD-M and COIN-M).

    From the recorded snapshot for ``symbol=``, applies every recorded
    ``depthUpdate`` of that symbol whose ``u`` is above the snapshot's
    ``lastUpdateId`` and whose frame the replay has passed, in ``u`` order
    (an update seen on two connections is applied once). The answer keeps the
    recorded body's keys and order, with ``lastUpdateId`` set to the last
    applied ``u``, ``E`` / ``T`` (when the recording has them) taken from that
    frame, bids best (highest) first and asks best (lowest) first, each level
    with the venue's original price and quantity strings.
    """

    def __init__(self, connections: Sequence[Sequence[str]]) -> None:
        """Index the recorded depth updates.

        Args:
            connections: the ``recv`` frame texts of each recorded connection.
        """
        updates: dict[str, list[BinanceDepthUpdate]] = {}
        for connection, frames in enumerate(connections):
            for frame, text in enumerate(frames):
                if '"depthUpdate"' not in text:
                    continue
                parsed = parse_binance_depth_update(text)
                if parsed is None:
                    continue
                symbol, update = parsed
                updates.setdefault(symbol, []).append(
                    BinanceDepthUpdate(
                        connection=connection,
                        frame=frame,
                        first_update_id=update.first_update_id,
                        last_update_id=update.last_update_id,
                        event_time_ms=update.event_time_ms,
                        transaction_time_ms=update.transaction_time_ms,
                        bids=update.bids,
                        asks=update.asks,
                    )
                )
        self._updates: Mapping[str, tuple[BinanceDepthUpdate, ...]] = {
            symbol: tuple(sorted(found, key=lambda u: u.last_update_id))
            for symbol, found in updates.items()
        }

    def snapshot(
        self, path: str, query: str, recorded_body: str, positions: Sequence[int]
    ) -> str | None:
        """See :meth:`SnapshotBuilder.snapshot`; ``None`` also for a malformed recorded body."""
        if path not in BINANCE_DEPTH_PATHS:
            return None
        symbol = dict(parse_qsl(query)).get("symbol")
        if symbol is None or symbol not in self._updates:
            return None
        recorded = wire.parse_object(recorded_body)
        if recorded is None:
            return None
        last_update_id = recorded.get("lastUpdateId")
        bids = _levels(recorded.get("bids"))
        asks = _levels(recorded.get("asks"))
        if not _is_int(last_update_id) or bids is None or asks is None:
            return None
        passed = [
            update
            for update in self._updates[symbol]
            if update.last_update_id > last_update_id
            and update.connection < len(positions)
            and update.frame < positions[update.connection]
        ]
        if not passed:
            return None
        try:
            bid_side = {Decimal(price): (price, quantity) for price, quantity in bids}
            ask_side = {Decimal(price): (price, quantity) for price, quantity in asks}
            for update in passed:
                if update.last_update_id <= last_update_id:
                    continue
                apply_raw_levels(bid_side, update.bids)
                apply_raw_levels(ask_side, update.asks)
                last_update_id = update.last_update_id
        except InvalidOperation:
            return None
        last = passed[-1]
        recorded["lastUpdateId"] = last_update_id
        if "E" in recorded and last.event_time_ms is not None:
            recorded["E"] = last.event_time_ms
        if "T" in recorded and last.transaction_time_ms is not None:
            recorded["T"] = last.transaction_time_ms
        recorded["bids"] = [list(bid_side[price]) for price in sorted(bid_side, reverse=True)]
        recorded["asks"] = [list(ask_side[price]) for price in sorted(ask_side)]
        return json.dumps(recorded, separators=(",", ":"))


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _levels(value: object) -> tuple[Level, ...] | None:
    if not isinstance(value, list):
        return None
    levels: list[Level] = []
    for level in value:
        if (
            not isinstance(level, list)
            or len(level) < 2
            or not isinstance(level[0], str)
            or not isinstance(level[1], str)
        ):
            return None
        levels.append((level[0], level[1]))
    return tuple(levels)
