"""Bitstamp: the venue side of a simulated v2 connection and book-accurate REST order books,
for the venue id of :mod:`relay.infrastructure.venues.bitstamp`.

Connection (https://www.bitstamp.net/websocket/v2/): a subscribe request is acknowledged
as in ``bitstamp.jsonl``::

    {"event":"bts:subscription_succeeded","channel":"diff_order_book_ethusd","data":{}}

an unsubscribe with ``bts:unsubscription_succeeded``, and ``{"event":"bts:heartbeat"}``
with ``{"event":"bts:heartbeat","channel":"","data":{"status":"success"}}``.

REST (``/api/v2/order_book/<pair>``): the recorded order book with every recorded
``diff_order_book_<pair>`` diff the replay has passed whose ``microtimestamp`` is after
the book's applied in ``microtimestamp`` order, ``microtimestamp`` set to the last
applied one and ``timestamp`` to its seconds; levels as recorded, bids best (highest)
first, asks best (lowest) first.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from relay.application.order_book import apply_raw_levels
from relay.infrastructure.venues.bitstamp import VENUE_ID
from relay.infrastructure.venues.bitstamp.protocol import BOOK_PREFIX, ORDER_BOOK_PATH
from relay.infrastructure.venues.common import wire
from relay.sim.venues.registry import SimulatedSide, register_simulated

_ACKS = {
    "bts:subscribe": "bts:subscription_succeeded",
    "bts:unsubscribe": "bts:unsubscription_succeeded",
}

Level = tuple[str, str]
"""(price, amount) texts as recorded."""


class BitstampSimulatedVenue:
    """Bitstamp's side of one connection served by ``relay simulate`` (see module docstring)."""

    def on_frame_passed(self, frame: str) -> None:
        """Nothing to follow: books are answered over REST."""

    def on_client_frame(self, frame: str) -> Sequence[str]:
        """An acknowledgement for a (un)subscribe request, the answer to a heartbeat."""
        request = wire.parse_object(frame)
        if request is None:
            return []
        event = request.get("event")
        reply: dict[str, Any]
        if event == "bts:heartbeat":
            reply = {"event": "bts:heartbeat", "channel": "", "data": {"status": "success"}}
        elif isinstance(event, str) and event in _ACKS:
            data = request.get("data")
            channel = data.get("channel") if isinstance(data, dict) else None
            if not isinstance(channel, str):
                return []
            reply = {"event": _ACKS[event], "channel": channel, "data": {}}
        else:
            return []
        text = wire.reply_json(reply)
        return [] if text is None else [text]


@dataclass(frozen=True, slots=True)
class _Diff:
    connection: int
    frame: int
    microtimestamp: int
    bids: tuple[Level, ...]
    asks: tuple[Level, ...]


def _levels(raw: object) -> tuple[Level, ...] | None:
    checked = wire.simulated_levels(raw)
    return None if checked is None else tuple((str(p), str(q)) for p, q, *_ in checked)


def _micros(raw: object) -> int | None:
    if isinstance(raw, str) and raw.isascii() and raw.isdigit() and len(raw) <= 19:
        return int(raw)
    return None


def parse_diff(text: str) -> tuple[str, int, tuple[Level, ...], tuple[Level, ...]] | None:
    """``(pair, microtimestamp, bids, asks)`` of a well-formed ``diff_order_book`` frame,
    else None."""
    message = wire.parse_object(text)
    if message is None or message.get("event") != "data":
        return None
    channel, data = message.get("channel"), message.get("data")
    if not isinstance(channel, str) or not channel.startswith(BOOK_PREFIX):
        return None
    if not isinstance(data, dict):
        return None
    stamp = _micros(data.get("microtimestamp"))
    bids, asks = _levels(data.get("bids")), _levels(data.get("asks"))
    if stamp is None or bids is None or asks is None:
        return None
    return channel.removeprefix(BOOK_PREFIX), stamp, bids, asks


class BitstampSnapshotBuilder:
    """Bitstamp order books as of the replay position (see module docstring)."""

    def __init__(self, connections: Sequence[Sequence[str]]) -> None:
        """Index the recorded diffs of every connection (``recv`` frame texts)."""
        diffs: dict[str, list[_Diff]] = {}
        for connection, frames in enumerate(connections):
            for frame, text in enumerate(frames):
                if BOOK_PREFIX not in text:
                    continue
                parsed = parse_diff(text)
                if parsed is not None:
                    pair, stamp, bids, asks = parsed
                    diffs.setdefault(pair, []).append(_Diff(connection, frame, stamp, bids, asks))
        self._diffs: Mapping[str, tuple[_Diff, ...]] = {
            pair: tuple(sorted(found, key=lambda d: d.microtimestamp))
            for pair, found in diffs.items()
        }

    def snapshot(
        self, path: str, query: str, recorded_body: str, positions: Sequence[int]
    ) -> str | None:
        """See :meth:`relay.sim.books.SnapshotBuilder.snapshot`; None also for a malformed
        recorded body."""
        pair = path.removeprefix(ORDER_BOOK_PATH).rstrip("/")
        if not path.startswith(ORDER_BOOK_PATH) or pair not in self._diffs:
            return None
        recorded = wire.parse_object(recorded_body)
        if recorded is None:
            return None
        stamp = _micros(recorded.get("microtimestamp"))
        bids, asks = _levels(recorded.get("bids")), _levels(recorded.get("asks"))
        if stamp is None or bids is None or asks is None:
            return None
        passed = [
            d
            for d in self._diffs[pair]
            if d.microtimestamp > stamp
            and d.connection < len(positions)
            and d.frame < positions[d.connection]
        ]
        if not passed:
            return None
        try:
            bid_side: dict[Decimal, Level] = {Decimal(p): (p, q) for p, q in bids}
            ask_side: dict[Decimal, Level] = {Decimal(p): (p, q) for p, q in asks}
            for diff in passed:
                if diff.microtimestamp <= stamp:
                    continue  # the same diff seen on two connections
                apply_raw_levels(bid_side, diff.bids)
                apply_raw_levels(ask_side, diff.asks)
                stamp = diff.microtimestamp
        except InvalidOperation:
            return None
        recorded["timestamp"] = str(stamp // 1_000_000)
        recorded["microtimestamp"] = str(stamp)
        recorded["bids"] = [list(bid_side[p]) for p in sorted(bid_side, reverse=True)]
        recorded["asks"] = [list(ask_side[p]) for p in sorted(ask_side)]
        return json.dumps(recorded, separators=(",", ":"))


register_simulated(
    SimulatedSide(VENUE_ID, venue=BitstampSimulatedVenue, snapshot_builder=BitstampSnapshotBuilder)
)
