"""Bybit's side of a simulated connection (``relay simulate``).

Serves the venue ids of :mod:`relay.infrastructure.venues.bybit`; registered by
venue id in :mod:`relay.sim.venues.registry`.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import orjson

from relay.application.order_book import apply_raw_levels
from relay.infrastructure.venues.bybit import VENUE_IDS
from relay.infrastructure.venues.common import wire
from relay.sim.venues.registry import SimulatedSide, register_simulated

_RawSide = dict[Decimal, list[Any]]


class BybitSimulatedVenue:
    """Bybit's side of one connection served by ``relay simulate``.

    - ``{"op":"ping"}`` -> the documented linear/inverse pong
      ``{"success":true,"ret_msg":"pong","conn_id":...,"req_id":"","op":"ping"}``.
    - ``subscribe`` / ``unsubscribe`` -> a ``"success": true`` ack (the
      protocol ignores acks, so duplicates of recorded acks do no harm).
    - A ``subscribe`` naming an ``orderbook.*`` topic that this connection
      subscribed before (a resync) -> after the ack, a ``snapshot`` of that
      book as built from the recorded frames passed so far (last ``u``,
      ``seq`` and ``ts``), with the venue's own price and size strings.
    """

    def __init__(self) -> None:
        self._books: dict[str, tuple[_RawSide, _RawSide, dict[str, Any]]] = {}
        self._subscribed: set[str] = set()

    def on_frame_passed(self, frame: str) -> None:
        """Follow the recorded ``orderbook.*`` frames (snapshots reset, deltas apply)."""
        message = wire.parse_object(frame)
        if message is None:
            return
        topic = message.get("topic")
        data = message.get("data")
        if not (
            isinstance(topic, str) and topic.startswith("orderbook.") and isinstance(data, dict)
        ):
            return
        new_bids = wire.simulated_levels(data.get("b") or [])
        new_asks = wire.simulated_levels(data.get("a") or [])
        if new_bids is None or new_asks is None:
            return
        if message.get("type") == "snapshot" or topic not in self._books:
            self._books[topic] = ({}, {}, {})
        bids, asks, last = self._books[topic]
        apply_raw_levels(bids, new_bids)
        apply_raw_levels(asks, new_asks)
        last.update(
            symbol=data.get("s"), u=data.get("u"), seq=data.get("seq"), ts=message.get("ts")
        )

    def on_client_frame(self, frame: str) -> Sequence[str]:
        """The venue's answers to one client frame (may be empty)."""
        message = wire.parse_object(frame)
        if message is None:
            return []
        op = message.get("op")
        req_id = message.get("req_id", "")
        if not isinstance(req_id, str):  # the relay sends strings; anything else is not echoed
            req_id = ""
        if op == "ping":
            return [
                orjson.dumps(
                    {
                        "success": True,
                        "ret_msg": "pong",
                        "conn_id": "simulated",
                        "req_id": req_id,
                        "op": "ping",
                    }
                ).decode()
            ]
        if op not in ("subscribe", "unsubscribe"):
            return []
        replies = [
            orjson.dumps(
                {"success": True, "ret_msg": "", "conn_id": "simulated", "req_id": req_id, "op": op}
            ).decode()
        ]
        args = message.get("args")
        topics = [t for t in args if isinstance(t, str)] if isinstance(args, list) else []
        if op == "subscribe":
            for topic in topics:
                snapshot = self._snapshot(topic) if topic in self._subscribed else None
                if snapshot is not None:
                    replies.append(snapshot)
                self._subscribed.add(topic)
        return replies

    def _snapshot(self, topic: str) -> str | None:
        if topic not in self._books:
            return None
        bids, asks, last = self._books[topic]
        return wire.reply_json(
            {
                "topic": topic,
                "type": "snapshot",
                "ts": last.get("ts"),
                "data": {
                    "s": last.get("symbol"),
                    "b": [bids[p][:2] for p in sorted(bids, reverse=True)],
                    "a": [asks[p][:2] for p in sorted(asks)],
                    "u": last.get("u"),
                    "seq": last.get("seq"),
                },
            }
        )


for _venue_id in VENUE_IDS:
    register_simulated(SimulatedSide(_venue_id, venue=BybitSimulatedVenue))
