"""OKX's channels, endpoints and subscribe frames: which channel serves which data type.

From https://www.okx.com/docs-v5/en/#overview-websocket-subscribe (64 KB channel
lists, candles on the business endpoint) and the channel pages of
https://www.okx.com/docs-v5/en/#order-book-trading-market-data.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import orjson

from relay.config.model import SubscriptionConfig, VenueConfig
from relay.domain.errors import InvalidValueError
from relay.domain.model import DataType

PUBLIC_WS_URL = "wss://ws.okx.com:8443/ws/v5/public"
BUSINESS_WS_URL = "wss://ws.okx.com:8443/ws/v5/business"

MAX_SUBSCRIBE_BYTES = 60_000
"""Largest subscribe frame sent; OKX limits a request's channel list to 64 KB."""

BOOKS5_MAX_DEPTH = 5
"""A ``depth`` of 1 to 5 maps to ``books5``; 0 and more than 5 to ``books`` (400 levels)."""


BOOK_CHANNELS = frozenset({"books", "books5", "books-l2-tbt", "books50-l2-tbt", "bbo-tbt"})
"""Order book channels this module reads (it subscribes to ``books`` and ``books5``)."""

SNAPSHOT_ONLY_BOOK_CHANNELS = frozenset({"books5", "bbo-tbt"})
"""Book channels whose every push is a whole (short) book, without ``action``."""

CHANNELS = {
    DataType.TRADE: "trades",
    DataType.TICKER: "tickers",
    DataType.FUNDING_RATE: "funding-rate",
    DataType.OPEN_INTEREST: "open-interest",
}
"""Data type -> channel, for the data types whose channel is named per instrument alone."""

_BARS = frozenset(
    {
        "1s",
        "1m",
        "3m",
        "5m",
        "15m",
        "30m",
        "1H",
        "2H",
        "4H",
        "6H",
        "12H",
        "1D",
        "2D",
        "3D",
        "5D",
        "1W",
        "1M",
        "3M",
        "6Hutc",
        "12Hutc",
        "1Dutc",
        "2Dutc",
        "3Dutc",
        "5Dutc",
        "1Wutc",
        "1Mutc",
        "3Mutc",
    }
)
"""OKX's candle bars (channel ``candle<bar>``)."""


def book_channel(depth: int) -> str:
    """The order book channel for a subscription's ``depth`` (see module docstring)."""
    return "books5" if 1 <= depth <= BOOKS5_MAX_DEPTH else "books"


CANDLE_INTERVALS = {
    "1s": "1s",
    "1m": "1m",
    "3m": "3m",
    "5m": "5m",
    "15m": "15m",
    "30m": "30m",
    "1h": "1H",
    "2h": "2H",
    "4h": "4H",
    "6h": "6H",
    "12h": "12H",
    "1d": "1D",
    "2d": "2D",
    "3d": "3D",
    "5d": "5D",
    "1w": "1W",
    "1M": "1M",
    "3M": "3M",
}
"""Relay interval -> OKX bar, for the bars of the candlesticks channel (``candle<bar>``,
https://www.okx.com/docs-v5/en/#order-book-trading-market-data-ws-candlesticks-channel)
that a relay interval word can name (the ``...utc`` bars cannot: they are Hong Kong
time's bars shifted to UTC, not another length)."""


def okx_bar(interval: str) -> str:
    """OKX's bar for a configured candle interval: ``"1h"`` -> ``"1H"``, ``"1m"`` -> ``"1m"``.

    OKX spells hours, days and weeks in capitals (``1m`` is a minute, ``1M`` a
    month). OKX's own bars (``"4H"``, ``"6Hutc"``) are returned as they are.

    Raises:
        InvalidValueError: neither a key of :data:`CANDLE_INTERVALS` nor an OKX bar.
    """
    if interval in _BARS:
        return interval
    bar = CANDLE_INTERVALS.get(interval)
    if bar is None:
        raise InvalidValueError(
            "candle_interval", interval, f"OKX offers {', '.join(CANDLE_INTERVALS)}"
        )
    return bar


def instrument_type(inst_id: str) -> str:
    """OKX's instType of an instId: ``SWAP``, ``FUTURES``, ``OPTION`` or ``MARGIN`` (spot pairs)."""
    parts = inst_id.split("-")
    if len(parts) == 3 and parts[2] == "SWAP":
        return "SWAP"
    if len(parts) == 3:
        return "FUTURES"
    if len(parts) == 5:
        return "OPTION"
    return "MARGIN"


def business_url(ws_url: str) -> str:
    """The business endpoint beside a public one: a trailing ``/public`` becomes ``/business``.

    ``wss://ws.okx.com:8443/ws/v5/public`` -> ``wss://ws.okx.com:8443/ws/v5/business``;
    ``ws://127.0.0.1:9000/okx/ws/v5/public`` -> ``ws://127.0.0.1:9000/okx/ws/v5/business``.
    A URL not ending in ``/public`` is returned unchanged.
    """
    base = ws_url.rstrip("/")
    if base.endswith("/public"):
        return base[: -len("public")] + "business"
    return ws_url


def split_config(config: VenueConfig) -> list[VenueConfig]:
    """The venue config split by endpoint: everything but candles on the public one,
    candles on the business one (``ws_url`` derived with :func:`business_url`).

    Parts without subscriptions are left out.
    """
    public: list[SubscriptionConfig] = []
    business: list[SubscriptionConfig] = []
    for sub in config.subscriptions:
        others = tuple(t for t in sub.data_types if t is not DataType.CANDLE)
        if others:
            public.append(dataclasses.replace(sub, data_types=others))
        if DataType.CANDLE in sub.data_types:
            business.append(dataclasses.replace(sub, data_types=(DataType.CANDLE,)))
    parts: list[VenueConfig] = []
    if public:
        parts.append(dataclasses.replace(config, subscriptions=tuple(public)))
    if business:
        parts.append(
            dataclasses.replace(
                config,
                subscriptions=tuple(business),
                ws_url=business_url(config.ws_url or PUBLIC_WS_URL),
            )
        )
    return parts


def _dumps(value: object) -> str:
    return orjson.dumps(value).decode()


def op_frames(op: str, args: Sequence[dict[str, str]]) -> list[str]:
    """``{"op": op, "args": [...]}`` frames carrying ``args``, each under
    :data:`MAX_SUBSCRIBE_BYTES`."""
    frames: list[str] = []
    batch: list[dict[str, str]] = []
    size = 0
    overhead = len(f'{{"op":"{op}","args":[]}}')
    for arg in args:
        arg_bytes = len(_dumps(arg)) + 1
        if batch and overhead + size + arg_bytes > MAX_SUBSCRIBE_BYTES:
            frames.append(_dumps({"op": op, "args": batch}))
            batch, size = [], 0
        batch.append(arg)
        size += arg_bytes
    if batch:
        frames.append(_dumps({"op": op, "args": batch}))
    return frames
