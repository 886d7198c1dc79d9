"""Gate.io (spot and USDT futures): the venue side of a simulated connection and
book-accurate REST snapshots, for the venue ids of :mod:`relay.infrastructure.venues.gate`.

Connection (https://www.gate.io/docs/developers/apiv4/ws/en/#api-overview): a subscribe
request is acknowledged as in ``gate-spot.jsonl``::

    {"time":1619093532,"channel":"spot.trades","event":"subscribe","result":{"status":"success"}}

and ``{"channel":"spot.ping"}`` is answered with
``{"time":...,"channel":"spot.pong","event":"","result":null}`` (futures: ``futures.*``).

REST (``/api/v4/spot/order_book?currency_pair=``, ``/api/v4/futures/usdt/order_book?
contract=``, ``with_id=true``): the recorded snapshot with every recorded
``order_book_update`` of that instrument the replay has passed and whose ``u`` is above
the snapshot's ``id`` applied in ``u`` order, ``id`` set to the last applied ``u``; spot
levels ``[price, amount]``, futures levels ``{"p": price, "s": size}``, as recorded.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, TypeGuard
from urllib.parse import parse_qsl

from relay.application.order_book import apply_raw_levels
from relay.infrastructure.venues.common import wire
from relay.infrastructure.venues.gate import VENUE_IDS
from relay.infrastructure.venues.gate.protocol import SPOT, USDT_FUTURES
from relay.sim.venues.registry import SimulatedSide, register_simulated

_QUERY_KEY = {SPOT.book_path: SPOT.symbol_query, USDT_FUTURES.book_path: USDT_FUTURES.symbol_query}


class GateSimulatedVenue:
    """Gate.io's side of one connection served by ``relay simulate``: subscribe acks, pongs."""

    def on_frame_passed(self, frame: str) -> None:
        """Nothing to follow: books are answered over REST."""

    def on_client_frame(self, frame: str) -> Sequence[str]:
        """An ack for a subscribe/unsubscribe request, a pong for a ping (see module docstring)."""
        request = wire.parse_object(frame)
        if request is None:
            return []
        channel = request.get("channel")
        if not isinstance(channel, str):
            return []
        when = request.get("time")
        now = when if isinstance(when, int) and not isinstance(when, bool) else 0
        if channel.endswith(".ping"):
            reply: dict[str, Any] = {
                "time": now,
                "channel": channel.removesuffix(".ping") + ".pong",
                "event": "",
                "result": None,
            }
        elif request.get("event") in ("subscribe", "unsubscribe"):
            reply = {
                "time": now,
                "channel": channel,
                "event": request["event"],
                "result": {"status": "success"},
            }
        else:
            return []
        text = wire.reply_json(reply)
        return [] if text is None else [text]


Level = tuple[str, str]
"""(price, size) texts as recorded (a futures size, an integer, as its digits)."""


@dataclass(frozen=True, slots=True)
class _Update:
    connection: int
    frame: int
    first_update_id: int
    last_update_id: int
    bids: tuple[Level, ...]
    asks: tuple[Level, ...]


def _levels(raw: object) -> tuple[Level, ...] | None:
    """Spot ``[["1.5","2"]]`` or futures ``[{"p":"1.5","s":2}]`` as text pairs, or None."""
    if not isinstance(raw, list):
        return None
    pairs: list[list[Any]] = []
    for level in raw:
        if isinstance(level, dict):
            size = level.get("s")
            if isinstance(size, bool) or not isinstance(size, int) or size < 0:
                return None
            pairs.append([level.get("p"), str(size)])
        else:
            pairs.append(level)
    checked = wire.simulated_levels(pairs)
    return None if checked is None else tuple((str(p), str(q)) for p, q, *_ in checked)


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def parse_book_update(text: str) -> tuple[str, _Update] | None:
    """``(symbol, update)`` of a well-formed ``*.order_book_update`` push, else None."""
    message = wire.parse_object(text)
    if message is None or message.get("event") != "update":
        return None
    channel = message.get("channel")
    result = message.get("result")
    if not isinstance(channel, str) or not channel.endswith(".order_book_update"):
        return None
    if not isinstance(result, dict):
        return None
    symbol, first, last = result.get("s"), result.get("U"), result.get("u")
    if not isinstance(symbol, str) or not _is_int(first) or not _is_int(last):
        return None
    bids, asks = _levels(result.get("b")), _levels(result.get("a"))
    if bids is None or asks is None:
        return None
    return symbol, _Update(0, 0, first, last, bids, asks)


class GateSnapshotBuilder:
    """Gate.io order book snapshots as of the replay position (see module docstring)."""

    def __init__(self, connections: Sequence[Sequence[str]]) -> None:
        """Index the recorded book updates of every connection (``recv`` frame texts)."""
        updates: dict[str, list[_Update]] = {}
        for connection, frames in enumerate(connections):
            for frame, text in enumerate(frames):
                if "order_book_update" not in text:
                    continue
                parsed = parse_book_update(text)
                if parsed is not None:
                    symbol, update = parsed
                    updates.setdefault(symbol, []).append(
                        _Update(
                            connection,
                            frame,
                            update.first_update_id,
                            update.last_update_id,
                            update.bids,
                            update.asks,
                        )
                    )
        self._updates: Mapping[str, tuple[_Update, ...]] = {
            symbol: tuple(sorted(found, key=lambda u: u.last_update_id))
            for symbol, found in updates.items()
        }

    def snapshot(
        self, path: str, query: str, recorded_body: str, positions: Sequence[int]
    ) -> str | None:
        """See :meth:`relay.sim.books.SnapshotBuilder.snapshot`; None also for a malformed
        recorded body."""
        key = _QUERY_KEY.get(path)
        if key is None:
            return None
        symbol = dict(parse_qsl(query)).get(key)
        if symbol is None or symbol not in self._updates:
            return None
        recorded = wire.parse_object(recorded_body)
        if recorded is None:
            return None
        update_id = recorded.get("id")
        bids, asks = _levels(recorded.get("bids")), _levels(recorded.get("asks"))
        if not _is_int(update_id) or bids is None or asks is None:
            return None
        passed = [
            u
            for u in self._updates[symbol]
            if u.last_update_id > update_id
            and u.connection < len(positions)
            and u.frame < positions[u.connection]
        ]
        if not passed:
            return None
        futures = path == USDT_FUTURES.book_path
        try:
            bid_side: dict[Decimal, Level] = {Decimal(p): (p, q) for p, q in bids}
            ask_side: dict[Decimal, Level] = {Decimal(p): (p, q) for p, q in asks}
            for update in passed:
                if update.last_update_id <= update_id:
                    continue  # the same u seen on two connections
                apply_raw_levels(bid_side, update.bids)
                apply_raw_levels(ask_side, update.asks)
                update_id = update.last_update_id
        except InvalidOperation:
            return None

        def out(level: Level) -> Any:
            return {"p": level[0], "s": int(level[1])} if futures else list(level)

        recorded["id"] = update_id
        recorded["bids"] = [out(bid_side[p]) for p in sorted(bid_side, reverse=True)]
        recorded["asks"] = [out(ask_side[p]) for p in sorted(ask_side)]
        return json.dumps(recorded, separators=(",", ":"))


for _venue_id in VENUE_IDS:
    register_simulated(
        SimulatedSide(_venue_id, venue=GateSimulatedVenue, snapshot_builder=GateSnapshotBuilder)
    )
