"""Recorded events for the codec tests, one per payload type and edge.

Each event is built from a venue frame kept here as the venue sent it: the
recorded ones are copied from ``shared/captures/*.jsonl`` (``received_at`` is
the record's ``t`` in epoch ms, floored); the funding rate, open interest and
liquidation frames, which no capture holds, are the examples of the Binance
USD-M futures API documentation (``markPriceUpdate``, ``GET
/fapi/v1/openInterest``, ``forceOrder``), received 23 ms after their event time.
``venue_decimals`` maps each payload field to the venue's own string(s), which
the wire must repeat exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from relay.domain.model import (
    Candle,
    DataType,
    FundingRate,
    Instrument,
    L2Update,
    Liquidation,
    MarketEvent,
    OpenInterest,
    Payload,
    PriceLevel,
    Side,
    Ticker,
    Trade,
    parse_decimal,
)


@dataclass(frozen=True, slots=True)
class RecordedEvent:
    """One event, the frame it came from, and the venue strings it must keep.

    Attributes:
        name: golden file stem (``trade_binance_usdm_ctkusdt``).
        frame: the venue's frame text.
        event: the domain event built from ``frame``.
        sequence: the relay sequence the golden file was encoded with.
        venue_decimals: payload field -> the venue's decimal string, or for
            ``bids``/``asks`` the venue's ``[[price, qty], ...]`` strings.
    """

    name: str
    frame: str
    event: MarketEvent
    sequence: int
    venue_decimals: dict[str, Any]


def _levels(raw: list[list[str]]) -> tuple[PriceLevel, ...]:
    return tuple((parse_decimal("price", p), parse_decimal("quantity", q)) for p, q in raw)


def _event(
    instrument: Instrument,
    received_at_ms: int,
    exchange_timestamp_ms: int | None,
    payload: Payload,
    dedup_key: str,
) -> MarketEvent:
    data_type = {
        Trade: DataType.TRADE,
        Ticker: DataType.TICKER,
        L2Update: DataType.L2_ORDERBOOK,
        FundingRate: DataType.FUNDING_RATE,
        OpenInterest: DataType.OPEN_INTEREST,
        Liquidation: DataType.LIQUIDATION,
        Candle: DataType.CANDLE,
    }[type(payload)]
    return MarketEvent(
        instrument, data_type, received_at_ms, exchange_timestamp_ms, payload, dedup_key
    )


CTKUSDT = Instrument("binance-usdm", "CTKUSDT", "CTK/USDT")
SUSHIUSDT = Instrument("binance-usdm", "SUSHIUSDT", "SUSHI/USDT")
BTCUSDT_PERP = Instrument("binance-usdm", "BTCUSDT", "BTC/USDT")
NKNUSDT = Instrument("binance-spot", "NKNUSDT", "NKN/USDT")
OKX_BTC_USDT = Instrument("okx", "BTC-USDT", "BTC/USDT")
HAI_ETH = Instrument("gate-spot", "HAI_ETH", "HAI/ETH")

# binance-usdm.jsonl line 27, t=1626992742.289739
AGG_TRADE = (
    '{"e":"aggTrade","E":1626992741575,"a":16599292,"s":"CTKUSDT","p":"1.01100","q":"10",'
    '"f":23961322,"l":23961322,"T":1626992741421,"m":false}'
)
# binance-usdm.jsonl, t=1626992741.06217
BOOK_TICKER = (
    '{"e":"bookTicker","u":600859600576,"s":"SUSHIUSDT","b":"7.6110","B":"2","a":"7.6120",'
    '"A":"297","T":1626992741012,"E":1626992741017}'
)
# binance-spot.jsonl, t=1633998513.377805: spot bookTicker has no event time.
SPOT_BOOK_TICKER = (
    '{"u":499869768,"s":"NKNUSDT","b":"0.35210000","B":"672.00000000","a":"0.35260000",'
    '"A":"3199.00000000"}'
)
# okx.jsonl, t=1652459225.5069652 (the data[0] object): no book update id.
OKX_TICKER = (
    '{"instType":"SPOT","instId":"BTC-USDT","last":"30236","lastSz":"0.0002",'
    '"askPx":"30228.7","askSz":"1.55896972","bidPx":"30228.6","bidSz":"0.23393",'
    '"open24h":"29700.4","high24h":"31073","low24h":"28020.3","sodUtc0":"29028.8",'
    '"sodUtc8":"30337.7","volCcy24h":"525802090.62716611","vol24h":"17602.13085371",'
    '"ts":"1652459224956"}'
)
# binance-usdm.jsonl, t=1626992741.081672
DEPTH_UPDATE = (
    '{"e":"depthUpdate","E":1626992741037,"T":1626992741024,"s":"SUSHIUSDT","U":600859599090,'
    '"u":600859600917,"pu":600859598061,"b":[["7.5040","813"],["7.6090","0"],["7.6110","2"]],'
    '"a":[["7.6150","1563"],["7.6220","3284"]]}'
)
# binance-usdm.jsonl, t=1626992741.301402: the REST snapshot, trimmed to 3 levels a side.
DEPTH_SNAPSHOT = (
    '{"lastUpdateId":600859605926,"E":1626992741264,"T":1626992741261,'
    '"bids":[["7.6110","6"],["7.6080","161"],["7.6070","285"]],'
    '"asks":[["7.6120","297"],["7.6130","177"],["7.6140","758"]]}'
)
# gate-spot.jsonl, t=1619093532.995539 (the "result" object): prices down to
# 0.00000001, whose Decimal str() is in exponent notation.
GATE_ORDER_BOOK_UPDATE = (
    '{"t":1619093532978,"e":"depthUpdate","E":1619093532,"s":"HAI_ETH","U":2691446,'
    '"u":2691446,"b":[["0.00010322","5360.209"],["0.00010276","20.80412499"],'
    '["0.00010218","17572.445"],["0.00010135","21747.969"],["0.00010007","2133.418"],'
    '["0.00009806","3038.272"],["0.00009609","2363.969"],["0.00009416","2604.776"],'
    '["0.00009227","2300.808"],["0.00009042","3775.948"],["0.00008861","3498.846"],'
    '["0.00008683","4242.045"],["0.00008509","3998.392"],["0.00008338","3606.274"],'
    '["0.00008171","4212.172"],["0.00008007","2559.142"],["0.00007846","3309.097"],'
    '["0.00007689","3841.862"],["0.00007535","5144.044"],["0.00007384","2721.047"],'
    '["0.00007236","2847.836"],["0.00007091","4415.687"],["0.00006949","5302.878"],'
    '["0.0000681","4139.937"],["0.00000532","1879.699"],["0.00000321","3115.264"],'
    '["0.0000021","4761.904"],["0.00000106","9433.962"],["0.00000063","15873.015"],'
    '["0.00000032","31250"],["0.0000002","50000"],["0.0000001","100000"],'
    '["0.00000005","200000"],["0.00000003","333333.333"],["0.00000001","1000000"]],'
    '"a":[["0.00010396","5876.967"],["0.0001052","16944.291"],["0.00010605","20939.078"],'
    '["0.00010616","20.51071557"],["0.00010677","3586.613"],["0.00010768","20.22164097"],'
    '["0.00010888","3124.5"],["0.00010898","3465.441"],["0.00010923","19.93502316"],'
    '["0.0001108","19.65280276"],["0.00011116","1916.893"],["0.00011216","2444.223"],'
    '["0.00011229","3004.282"],["0.00011238","19.37670519"],["0.00011399","90.2953"],'
    '["0.000114","19.10142855"],["0.00011454","3020.812"],["0.00011562","18.83386383"],'
    '["0.00011565","3134.613"],["0.0001158","3444.278"],["0.00011581","2308.243"],'
    '["0.00011726","18.57046459"],["0.00011813","2139.545"],["0.00011872","1851.76"],'
    '["0.00011875","2388.117"],["0.00011881","2641.821"],["0.00011893","18.30962559"],'
    '["0.00011897","552.2106"],["0.00012119","2958.132"],["0.00012143","1712.432"],'
    '["0.00012386","3012.773"],["0.00012634","2473.157"],["0.00012887","2681.278"],'
    '["0.00013145","1652.646"],["0.00018","10000"],["0.00019","4674.85237401"],'
    '["0.00025963","25000"],["0.007861","72"]]}'
)
# binance-usdm.jsonl, t=1626992760.247864 (the closed 1m kline)
KLINE = (
    '{"e":"kline","E":1626992760203,"s":"SUSHIUSDT","k":{"t":1626992700000,"T":1626992759999,'
    '"s":"SUSHIUSDT","i":"1m","f":126902874,"L":126902986,"o":"7.6080","c":"7.6170",'
    '"h":"7.6180","l":"7.6070","v":"3005","n":113,"x":true,"q":"22875.8590","V":"1900",'
    '"Q":"14464.6960","B":"0"}}'
)
# Binance USD-M API documentation, "Mark Price Stream" example.
MARK_PRICE_UPDATE = (
    '{"e":"markPriceUpdate","E":1562305380000,"s":"BTCUSDT","p":"11794.15000000",'
    '"i":"11784.62659091","P":"11784.25641265","r":"0.00038167","T":1562306400000}'
)
# Binance USD-M API documentation, "Open Interest" (GET /fapi/v1/openInterest) example.
OPEN_INTEREST = '{"openInterest":"10659.509","symbol":"BTCUSDT","time":1589437530011}'
# Binance USD-M API documentation, "Liquidation Order Streams" example.
FORCE_ORDER = (
    '{"e":"forceOrder","E":1568014460893,"o":{"s":"BTCUSDT","S":"SELL","o":"LIMIT",'
    '"f":"IOC","q":"0.014","p":"9910","ap":"9910","X":"FILLED","l":"0.014","z":"0.014",'
    '"T":1568014460893}}'
)


def _trade() -> RecordedEvent:
    f = orjson.loads(AGG_TRADE)
    # m: the buyer is the maker; false means the buyer took liquidity, so BUY.
    side = Side.SELL if f["m"] else Side.BUY
    payload = Trade(str(f["a"]), parse_decimal("p", f["p"]), parse_decimal("q", f["q"]), side)
    event = _event(CTKUSDT, 1626992742289, f["T"], payload, str(f["a"]))
    return RecordedEvent(
        "trade_binance_usdm_ctkusdt",
        AGG_TRADE,
        event,
        1,
        {"price": f["p"], "quantity": f["q"]},
    )


def _binance_ticker(
    name: str, instrument: Instrument, frame: str, received_at_ms: int, sequence: int
) -> RecordedEvent:
    f = orjson.loads(frame)
    payload = Ticker(
        parse_decimal("b", f["b"]),
        parse_decimal("B", f["B"]),
        parse_decimal("a", f["a"]),
        parse_decimal("A", f["A"]),
        update_id=f["u"],
    )
    event = _event(instrument, received_at_ms, f.get("E"), payload, str(f["u"]))
    decimals = {
        "bid_price": f["b"],
        "bid_quantity": f["B"],
        "ask_price": f["a"],
        "ask_quantity": f["A"],
    }
    return RecordedEvent(name, frame, event, sequence, decimals)


def _okx_ticker() -> RecordedEvent:
    f = orjson.loads(OKX_TICKER)
    payload = Ticker(
        parse_decimal("bidPx", f["bidPx"]),
        parse_decimal("bidSz", f["bidSz"]),
        parse_decimal("askPx", f["askPx"]),
        parse_decimal("askSz", f["askSz"]),
    )
    event = _event(OKX_BTC_USDT, 1652459225506, int(f["ts"]), payload, f["ts"])
    decimals = {
        "bid_price": f["bidPx"],
        "bid_quantity": f["bidSz"],
        "ask_price": f["askPx"],
        "ask_quantity": f["askSz"],
    }
    return RecordedEvent("ticker_okx_btc_usdt", OKX_TICKER, event, 7, decimals)


def _depth(
    name: str,
    instrument: Instrument,
    frame: str,
    received_at_ms: int,
    sequence: int,
    exchange_time_key: str = "E",
) -> RecordedEvent:
    f = orjson.loads(frame)
    exchange_ms = f[exchange_time_key]
    if "lastUpdateId" in f:
        first = last = f["lastUpdateId"]
        bids, asks, snapshot = f["bids"], f["asks"], True
    else:
        first, last = f["U"], f["u"]
        bids, asks, snapshot = f["b"], f["a"], False
    payload = L2Update(_levels(bids), _levels(asks), snapshot, first, last)
    event = _event(instrument, received_at_ms, exchange_ms, payload, str(last))
    return RecordedEvent(name, frame, event, sequence, {"bids": bids, "asks": asks})


def _candle() -> RecordedEvent:
    k = orjson.loads(KLINE)["k"]
    payload = Candle(
        interval=k["i"],
        open_time_ms=k["t"],
        close_time_ms=k["T"],
        open=parse_decimal("o", k["o"]),
        high=parse_decimal("h", k["h"]),
        low=parse_decimal("l", k["l"]),
        close=parse_decimal("c", k["c"]),
        volume=parse_decimal("v", k["v"]),
        is_closed=k["x"],
        quote_volume=parse_decimal("q", k["q"]),
        trade_count=k["n"],
    )
    event = _event(SUSHIUSDT, 1626992760247, 1626992760203, payload, f"{k['t']}:closed")
    decimals = {
        "open": k["o"],
        "high": k["h"],
        "low": k["l"],
        "close": k["c"],
        "volume": k["v"],
        "quote_volume": k["q"],
    }
    return RecordedEvent("candle_binance_usdm_sushiusdt", KLINE, event, 42, decimals)


def _funding_rate() -> RecordedEvent:
    f = orjson.loads(MARK_PRICE_UPDATE)
    payload = FundingRate(
        rate=parse_decimal("r", f["r"]),
        mark_price=parse_decimal("p", f["p"]),
        index_price=parse_decimal("i", f["i"]),
        next_funding_time_ms=f["T"],
    )
    event = _event(BTCUSDT_PERP, f["E"] + 23, f["E"], payload, str(f["E"]))
    decimals = {"rate": f["r"], "mark_price": f["p"], "index_price": f["i"]}
    return RecordedEvent("funding_rate_binance_usdm_btcusdt", MARK_PRICE_UPDATE, event, 3, decimals)


def _open_interest() -> RecordedEvent:
    f = orjson.loads(OPEN_INTEREST)
    payload = OpenInterest(parse_decimal("openInterest", f["openInterest"]))
    event = _event(BTCUSDT_PERP, f["time"] + 23, f["time"], payload, str(f["time"]))
    decimals = {"open_interest": f["openInterest"]}
    return RecordedEvent("open_interest_binance_usdm_btcusdt", OPEN_INTEREST, event, 12, decimals)


def _liquidation() -> RecordedEvent:
    f = orjson.loads(FORCE_ORDER)
    o = f["o"]
    payload = Liquidation(
        Side(o["S"]), parse_decimal("p", o["p"]), parse_decimal("q", o["q"]), o["X"]
    )
    event = _event(BTCUSDT_PERP, f["E"] + 23, o["T"], payload, f"{o['T']}:{o['S']}")
    decimals = {"price": o["p"], "quantity": o["q"]}
    return RecordedEvent("liquidation_binance_usdm_btcusdt", FORCE_ORDER, event, 5, decimals)


RECORDED_EVENTS: tuple[RecordedEvent, ...] = (
    _trade(),
    _binance_ticker("ticker_binance_usdm_sushiusdt", SUSHIUSDT, BOOK_TICKER, 1626992741062, 2),
    _binance_ticker("ticker_binance_spot_nknusdt", NKNUSDT, SPOT_BOOK_TICKER, 1633998513377, 9),
    _okx_ticker(),
    _depth("l2_update_binance_usdm_sushiusdt", SUSHIUSDT, DEPTH_UPDATE, 1626992741081, 17),
    _depth("l2_snapshot_binance_usdm_sushiusdt", SUSHIUSDT, DEPTH_SNAPSHOT, 1626992741301, 18),
    _depth("l2_update_gate_spot_hai_eth", HAI_ETH, GATE_ORDER_BOOK_UPDATE, 1619093532995, 1, "t"),
    _candle(),
    _funding_rate(),
    _open_interest(),
    _liquidation(),
)
"""Every recorded event, at least one per payload type."""

RECORDED_BY_NAME = {recorded.name: recorded for recorded in RECORDED_EVENTS}
