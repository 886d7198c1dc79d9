"""Bitfinex ws/2 channels: the ``conf`` flags, subscribe frames, book lengths, candle keys,
and how subscriptions are packed into connections of at most 25 channels.

Sources: https://docs.bitfinex.com/docs/ws-general (``conf`` flags ``SEQ_ALL`` 65536
and ``OB_CHECKSUM`` 131072, summed; ``{"event":"ping","cid":...}``),
https://docs.bitfinex.com/docs/ws-public ("You can subscribe to 25 channels at the
same time on the same connection"; 20 connections per minute), the books page
(``prec`` ``P0``, ``freq`` ``F0``, ``len`` 1, 25, 100 or 250), the candles page
(``key`` ``trade:<time frame>:<symbol>``) and the subscribe frames of
``bitfinex.jsonl``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace

from relay.config.model import SubscriptionConfig, VenueConfig
from relay.domain.errors import InvalidValueError
from relay.domain.model import DataType
from relay.infrastructure.venues.bitfinex.parse import INTERVAL_MS

SEQ_ALL = 65536
"""``conf`` flag: every array message ends with the connection's sequence number."""

OB_CHECKSUM = 131072
"""``conf`` flag: a ``[CHAN_ID, "cs", CHECKSUM]`` message after every book change."""

CONF_FRAME = json.dumps({"event": "conf", "flags": SEQ_ALL + OB_CHECKSUM}, separators=(",", ":"))
"""The first frame the relay sends: sequence numbers and book checksums."""

MAX_CHANNELS_PER_CONNECTION = 25
"""The venue's subscription limit per connection (ws-public page)."""

BOOK_LENGTHS = (25, 100, 250)
"""``len`` values the relay subscribes (1 is offered too, but the checksum covers 25)."""

CHANNELS: dict[DataType, str] = {
    DataType.TRADE: "trades",
    DataType.TICKER: "ticker",
    DataType.L2_ORDERBOOK: "book",
    DataType.CANDLE: "candles",
}
"""Data type -> the venue channel that carries it."""

TIME_FRAMES = {"1d": "1D", "1w": "1W", "2w": "14D", "14d": "14D"}
"""Config intervals written otherwise by the venue (``1d`` -> ``1D``); the rest as given."""

CONFIG_INTERVALS = tuple(
    next((config for config, venue in TIME_FRAMES.items() if venue == frame), frame)
    for frame in INTERVAL_MS
)
"""The offered time frames as a config names them (``1D`` -> ``1d``, ``14D`` -> ``2w``),
in the candles page's order: what a refusal lists."""


def book_length(depth: int) -> int:
    """The book ``len`` for a subscription's ``depth``: the smallest of 25, 100, 250 that is
    >= ``depth``; 0 -> 25 (the venue's default); above 250 -> 250."""
    return next((n for n in BOOK_LENGTHS if n >= depth), BOOK_LENGTHS[-1])


def time_frame(interval: str) -> str:
    """The venue's candle time frame of a config ``candle_interval`` (``"1d"`` -> ``"1D"``).

    Raises:
        InvalidValueError: a time frame the candles page does not offer (``1M``, a
            calendar month, is left out: its length varies).
    """
    frame = TIME_FRAMES.get(interval, interval)
    if frame not in INTERVAL_MS:
        raise InvalidValueError(
            "candle_interval", interval, f"Bitfinex offers {', '.join(CONFIG_INTERVALS)}"
        )
    return frame


def candle_key(interval: str, symbol: str) -> str:
    """``trade:1m:tBTCUSD``."""
    return f"trade:{time_frame(interval)}:{symbol}"


def subscribe_frame(data_type: DataType, sub: SubscriptionConfig) -> str:
    """The ``subscribe`` frame of one channel of a subscription.

    Shapes (the books page and ``bitfinex.jsonl``)::

        {"event":"subscribe","channel":"trades","symbol":"tBTCUSD"}
        {"event":"subscribe","channel":"book","symbol":"tBTCUSD","prec":"P0","freq":"F0","len":"100"}
        {"event":"subscribe","channel":"candles","key":"trade:1m:tBTCUSD"}
    """
    channel = CHANNELS[data_type]
    request: dict[str, str] = {"event": "subscribe", "channel": channel}
    if data_type is DataType.CANDLE:
        request["key"] = candle_key(sub.candle_interval, sub.instrument)
    else:
        request["symbol"] = sub.instrument
    if data_type is DataType.L2_ORDERBOOK:
        request |= {"prec": "P0", "freq": "F0", "len": str(book_length(sub.depth))}
    return json.dumps(request, separators=(",", ":"))


def unsubscribe_frame(chan_id: int) -> str:
    """``{"event":"unsubscribe","chanId":232954}``."""
    return json.dumps({"event": "unsubscribe", "chanId": chan_id}, separators=(",", ":"))


def channel_count(sub: SubscriptionConfig) -> int:
    """How many venue channels one subscription opens (one per data type)."""
    return len({CHANNELS[t] for t in sub.data_types if t in CHANNELS})


def split_config(config: VenueConfig) -> Sequence[VenueConfig]:
    """The config cut into connections of at most :data:`MAX_CHANNELS_PER_CONNECTION`
    channels, subscriptions kept whole and in order (a subscription opens one channel per
    data type: 7 symbols with trades, ticker and book fit one connection)."""
    parts: list[list[SubscriptionConfig]] = [[]]
    used = 0
    for sub in config.subscriptions:
        count = channel_count(sub)
        if parts[-1] and used + count > MAX_CHANNELS_PER_CONNECTION:
            parts.append([])
            used = 0
        parts[-1].append(sub)
        used += count
    return [replace(config, subscriptions=tuple(part)) for part in parts if part]
