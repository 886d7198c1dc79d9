"""Gate.io v4 WebSocket frames and REST order book snapshots, read into events and diffs.

Formats follow the spot WebSocket v4 page https://www.gate.io/docs/developers/apiv4/ws/en/
(``spot.trades``, ``spot.tickers``, ``spot.candlesticks``, ``spot.order_book_update``), the
futures WebSocket v4 page https://www.gate.io/docs/developers/futures/ws/en/
(``futures.trades``, ``futures.book_ticker``, ``futures.candlesticks``,
``futures.order_book_update``), the REST pages for ``GET /spot/order_book`` and
``GET /futures/{settle}/order_book`` (``with_id=true``) at
https://www.gate.io/docs/developers/apiv4/en/, and the recorded sessions
``gate-spot.jsonl`` and ``gate-futures.jsonl`` in ``shared/captures``.

Spot levels are ``[price, amount]`` string pairs; futures levels are
``{"p": price, "s": size}`` objects whose size is an integer number of contracts.

Readers raise ``KeyError`` (a missing field), ``TypeError`` or
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
    OpenInterest,
    PriceLevel,
    Side,
    Ticker,
    Trade,
)
from relay.infrastructure.venues.common import wire
from relay.infrastructure.venues.common.update_id_book import DepthDiff

CANDLE_INTERVAL_MS = {
    "10s": 10_000,
    "1m": 60_000,
    "5m": 300_000,
    "15m": 900_000,
    "30m": 1_800_000,
    "1h": 3_600_000,
    "4h": 14_400_000,
    "8h": 28_800_000,
    "1d": 86_400_000,
    "7d": 604_800_000,
}
"""Candle intervals Gate.io documents for ``spot.candlesticks`` and ``futures.candlesticks``
(the payload's first item), in ms: 10s 1m 5m 15m 30m 1h 4h 8h 1d 7d, from the candlesticks
channels of https://www.gate.io/docs/developers/apiv4/ws/en/ and
https://www.gate.io/docs/developers/futures/ws/en/. Its keys are what a subscription's
``candle_interval`` may be; any other is refused when the protocol is built."""


@dataclass(frozen=True, slots=True)
class BookSnapshot:
    """A REST order book snapshot: ``id`` (the last update id in it) and levels, best first."""

    update_id: int
    bids: tuple[PriceLevel, ...]
    asks: tuple[PriceLevel, ...]


def levels(field: str, raw: Any, futures: bool) -> tuple[PriceLevel, ...]:
    """Spot ``[["0.1", "2"], ...]`` or futures ``[{"p": "0.1", "s": 2}, ...]`` levels.

    A futures size is an integer count of contracts (``0`` removes the level).

    Raises:
        InvalidValueError: not such a list, a price <= 0, a size < 0 or not an integer.
    """
    if not futures:
        return wire.levels(field, raw)
    result: list[PriceLevel] = []
    for level in wire.json_list(field, raw):
        entry = wire.json_object(field, level)
        size = entry["s"]
        if isinstance(size, bool) or not isinstance(size, int):
            raise InvalidValueError("s", size, "expected an integer size")
        result.append((wire.price("p", entry["p"]), wire.quantity("s", size)))
    return tuple(result)


def depth_diff(result: dict[str, Any], futures: bool, received_at_ms: int) -> DepthDiff:
    """An ``order_book_update`` ``result`` object as a :class:`DepthDiff`.

    Shapes (``gate-spot.jsonl``, ``gate-futures.jsonl``, trimmed)::

        {"t":1619093532978,"e":"depthUpdate","E":1619093532,"s":"HAI_ETH","U":2691446,
         "u":2691446,"b":[["0.00010322","5360.209"]],"a":[]}
        {"U":203083177,"a":[{"p":"0.2983","s":0}],"b":[],"s":"RDNT_USDT",
         "t":1684930165217,"u":203083177}

    ``t`` (ms) is the exchange time. Raises ``KeyError`` for a missing ``U``, ``u``,
    ``b``, ``a`` or ``t``; :class:`InvalidValueError` for ids outside 0..2**63-1,
    ``U > u``, or a bad level.
    """
    first_update_id = wire.integer("U", result["U"])
    last_update_id = wire.integer("u", result["u"])
    if first_update_id > last_update_id:
        raise InvalidValueError("U", first_update_id, f"after u={last_update_id}")
    return DepthDiff(
        first_update_id=first_update_id,
        last_update_id=last_update_id,
        previous_update_id=None,
        bids=levels("b", result["b"], futures),
        asks=levels("a", result["a"], futures),
        event_time_ms=wire.integer("t", result["t"]),
        received_at_ms=received_at_ms,
    )


def book_snapshot(body: bytes, futures: bool) -> BookSnapshot:
    """A REST order book body fetched with ``with_id=true``.

    Shapes (``gate-spot.jsonl``, ``GET /api/v4/spot/order_book?currency_pair=HAI_ETH&limit=100
    &with_id=true``; ``gate-futures.jsonl``, ``GET /api/v4/futures/usdt/order_book?
    contract=RDNT_USDT&limit=100&with_id=true``; trimmed)::

        {"id":2691446,"asks":[["0.00010396","5876.967"]],"bids":[["0.00010322","5360.209"]]}
        {"current":1684930166.384,"update":1684930166.35,"asks":[{"s":803,"p":"0.2974"}],
         "bids":[{"s":1,"p":"0.297"}],"id":203083287}

    Raises:
        orjson.JSONDecodeError: not JSON.
        KeyError: ``id``, ``bids`` or ``asks`` missing.
        InvalidValueError: not an object, or a malformed field.
    """
    snapshot = wire.json_object("snapshot", orjson.loads(body))
    return BookSnapshot(
        update_id=wire.integer("id", snapshot["id"]),
        bids=levels("bids", snapshot["bids"], futures),
        asks=levels("asks", snapshot["asks"], futures),
    )


def spot_trade(result: dict[str, Any], instrument: Instrument, received_at_ms: int) -> MarketEvent:
    """``spot.trades``: one trade; ``side`` is the taker's, ``create_time_ms`` a decimal string.

    Shape (``gate-spot.jsonl``)::

        {"id":816995772,"create_time":1619093543,"create_time_ms":"1619093543708.2642",
         "side":"sell","currency_pair":"DIS_USDT","amount":"0.2010000000","price":"121.5800000000"}
    """
    trade_id = str(wire.integer("id", result["id"]))
    side = result["side"]
    if side not in ("buy", "sell"):
        raise InvalidValueError("side", side, "expected buy or sell")
    time_ms = wire.integer(
        "create_time_ms", int(wire.decimal("create_time_ms", result["create_time_ms"]))
    )
    return MarketEvent(
        instrument,
        DataType.TRADE,
        received_at_ms,
        time_ms,
        Trade(
            trade_id,
            wire.price("price", result["price"]),
            wire.quantity("amount", result["amount"]),
            Side.BUY if side == "buy" else Side.SELL,
        ),
        trade_id,
    )


def futures_trade(
    entry: dict[str, Any], instrument: Instrument, received_at_ms: int
) -> MarketEvent:
    """One entry of a ``futures.trades`` result list; a negative ``size`` is a taker sell.

    Shape (the documented example, https://www.gate.io/docs/developers/futures/ws/en/#trades-notification)::

        {"size":-108,"id":27753479,"create_time":1545136464,"create_time_ms":1545136464123,
         "price":"96.4","contract":"BTC_USD"}
    """
    trade_id = str(wire.integer("id", entry["id"]))
    size = entry["size"]
    if isinstance(size, bool) or not isinstance(size, int) or size == 0:
        raise InvalidValueError("size", size, "expected a non-zero integer")
    return MarketEvent(
        instrument,
        DataType.TRADE,
        received_at_ms,
        wire.integer("create_time_ms", entry["create_time_ms"]),
        Trade(
            trade_id,
            wire.price("price", entry["price"]),
            Decimal(abs(size)),
            Side.BUY if size > 0 else Side.SELL,
        ),
        trade_id,
    )


def book_ticker(result: dict[str, Any], instrument: Instrument, received_at_ms: int) -> MarketEvent:
    """``*.book_ticker``: best bid ``b``/``B``, ask ``a``/``A``, update id ``u``, time ``t`` (ms).

    Shapes (``gate-futures.jsonl``, sizes in contracts; the spot page's example,
    https://www.gate.io/docs/developers/apiv4/ws/en/#best-bid-or-ask-price, sizes as strings)::

        {"t":1684930165621,"u":6159967,"s":"PHB_USDT","b":"0.7379","B":814,"a":"0.739","A":677}
        {"t":1606293275123,"u":48733182,"s":"BTC_USDT","b":"19177.79","B":"0.0003341504",
         "a":"19179.38","A":"0.09"}

    An empty side is sent as price ``""`` and size 0; it is published as price 0.
    """
    update_id = wire.integer("u", result["u"])
    return MarketEvent(
        instrument,
        DataType.TICKER,
        received_at_ms,
        wire.integer("t", result["t"]),
        Ticker(
            _best("bid_price", result["b"]),
            wire.quantity("bid_quantity", result["B"]),
            _best("ask_price", result["a"]),
            wire.quantity("ask_quantity", result["A"]),
            update_id,
        ),
        str(update_id),
    )


def _best(field: str, raw: Any) -> Decimal:
    """A best price; ``""`` (an empty side, as the futures page documents) is 0."""
    return Decimal(0) if raw == "" else wire.price(field, raw)


def candle(
    result: dict[str, Any], instrument: Instrument, received_at_ms: int, frame_time_ms: int
) -> MarketEvent:
    """One ``*.candlesticks`` result: ``n`` is ``<interval>_<pair>``, ``t`` the open time (s).

    Shapes (``gate-spot.jsonl``: ``t`` and ``v`` strings; ``gate-futures.jsonl``:
    numbers, inside a list)::

        {"t":"1619093520","v":"0","c":"120.92","h":"120.92","l":"120.92","o":"120.92",
         "n":"1m_DIS_USDT"}
        {"t":1684930140,"v":0,"c":"0.1701","h":"0.1701","l":"0.1701","o":"0.1701",
         "n":"1m_FRONT_USDT"}

    Gate.io does not say when a candle is final: ``is_closed`` is False. The dedup
    key is the open time and the frame's ``time`` (s), given as ``frame_time_ms``.
    """
    interval = wire.text("n", result["n"]).split("_", 1)[0]
    length_ms = CANDLE_INTERVAL_MS.get(interval)
    if length_ms is None:
        raise InvalidValueError("n", result["n"], "unknown candle interval")
    open_time_ms = wire.integer("t", int(wire.decimal("t", result["t"]))) * 1000
    return MarketEvent(
        instrument,
        DataType.CANDLE,
        received_at_ms,
        frame_time_ms,
        Candle(
            interval=interval,
            open_time_ms=open_time_ms,
            close_time_ms=open_time_ms + length_ms - 1,
            open=wire.price("open", result["o"]),
            high=wire.price("high", result["h"]),
            low=wire.price("low", result["l"]),
            close=wire.price("close", result["c"]),
            volume=wire.quantity("volume", result["v"]),
            is_closed=False,
            quote_volume=wire.quantity("quote_volume", result["a"]) if "a" in result else None,
        ),
        f"{open_time_ms}:{frame_time_ms}:{result['v']}:{result['c']}",
    )


def futures_funding(
    entry: dict[str, Any], instrument: Instrument, received_at_ms: int, frame_time_ms: int
) -> MarketEvent:
    """The funding part of one ``futures.tickers`` entry: ``funding_rate`` (per 8 h period),
    ``mark_price``, ``index_price``; the time is the frame's.

    Shape (the documented example,
    https://www.gate.io/docs/developers/futures/ws/en/#tickers-notification, trimmed)::

        {"contract":"BTC_USD","last":"118.4","change_percentage":"0.77",
         "funding_rate":"-0.000114","funding_rate_indicative":"0.01875",
         "mark_price":"118.35","index_price":"118.36","total_size":"73648"}
    """
    rate = wire.decimal("funding_rate", entry["funding_rate"])
    mark = wire.price("mark_price", entry["mark_price"])
    index = entry.get("index_price")
    return MarketEvent(
        instrument,
        DataType.FUNDING_RATE,
        received_at_ms,
        frame_time_ms,
        FundingRate(
            rate=rate,
            mark_price=mark,
            index_price=wire.price("index_price", index) if index not in (None, "") else None,
        ),
        f"{frame_time_ms}:{entry['funding_rate']}:{entry['mark_price']}",
    )


def futures_open_interest(
    entry: dict[str, Any], instrument: Instrument, received_at_ms: int, frame_time_ms: int
) -> MarketEvent:
    """The open interest of one ``futures.tickers`` entry: ``total_size`` (contracts)."""
    return MarketEvent(
        instrument,
        DataType.OPEN_INTEREST,
        received_at_ms,
        frame_time_ms,
        OpenInterest(wire.quantity("total_size", entry["total_size"])),
        f"{frame_time_ms}:{entry['total_size']}",
    )


def futures_liquidation(
    entry: dict[str, Any], instrument: Instrument, received_at_ms: int, frame_time_ms: int
) -> MarketEvent:
    """One ``futures.public_liquidates`` entry; a negative ``size`` is a sell order (a long
    liquidated). ``time_ms`` when sent, else ``time`` (s).

    Shape (the documented example,
    https://www.gate.io/docs/developers/futures/ws/en/#public-liquidates-notification)::

        {"price":"215.1","size":"-124.5","time":1541486601,"contract":"BTC_USDT"}
    """
    size = wire.decimal("size", entry["size"])
    if size == 0:
        raise InvalidValueError("size", entry["size"], "expected a non-zero size")
    if "time_ms" in entry:
        time_ms = wire.integer("time_ms", entry["time_ms"])
    else:
        time_ms = wire.integer("time", entry["time"]) * 1000
    side = Side.BUY if size > 0 else Side.SELL
    return MarketEvent(
        instrument,
        DataType.LIQUIDATION,
        received_at_ms,
        wire.integer("time_ms", time_ms),
        Liquidation(side, wire.price("price", entry["price"]), abs(size)),
        f"{time_ms}:{side.value}:{entry['size']}:{entry['price']}",
    )
