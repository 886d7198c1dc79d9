"""Hyperliquid frames read into events: trades, bbo tickers, asset contexts, candles.

Formats follow the subscriptions page's types ``WsTrade``, ``WsBbo``,
``WsActiveAssetCtx`` and ``Candle``
(https://hyperliquid.gitbook.io/hyperliquid-docs/for-developers/api/websocket/subscriptions)
and the info endpoint's documented example bodies
(https://hyperliquid.gitbook.io/hyperliquid-docs/for-developers/api/info-endpoint).
The readers raise ``KeyError`` (a missing field), ``TypeError`` or
:class:`~relay.domain.errors.InvalidValueError`; the protocol maps those to
``FrameError`` reasons.
"""

from __future__ import annotations

import hashlib
from typing import Any

from relay.application.errors import FrameError
from relay.domain.errors import InvalidValueError
from relay.domain.model import (
    Candle,
    DataType,
    FundingRate,
    Instrument,
    MarketEvent,
    OpenInterest,
    Ticker,
    Trade,
)
from relay.infrastructure.venues.common import sides, wire
from relay.infrastructure.venues.hyperliquid.book import level

CANDLE_INTERVALS = (
    "1m",
    "3m",
    "5m",
    "15m",
    "30m",
    "1h",
    "2h",
    "4h",
    "8h",
    "12h",
    "1d",
    "3d",
    "1w",
    "1M",
)
"""The intervals of the ``candle`` subscription
(https://hyperliquid.gitbook.io/hyperliquid-docs/for-developers/api/websocket/subscriptions:
``{"type": "candle", "coin": ..., "interval": ...}``); any other is refused when
the protocol is built."""


def context_digest(ctx: dict[str, Any]) -> str:
    """16 hex digits of BLAKE2b over an asset context's fields, sorted by name.

    Each value is written with ``str`` (a JSON string as sent, a number as the
    Decimal it was decoded to, ``impactPxs`` as its list), so the same frame
    always gives the same digest, whichever order its fields came in.
    """
    text = "|".join(f"{name}={ctx[name]}" for name in sorted(ctx))
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


def trade(trade: dict[str, Any], instrument: Instrument, received_at_ms: int) -> MarketEvent:
    """One ``WsTrade``: side ``B`` (buyer took) is BUY, ``A`` is SELL.

    The subscriptions page: "tid is 50-bit hash of (buyer_oid, seller_oid).
    For a globally unique trade id, use (block_time, coin, tid)": the dedup
    key is ``<time>:<tid>`` (the coin is in the message id already).
    """
    side = sides.side("side", trade["side"], "B", "A", quoted=True)
    time_ms = wire.integer("time", trade["time"])
    tid = wire.integer("tid", trade["tid"])
    return MarketEvent(
        instrument,
        DataType.TRADE,
        received_at_ms,
        time_ms,
        Trade(
            str(tid),
            wire.price("px", trade["px"]),
            wire.quantity("sz", trade["sz"]),
            side,
        ),
        f"{time_ms}:{tid}",
    )


def bbo_ticker(
    bbo: dict[str, Any], instrument: Instrument, time_ms: int, received_at_ms: int
) -> MarketEvent:
    """One ``WsBbo`` (``bbo: [bid | null, ask | null]``) at ``time_ms``; dedup key: its time.

    Raises:
        FrameError: ``one_sided_book`` (a side is null).
        KeyError, InvalidValueError: malformed, or crossed (bid >= ask).
    """
    pair = bbo["bbo"]
    if type(pair) is not list or len(pair) != 2:
        raise InvalidValueError("bbo", pair, "expected [bid, ask]")
    if pair[0] is None or pair[1] is None:
        coin = instrument.instrument
        raise FrameError("one_sided_book", f"bbo {wire.label(coin)} at {time_ms}: {pair}")
    bid_price, bid_size = level("bid", pair[0])
    ask_price, ask_size = level("ask", pair[1])
    if bid_price >= ask_price:
        raise InvalidValueError("bbo", str(bid_price), f"crossed: ask {ask_price}")
    return MarketEvent(
        instrument,
        DataType.TICKER,
        received_at_ms,
        time_ms,
        Ticker(bid_price, bid_size, ask_price, ask_size),
        str(time_ms),
    )


def asset_ctx(
    ctx: dict[str, Any],
    instrument: Instrument,
    data_types: frozenset[DataType],
    received_at_ms: int,
) -> list[MarketEvent]:
    """``WsActiveAssetCtx``'s ``ctx``: funding_rate (funding, markPx, oraclePx) and open_interest,
    each when in ``data_types``.

    The message carries no time and no sequence, so the dedup keys are its
    content: ``<funding>:<markPx>:<oraclePx>:<h>`` and ``<openInterest>:<h>``,
    ``h`` a digest of the whole context (:func:`context_digest`: 24 h volume,
    premium, mid and impact prices too). A re-sent, unchanged context is
    therefore published once per JetStream duplicate window, while an open
    interest or funding that returns to an earlier value is published again
    (the rest of the context, the 24 h notional volume above all, has moved).
    """
    digest = context_digest(ctx)
    events: list[MarketEvent] = []
    if DataType.FUNDING_RATE in data_types:
        rate = wire.decimal("funding", ctx["funding"])
        mark = wire.price("markPx", ctx["markPx"])
        oracle = wire.price("oraclePx", ctx["oraclePx"])
        events.append(
            MarketEvent(
                instrument,
                DataType.FUNDING_RATE,
                received_at_ms,
                None,
                FundingRate(rate=rate, mark_price=mark, index_price=oracle),
                f"{rate}:{mark}:{oracle}:{digest}",
            )
        )
    if DataType.OPEN_INTEREST in data_types:
        open_interest = wire.quantity("openInterest", ctx["openInterest"])
        events.append(
            MarketEvent(
                instrument,
                DataType.OPEN_INTEREST,
                received_at_ms,
                None,
                OpenInterest(open_interest),
                f"{open_interest}:{digest}",
            )
        )
    return events


def candle(body: dict[str, Any], interval: str, open_time: int) -> Candle:
    """One ``Candle`` body (``t`` already read as ``open_time``), as an open candle.

    Shape (the info endpoint's ``candleSnapshot`` example)::

        {"t":1681923600000,"T":1681924499999,"s":"BTC","i":"15m","o":"29295.0",
         "c":"29258.0","h":"29309.0","l":"29250.0","v":"0.98639","n":189}
    """
    return Candle(
        interval=interval,
        open_time_ms=open_time,
        close_time_ms=wire.integer("T", body["T"]),
        open=wire.price("o", body["o"]),
        high=wire.price("h", body["h"]),
        low=wire.price("l", body["l"]),
        close=wire.price("c", body["c"]),
        volume=wire.quantity("v", body["v"]),
        is_closed=False,
        trade_count=wire.integer("n", body["n"]),
    )
