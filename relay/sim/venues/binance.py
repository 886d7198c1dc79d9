"""Binance: book-accurate REST depth snapshots for the simulated venue.

Binance's WebSocket streams take no client frames the relay needs answered, so
its simulated side is the snapshot builder, plus the REST answers derived from
the recording (:mod:`relay.sim.venues.binance_rest`: aggregate trades, book
tickers, open interest), for the venue ids of
:mod:`relay.infrastructure.venues.binance` (spot, USD-M and COIN-M).

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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, TypeGuard
from urllib.parse import parse_qsl

from relay.application.order_book import apply_raw_levels
from relay.infrastructure.venues.binance import VENUE_IDS
from relay.infrastructure.venues.binance.protocol import COINM, SPOT, USDM
from relay.infrastructure.venues.common import wire
from relay.sim.venues.binance_rest import BinanceRestAnswers
from relay.sim.venues.registry import SimulatedSide, register_simulated

BINANCE_DEPTH_PATHS = frozenset(market.depth_path for market in (SPOT, USDM, COINM))
"""REST paths (without the simulator's venue prefix) answered as Binance depth snapshots."""

Level = tuple[str, str]
"""One book level as the venue wrote it: ``(price, quantity)``, e.g. ``("7.6110", "6")``."""


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
    """``[["7.6110", "6"], ...]`` as ``(price, quantity)`` texts (:func:`wire.simulated_levels`)."""
    levels = wire.simulated_levels(value)
    return None if levels is None else tuple((level[0], level[1]) for level in levels)


for _venue_id in VENUE_IDS:
    register_simulated(
        SimulatedSide(
            _venue_id, snapshot_builder=BinanceSnapshotBuilder, rest_answers=BinanceRestAnswers
        )
    )
