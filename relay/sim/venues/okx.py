"""OKX's side of a simulated connection (``relay simulate``).

Reuses the venue module's own book and checksum code
(:mod:`relay.infrastructure.venues.okx`); registered by venue id in
:mod:`relay.sim.venues.registry`.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from relay.application.order_book import apply_raw_levels
from relay.infrastructure.venues.common import wire
from relay.infrastructure.venues.okx import (
    BOOK_CHANNELS,
    VENUE_ID,
    checksum,
)
from relay.sim.venues.registry import SimulatedSide, register_simulated

# --- the simulated venue ----------------------------------------------------------------


_RawSide = dict[Decimal, list[Any]]


class OkxSimulatedVenue:
    """OKX's side of one connection served by ``relay simulate``.

    - ``ping`` -> ``pong``.
    - ``subscribe`` / ``unsubscribe`` -> one ack per arg, as OKX sends them
      (``{"event":"subscribe","arg":{...},"connId":"simulated"}``), for every
      request, the recording's first one included (the protocol ignores acks).
    - A ``subscribe`` to a book channel whose book the replay has already passed
      (a resync) is also answered with a fresh ``snapshot`` of that book as of
      the last recorded frame passed, with its checksum (and ``seqId`` /
      ``prevSeqId: -1`` when the recording carries seqIds); recorded updates
      then continue from it.
    """

    def __init__(self) -> None:
        self._books: dict[tuple[str, str], tuple[_RawSide, _RawSide]] = {}
        self._last: dict[tuple[str, str], dict[str, Any]] = {}

    def on_frame_passed(self, frame: str) -> None:
        """Follow the books of the recorded frames passed."""
        message = wire.parse_object(frame)
        if message is None or "event" in message:
            return
        arg = message.get("arg")
        data = message.get("data")
        if not isinstance(arg, dict) or not isinstance(arg.get("channel"), str):
            return
        if arg["channel"] not in BOOK_CHANNELS or not isinstance(data, list):
            return
        key = (str(arg["channel"]), wire.label(arg.get("instId")))
        snapshot = message.get("action") != "update"
        for entry in data:
            if not isinstance(entry, dict):
                continue
            bids = wire.simulated_levels(entry.get("bids", []))
            asks = wire.simulated_levels(entry.get("asks", []))
            if bids is None or asks is None:
                continue
            if snapshot or key not in self._books:
                self._books[key] = ({}, {})
            for side, levels in zip(self._books[key], (bids, asks), strict=True):
                apply_raw_levels(side, levels)
            self._last[key] = entry

    def on_client_frame(self, frame: str) -> Sequence[str]:
        """Pong, acks, and a fresh snapshot for a book subscribed again (see class docstring)."""
        if frame == "ping":
            return ["pong"]
        request = wire.parse_object(frame)
        if request is None or request.get("op") not in ("subscribe", "unsubscribe"):
            return []
        op = request["op"]
        replies: list[str] = []
        args = request.get("args")
        for arg in args if isinstance(args, list) else []:
            ack: dict[str, Any] = {"event": op, "arg": arg, "connId": "simulated"}
            if "id" in request:
                ack = {"id": request["id"], **ack}
            reply = wire.reply_json(ack)
            if reply is None:  # an arg orjson cannot write (nested past 255): no answer
                continue
            replies.append(reply)
            if op == "subscribe" and isinstance(arg, dict):
                snapshot = self._snapshot(arg)
                if snapshot is not None:
                    replies.append(snapshot)
        return replies

    def _snapshot(self, arg: dict[str, Any]) -> str | None:
        key = (wire.label(arg.get("channel")), wire.label(arg.get("instId")))
        if key not in self._books:
            return None
        bid_side, ask_side = self._books[key]
        bids = [bid_side[p] for p in sorted(bid_side, reverse=True)]
        asks = [ask_side[p] for p in sorted(ask_side)]
        last = self._last[key]
        entry: dict[str, Any] = {
            "asks": asks,
            "bids": bids,
            "ts": last.get("ts", "0"),
            "checksum": checksum([(b[0], b[1]) for b in bids], [(a[0], a[1]) for a in asks]),
        }
        if "seqId" in last:
            entry["prevSeqId"] = -1
            entry["seqId"] = last["seqId"]
        return wire.reply_json(
            {"arg": {"channel": key[0], "instId": key[1]}, "action": "snapshot", "data": [entry]}
        )


register_simulated(SimulatedSide(VENUE_ID, venue=OkxSimulatedVenue))
