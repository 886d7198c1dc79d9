"""Bybit v5 public frames read into events: headers, trades, candles, liquidations.

Every format follows the documented examples (no recorded Bybit session exists
in ``shared/captures``): https://bybit-exchange.github.io/docs/v5/websocket/public/trade,
https://bybit-exchange.github.io/docs/v5/websocket/public/kline,
https://bybit-exchange.github.io/docs/v5/websocket/public/all-liquidation and,
for the common ``{"topic","type","ts","data"}`` shape,
https://bybit-exchange.github.io/docs/v5/websocket/public/orderbook.

The readers raise ``KeyError`` (a missing field), ``TypeError`` or
:class:`~relay.domain.errors.InvalidValueError`; the protocol maps those to
``FrameError`` reasons.
"""

from __future__ import annotations

from typing import Any

from relay.domain.errors import InvalidValueError
from relay.domain.model import Candle, DataType, Instrument, Liquidation, MarketEvent, Trade
from relay.infrastructure.venues.common import sides, wire


def time_ms(field: str, raw: Any) -> int:
    """Epoch ms sent as a JSON integer or as a string of digits.

    ``nextFundingTime`` is documented as a string; ``ts`` as a number, though the
    orderbook page's field-order reminder shows it quoted, so both are taken.
    """
    if isinstance(raw, str) and raw.isdigit() and len(raw) <= 19:
        return wire.integer(field, int(raw))
    return wire.integer(field, raw)


def header(message: dict[str, Any]) -> tuple[bool, int]:
    """``(is_snapshot, ts ms)`` of a data frame: ``type`` is ``snapshot`` or ``delta``.

    Raises:
        KeyError: ``type`` or ``ts`` missing.
        InvalidValueError: another ``type``, or a malformed ``ts``.
    """
    kind = message["type"]
    if kind not in ("snapshot", "delta"):
        raise InvalidValueError("type", kind, "expected snapshot or delta")
    return kind == "snapshot", time_ms("ts", message["ts"])


def object_message(message: dict[str, Any]) -> tuple[bool, int, dict[str, Any]]:
    """``(is_snapshot, ts ms, data)`` of a frame whose ``data`` is one object (books, tickers).

    Raises:
        KeyError, InvalidValueError: as :func:`header`; ``data`` missing or not an object.
    """
    is_snapshot, ts_ms = header(message)
    data = message["data"]
    if not isinstance(data, dict):
        raise InvalidValueError("data", data, "expected an object")
    return is_snapshot, ts_ms, data


def _items(message: dict[str, Any]) -> list[dict[str, Any]]:
    data = message["data"]
    items = data if isinstance(data, list) else [data]
    for item in items:
        if not isinstance(item, dict):
            raise InvalidValueError("data", item, "expected an object")
    return items


def trades(
    message: dict[str, Any], instrument: Instrument, received_at_ms: int
) -> list[MarketEvent]:
    """``publicTrade``: one event per trade; ``S`` is the taker side, ``i`` the trade id.

    Shape (the trade page's example, trimmed)::

        {"topic":"publicTrade.BTCUSDT","type":"snapshot","ts":1672304486868,
         "data":[{"T":1672304486865,"s":"BTCUSDT","S":"Buy","v":"0.001","p":"16578.50",
         "L":"PlusTick","i":"20f43950-d8dd-5b31-9112-a178eb6023af","BT":false}]}
    """
    events: list[MarketEvent] = []
    for item in _items(message):
        trade_id = wire.text("i", item["i"])
        events.append(
            MarketEvent(
                instrument,
                DataType.TRADE,
                received_at_ms,
                wire.integer("T", item["T"]),
                Trade(
                    trade_id,
                    wire.price("p", item["p"]),
                    wire.quantity("v", item["v"]),
                    sides.side("S", item["S"], "Buy", "Sell"),
                ),
                trade_id,
            )
        )
    return events


def candles(
    message: dict[str, Any], instrument: Instrument, interval: str, received_at_ms: int
) -> list[MarketEvent]:
    """``kline``: one candle per item; ``confirm`` true when closed, ``turnover`` in quote.

    ``interval`` is the relay's interval word the topic was subscribed for (``"1m"``).
    """
    _, ts_ms = header(message)
    events: list[MarketEvent] = []
    for item in _items(message):
        start = wire.integer("start", item["start"])
        confirm = item["confirm"]
        if not isinstance(confirm, bool):
            raise InvalidValueError("confirm", confirm, "expected a boolean")
        last_match = wire.integer("timestamp", item["timestamp"]) if "timestamp" in item else ts_ms
        events.append(
            MarketEvent(
                instrument,
                DataType.CANDLE,
                received_at_ms,
                ts_ms,
                Candle(
                    interval=interval,
                    open_time_ms=start,
                    close_time_ms=wire.integer("end", item["end"]),
                    open=wire.price("open", item["open"]),
                    high=wire.price("high", item["high"]),
                    low=wire.price("low", item["low"]),
                    close=wire.price("close", item["close"]),
                    volume=wire.quantity("volume", item["volume"]),
                    is_closed=confirm,
                    quote_volume=(
                        wire.quantity("turnover", item["turnover"]) if "turnover" in item else None
                    ),
                ),
                f"{start}:{last_match}:{'closed' if confirm else 'open'}",
            )
        )
    return events


def liquidations(
    message: dict[str, Any], instrument: Instrument, received_at_ms: int
) -> list[MarketEvent]:
    """``allLiquidation``: ``S`` is the liquidated *position's* side, so ``Buy`` (a long
    liquidated) is a SELL liquidation order; ``p`` is the bankruptcy price."""
    events: list[MarketEvent] = []
    for item in _items(message):
        side = sides.opposite(sides.side("S", item["S"], "Buy", "Sell"))
        trade_time_ms = wire.integer("T", item["T"])
        price = wire.price("p", item["p"])
        quantity = wire.quantity("v", item["v"])
        events.append(
            MarketEvent(
                instrument,
                DataType.LIQUIDATION,
                received_at_ms,
                trade_time_ms,
                Liquidation(side, price, quantity),
                f"{trade_time_ms}:{side.value}:{item['v']}:{item['p']}",
            )
        )
    return events
