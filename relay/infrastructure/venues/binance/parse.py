"""Binance combined-stream frames and REST depth snapshots, read into events and diffs.

Formats (trimmed samples in each reader's docstring) follow the stream pages
https://developers.binance.com/docs/binance-spot-api-docs/web-socket-streams,
https://developers.binance.com/docs/derivatives/usds-margined-futures/websocket-market-streams
and https://developers.binance.com/docs/derivatives/coin-margined-futures/websocket-market-streams,
and the recorded sessions ``binance-spot.jsonl``, ``binance-usdm.jsonl`` and
``binance-coinm.jsonl`` in ``shared/captures``.

The event readers take the ``data`` object of a frame and the subscribed
:class:`~relay.domain.model.Instrument` it names (looked up by the protocol),
and raise ``KeyError`` (a missing field), ``TypeError`` or
:class:`~relay.domain.errors.InvalidValueError`; the protocol maps those to
``FrameError`` reasons.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import orjson

from relay.domain.errors import InvalidValueError
from relay.domain.model import (
    Candle,
    DataType,
    FundingRate,
    Instrument,
    Liquidation,
    MarketEvent,
    PriceLevel,
    Side,
    Ticker,
    Trade,
    parse_decimal,
)
from relay.infrastructure.venues.common import wire
from relay.infrastructure.venues.common.update_id_book import DepthDiff


@dataclass(frozen=True, slots=True)
class DepthSnapshot:
    """A REST depth snapshot: ``lastUpdateId``, levels (best first as sent) and ``E`` if given."""

    last_update_id: int
    bids: tuple[PriceLevel, ...]
    asks: tuple[PriceLevel, ...]
    event_time_ms: int | None


def optional_int(data: dict[str, Any], field: str) -> int | None:
    """``data[field]`` as an id or time in 0..2**63-1, or None when absent or null.

    Raises:
        InvalidValueError: present but not such an integer.
    """
    raw = data.get(field)
    return None if raw is None else wire.integer(field, raw)


def _side_from_buyer_is_maker(buyer_is_maker: Any) -> Side:
    if not isinstance(buyer_is_maker, bool):
        raise InvalidValueError("m", buyer_is_maker, "expected a boolean")
    return Side.SELL if buyer_is_maker else Side.BUY


def depth_diff(data: dict[str, Any], futures: bool, received_at_ms: int) -> DepthDiff:
    """A ``depthUpdate`` ``data`` object as a :class:`DepthDiff` (``pu`` read on futures only).

    Shape (``binance-usdm.jsonl``)::

        {"e":"depthUpdate","E":1626992741037,"T":1626992741024,"s":"SUSHIUSDT",
         "U":600859599090,"u":600859600917,"pu":600859598061,
         "b":[["7.5040","813"]],"a":[["7.6150","1563"]]}

    Raises:
        KeyError: ``U``, ``u``, ``b``, ``a`` (or ``pu`` on futures) missing.
        InvalidValueError: ids or times outside 0..2**63-1, ``U > u``, a bad level.
    """
    first_update_id = wire.integer("U", data["U"])
    last_update_id = wire.integer("u", data["u"])
    if first_update_id > last_update_id:
        raise InvalidValueError("U", first_update_id, f"after u={last_update_id}")
    return DepthDiff(
        first_update_id=first_update_id,
        last_update_id=last_update_id,
        previous_update_id=wire.integer("pu", data["pu"]) if futures else None,
        bids=wire.levels("b", data["b"]),
        asks=wire.levels("a", data["a"]),
        event_time_ms=optional_int(data, "E"),
        received_at_ms=received_at_ms,
    )


def depth_snapshot(body: bytes) -> DepthSnapshot:
    """A REST depth snapshot body.

    Shape (``binance-usdm.jsonl``, ``GET /fapi/v1/depth?symbol=SUSHIUSDT&limit=1000``)::

        {"lastUpdateId":600859605926,"E":1626992741264,"T":1626992741261,
         "bids":[["7.6110","6"],...],"asks":[["7.6120","297"],...]}

    Spot snapshots have no ``E``/``T``.

    Raises:
        orjson.JSONDecodeError: not JSON.
        KeyError: ``lastUpdateId``, ``bids`` or ``asks`` missing.
        InvalidValueError: not an object, or a malformed field (same rules as for frames).
    """
    snapshot = wire.json_object("snapshot", orjson.loads(body))
    return DepthSnapshot(
        last_update_id=wire.integer("lastUpdateId", snapshot["lastUpdateId"]),
        bids=wire.levels("bids", snapshot["bids"]),
        asks=wire.levels("asks", snapshot["asks"]),
        event_time_ms=optional_int(snapshot, "E"),
    )


def agg_trade(data: dict[str, Any], instrument: Instrument, received_at_ms: int) -> MarketEvent:
    """``aggTrade``: a trade whose id is the aggregate trade id ``a``.

    Shape (``binance-usdm.jsonl``)::

        {"e":"aggTrade","E":1626992741575,"a":16599292,"s":"CTKUSDT","p":"1.01100",
         "q":"10","f":23961322,"l":23961322,"T":1626992741421,"m":false}
    """
    return _trade(data, instrument, received_at_ms, "a")


def trade(data: dict[str, Any], instrument: Instrument, received_at_ms: int) -> MarketEvent:
    """``trade``: a trade whose id is ``t`` (otherwise as :func:`agg_trade`)."""
    return _trade(data, instrument, received_at_ms, "t")


def _trade(
    data: dict[str, Any], instrument: Instrument, received_at_ms: int, id_field: str
) -> MarketEvent:
    trade_id = str(wire.integer(id_field, data[id_field]))
    return MarketEvent(
        instrument,
        DataType.TRADE,
        received_at_ms,
        wire.integer("T", data["T"]),
        Trade(
            trade_id,
            wire.price("price", data["p"]),
            wire.quantity("quantity", data["q"]),
            _side_from_buyer_is_maker(data["m"]),
        ),
        trade_id,
    )


def book_ticker(data: dict[str, Any], instrument: Instrument, received_at_ms: int) -> MarketEvent:
    """``bookTicker``: best bid/ask (``b``/``B``, ``a``/``A``) with update id ``u``.

    Spot frames carry no ``e`` or ``E`` (the stream name says ``@bookTicker``).
    """
    update_id = wire.integer("u", data["u"])
    return MarketEvent(
        instrument,
        DataType.TICKER,
        received_at_ms,
        optional_int(data, "E"),
        Ticker(
            wire.price("bid_price", data["b"]),
            wire.quantity("bid_quantity", data["B"]),
            wire.price("ask_price", data["a"]),
            wire.quantity("ask_quantity", data["A"]),
            update_id,
        ),
        str(update_id),
    )


def kline(data: dict[str, Any], instrument: Instrument, received_at_ms: int) -> MarketEvent:
    """``kline``: the candle object ``k`` (``t``/``T`` open and close times, ``x`` closed)."""
    k = wire.json_object("k", data["k"])
    open_time = wire.integer("t", k["t"])
    event_time = wire.integer("E", data["E"])
    is_closed = k["x"]
    if not isinstance(is_closed, bool):
        raise InvalidValueError("x", is_closed, "expected a boolean")
    return MarketEvent(
        instrument,
        DataType.CANDLE,
        received_at_ms,
        event_time,
        Candle(
            interval=wire.text("i", k["i"]),
            open_time_ms=open_time,
            close_time_ms=wire.integer("T", k["T"]),
            open=wire.price("open", k["o"]),
            high=wire.price("high", k["h"]),
            low=wire.price("low", k["l"]),
            close=wire.price("close", k["c"]),
            volume=wire.quantity("volume", k["v"]),
            is_closed=is_closed,
            quote_volume=wire.quantity("quote_volume", k["q"]) if "q" in k else None,
            trade_count=wire.integer("n", k["n"]) if "n" in k else None,
        ),
        f"{open_time}:{event_time}",
    )


def mark_price(
    data: dict[str, Any], instrument: Instrument, received_at_ms: int
) -> MarketEvent | None:
    """``markPriceUpdate``; delivery contracts send ``"r": ""`` and give no event (None)."""
    if data["r"] == "":
        return None
    next_funding = wire.integer("T", data["T"])
    event_time = wire.integer("E", data["E"])
    return MarketEvent(
        instrument,
        DataType.FUNDING_RATE,
        received_at_ms,
        event_time,
        FundingRate(
            rate=parse_decimal("rate", data["r"]),
            mark_price=wire.price("mark_price", data["p"]),
            index_price=wire.price("index_price", data["i"]) if "i" in data else None,
            next_funding_time_ms=next_funding or None,
        ),
        str(event_time),
    )


def force_order(order: dict[str, Any], instrument: Instrument, received_at_ms: int) -> MarketEvent:
    """The order object ``o`` of a ``forceOrder`` frame as a liquidation.

    The price is the average fill price ``ap`` when non-zero, else ``p``.
    """
    average = wire.quantity("average_price", order["ap"]) if "ap" in order else Decimal(0)
    price = average if average else wire.price("price", order["p"])
    try:
        side = Side(wire.text("S", order["S"]))
    except ValueError:
        raise InvalidValueError("S", order["S"], "expected BUY or SELL") from None
    trade_time = wire.integer("T", order["T"])
    quantity = wire.quantity("quantity", order["q"])
    status = order.get("X")
    return MarketEvent(
        instrument,
        DataType.LIQUIDATION,
        received_at_ms,
        trade_time,
        Liquidation(side, price, quantity, None if status is None else wire.text("X", status)),
        f"{trade_time}:{side.value}:{order['q']}",
    )
