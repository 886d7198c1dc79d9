"""BitMEX's side of a simulated connection (``relay simulate``).

Reads recorded ``orderBookL2`` rows with the venue's own reader
(:func:`relay.infrastructure.venues.bitmex.parse.book_row`); registered by venue
id in :mod:`relay.sim.venues.registry`.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from relay.domain.errors import InvalidValueError
from relay.domain.model import Side
from relay.infrastructure.venues.bitmex import VENUE_ID
from relay.infrastructure.venues.bitmex.parse import book_row, symbol
from relay.infrastructure.venues.common import wire
from relay.sim.venues.registry import SimulatedSide, register_simulated

_BOOK_TABLES = ("orderBookL2", "orderBookL2_25")


class BitmexSimulatedVenue:
    """BitMEX's side of one connection served by ``relay simulate``.

    - ``ping`` -> ``pong``.
    - ``{"op":"subscribe"|"unsubscribe","args":[...]}`` -> one
      ``{"success":true,"<op>":"<arg>","request":{...}}`` per string argument;
      any other ``op`` -> ``{"status":400,"error":"Unknown or unsupported op","request":...}``.
    - After a ``subscribe`` answer, one fresh ``partial`` for every book argument
      subscribed again (unsubscribed earlier on this connection, as a resync does)
      whose symbol's book the replay has already passed: the rows as of the last
      recorded frame passed, so the recorded rows that follow apply to it. A first
      subscribe gets the recorded frames only, as the recording answered it.

    Books are rebuilt from recorded ``orderBookL2`` frames passed (partial, then
    rows applied by id; rows for unknown ids are ignored).
    """

    def __init__(self) -> None:
        self._books: dict[str, dict[int, tuple[Side, Decimal, Decimal]]] = {}
        self._unsubscribed: set[str] = set()

    def on_frame_passed(self, frame: str) -> None:
        """Track the recorded books; frames that are not book frames are ignored."""
        message = wire.parse_object(frame, exact=True)
        if message is None or message.get("table") not in _BOOK_TABLES:
            return
        action = message.get("action")
        data = message.get("data")
        if action not in ("partial", "insert", "update", "delete") or not isinstance(data, list):
            return
        try:
            rows = [(symbol(r), *book_row(r, action)) for r in data]
        except (KeyError, TypeError, AttributeError, InvalidValueError):
            return
        if action == "partial":
            for name in {r[0] for r in rows}:
                self._books[name] = {}
        for name, level_id, side, price, size in rows:
            book = self._books.get(name)
            if book is None:
                continue
            if action == "delete":
                book.pop(level_id, None)
            elif action == "update":
                if level_id in book:
                    known_side, known_price, _ = book[level_id]
                    book[level_id] = (known_side, known_price, size)
            elif price is not None:
                book[level_id] = (side, price, size)

    def on_client_frame(self, frame: str) -> Sequence[str]:
        """Answers to one client frame (see the class docstring); ``[]`` for others."""
        if frame == "ping":
            return ["pong"]
        message = wire.parse_object(frame)
        if message is None:
            return []
        op = message.get("op")
        args = message.get("args")
        if op not in ("subscribe", "unsubscribe"):
            refusal = wire.reply_json(
                {"status": 400, "error": "Unknown or unsupported op", "request": message}
            )
            return [] if refusal is None else [refusal]
        names = [a for a in args if isinstance(a, str)] if isinstance(args, list) else []
        answers: list[str] = []
        for name in names:
            answer = wire.reply_json({"success": True, op: name, "request": message})
            if answer is not None:
                answers.append(answer)
        if op == "unsubscribe":
            self._unsubscribed.update(names)
            return answers
        again = [n for n in names if n in self._unsubscribed]
        self._unsubscribed.difference_update(again)
        return answers + [s for n in again if (s := self._partial(n)) is not None]

    def _partial(self, channel: str) -> str | None:
        table, _, name = channel.partition(":")
        if table not in _BOOK_TABLES or name not in self._books:
            return None
        rows: list[dict[str, Any]] = [
            {
                "symbol": name,
                "id": level_id,
                "side": side.value.capitalize(),
                "size": size,
                "price": price,
            }
            for level_id, (side, price, size) in sorted(self._books[name].items())
        ]
        text = ",".join(
            f'{{"symbol":{_json(r["symbol"])},"id":{r["id"]},"side":"{r["side"]}",'
            f'"size":{r["size"]},"price":{r["price"]}}}'
            for r in rows
        )
        return (
            f'{{"table":"{table}","action":"partial","keys":["symbol","id","side"],'
            f'"filter":{{"symbol":{_json(name)}}},"data":[{text}]}}'
        )


def _json(text: str) -> str:
    return wire.reply_json(text) or '""'


register_simulated(SimulatedSide(VENUE_ID, venue=BitmexSimulatedVenue))
