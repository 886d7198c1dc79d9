"""Bitfinex's side of a simulated connection (``relay simulate``).

Rebuilds recorded books with the venue package's readers
(:func:`relay.infrastructure.venues.bitfinex.parse.book_level`,
:func:`~relay.infrastructure.venues.bitfinex.parse.book_snapshot`) and computes
checksums with its :func:`~relay.infrastructure.venues.bitfinex.book.checksum`;
registered by venue id in :mod:`relay.sim.venues.registry`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from relay.application.errors import FrameError
from relay.domain.errors import InvalidValueError
from relay.infrastructure.venues.bitfinex import VENUE_ID
from relay.infrastructure.venues.bitfinex.book import checksum, js_number
from relay.infrastructure.venues.bitfinex.channels import OB_CHECKSUM, SEQ_ALL
from relay.infrastructure.venues.bitfinex.parse import (
    BookLevel,
    book_level,
    book_snapshot,
    is_snapshot,
)
from relay.infrastructure.venues.common import wire
from relay.sim.venues.registry import SimulatedSide, register_simulated

_READ_ERRORS = (ValueError, KeyError, TypeError, IndexError, InvalidValueError)

FIRST_NEW_CHAN_ID = 900_000_000
"""Channel ids given to channels subscribed again (the venue gives a new id each time)."""

_Side = dict[Decimal, BookLevel]


def _channel_of(message: dict[str, Any]) -> tuple[Any, Any]:
    """``(channel, symbol or candle key)`` of a ``subscribe`` / ``subscribed`` message."""
    return message.get("channel"), message.get("key", message.get("symbol"))


class BitfinexSimulatedVenue:
    """Bitfinex's side of one connection served by ``relay simulate``.

    The recording answers the client's first ``conf`` and ``subscribe`` frames; this
    side makes the recorded frames what the venue would send this client:

    - The recorded ``conf`` answer carries the client's flags. Recorded sequence
      numbers (``SEQ_ALL``) are sent only if the client asked for them,
      renumbered so that they stay contiguous (frames added or left out shift them).
    - With ``OB_CHECKSUM`` asked, every recorded book message is followed by
      ``[CHAN_ID, "cs", CHECKSUM]`` of the book as rebuilt from the recorded frames.
    - ``unsubscribe`` -> ``unsubscribed``; the channel's recorded frames are not sent
      from then on. A ``subscribe`` of such a channel -> ``subscribed`` with a new
      ``chanId`` (the recorded frames of the channel go on under it) and, for a book,
      a fresh snapshot as of the frames passed (and its checksum).
    - ``ping`` -> ``pong``; other frames -> nothing.
    """

    def __init__(self) -> None:
        self._client_flags: int | None = None
        self._recorded_seq = False
        self._offset = 0
        self._last_seq = 0
        self._subscribed: dict[int, dict[str, Any]] = {}
        self._served: dict[int, int] = {}
        self._closed: set[int] = set()
        self._books: dict[int, tuple[_Side, _Side]] = {}
        self._next_chan_id = FIRST_NEW_CHAN_ID

    @property
    def _flags(self) -> int:
        return self._client_flags or 0

    def on_frame_passed(self, frame: str) -> Sequence[str] | None:
        """The frames to send for one recorded frame (see the class docstring)."""
        try:
            message = wire.exact_json(frame)
        except FrameError:
            return None
        if isinstance(message, dict):
            return self._event_passed(message)
        if not (isinstance(message, list) and len(message) >= 2 and type(message[0]) is int):
            return None
        chan = message[0]
        seq = message[-1] if self._recorded_seq and type(message[-1]) is int else None
        body = message[1:-1] if seq is not None else message[1:]
        self._track(chan, body)
        if chan in self._closed:
            if seq is not None:
                self._offset -= 1
            return []
        served = self._served.get(chan, chan)
        text = frame.strip()
        start = text.index(",") + 1
        body_text = text[start : text.rindex(",")] if seq is not None else text[start:-1]
        frames = [self._frame(served, body_text, seq)]
        if self._flags & OB_CHECKSUM and chan in self._books and body and body[0] != "hb":
            frames.append(self._checksum_frame(served, chan))
        return frames

    def _frame(self, served: int, body_text: str, seq: int | None) -> str:
        """``[served chanId, body, seq]``, the seq renumbered, or left out if not asked."""
        if seq is None or not self._flags & SEQ_ALL:
            return f"[{served},{body_text}]"
        self._last_seq = seq + self._offset
        return f"[{served},{body_text},{self._last_seq}]"

    def _next_seq_suffix(self) -> str:
        """``,<seq>`` for a frame this side adds (shifting later recorded ones), or ``""``."""
        if not (self._recorded_seq and self._flags & SEQ_ALL):
            return ""
        self._offset += 1
        self._last_seq += 1
        return f",{self._last_seq}"

    def _checksum_frame(self, served: int, chan: int) -> str:
        bids, asks = self._books[chan]
        value = checksum(
            ((p, bids[p][2]) for p in sorted(bids, reverse=True)),
            ((p, asks[p][2]) for p in sorted(asks)),
        )
        return f'[{served},"cs",{value}{self._next_seq_suffix()}]'

    def _event_passed(self, message: dict[str, Any]) -> Sequence[str] | None:
        event = message.get("event")
        if event == "subscribed" and type(message.get("chanId")) is int:
            self._subscribed[message["chanId"]] = message
            if message.get("channel") == "book":
                self._books.setdefault(message["chanId"], ({}, {}))
            return None
        if event == "conf":
            flags = message.get("flags")
            self._recorded_seq = type(flags) is int and bool(flags & SEQ_ALL)
            if self._client_flags is None:
                return []
            answer = wire.reply_json({"event": "conf", "status": "OK", "flags": self._flags})
            return None if answer is None else [answer]
        return None

    def _track(self, chan: int, body: list[Any]) -> None:
        """Apply a recorded book message to the rebuilt book of its channel."""
        book = self._books.get(chan)
        if book is None or not body:
            return
        try:
            if is_snapshot(body[0]):
                levels = book_snapshot(body[0])
                book[0].clear()
                book[1].clear()
                for level in levels:
                    (book[0] if level[2] > 0 else book[1])[level[0]] = level
                return
            level = book_level(body[0])
        except _READ_ERRORS:
            return
        side = book[0] if level[2] > 0 else book[1]
        if level[1] == 0:
            side.pop(level[0], None)
        else:
            side[level[0]] = level

    def on_client_frame(self, frame: str) -> Sequence[str]:
        """Answers to one client frame (see the class docstring)."""
        message = wire.parse_object(frame)
        if message is None:
            return []
        event = message.get("event")
        if event == "conf":
            flags = message.get("flags")
            self._client_flags = flags if type(flags) is int and 0 <= flags < 2**31 else 0
            return []
        if event == "ping":
            pong = {"event": "pong", "ts": int(time.time() * 1000), "cid": message.get("cid")}
            answer = wire.reply_json(pong)
            return [] if answer is None else [answer]
        if event == "unsubscribe":
            return self._unsubscribe(message.get("chanId"))
        if event == "subscribe":
            return self._subscribe_again(_channel_of(message))
        return []

    def _unsubscribe(self, served: Any) -> Sequence[str]:
        for chan in self._subscribed:
            if chan not in self._closed and self._served.get(chan, chan) == served:
                self._closed.add(chan)
                return [f'{{"event":"unsubscribed","status":"OK","chanId":{served}}}']
        return ['{"event":"error","msg":"unsubscribe: invalid","code":10400}']

    def _subscribe_again(self, wanted: tuple[Any, Any]) -> Sequence[str]:
        """A channel unsubscribed earlier, subscribed again: a new id, a fresh book."""
        chan = next((c for c in self._closed if _channel_of(self._subscribed[c]) == wanted), None)
        if chan is None:
            return []
        self._closed.discard(chan)
        served = self._next_chan_id
        self._next_chan_id += 1
        self._served[chan] = served
        answer = wire.reply_json(self._subscribed[chan] | {"chanId": served})
        frames = [] if answer is None else [answer]
        if chan in self._books:
            bids, asks = self._books[chan]
            levels = [bids[p] for p in sorted(bids, reverse=True)]
            levels += [asks[p] for p in sorted(asks)]
            body = ",".join(f"[{js_number(p)},{c},{js_number(a)}]" for p, c, a in levels)
            frames.append(f"[{served},[{body}]{self._next_seq_suffix()}]")
            if self._flags & OB_CHECKSUM:
                frames.append(self._checksum_frame(served, chan))
        return frames


register_simulated(SimulatedSide(VENUE_ID, venue=BitfinexSimulatedVenue))
