"""Ticker frames of every venue that publishes tickers, with chosen best bid/ask quotes.

Each builder takes quotes ``(bid, bid size, ask, ask size)`` (decimal strings)
and returns the frames the venue would send for them, one ticker message per
quote (Bybit linear/inverse: a ``snapshot`` first, then ``delta`` messages), in
order, each later than the one before as the venue counts: its exchange time,
update id or sequence advances by one step per message. Nothing else of the
template frame changes, so two messages with the same quote differ only in
what the venue itself would change.

Templates are recorded frames of ``shared/captures`` where the venue has a
recording (Binance, OKX, Deribit, Coinbase Exchange, BitMEX) and the documented example
messages otherwise (the pages are named at each template).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from copy import deepcopy
from datetime import UTC, datetime, timedelta
from typing import Any

from relay.infrastructure.venues.kraken_futures.parse import TICKER_EXAMPLE
from support.coinbase_frames import TICKER as COINBASE_DOC_TICKER
from support.cryptocom_frames import TICKER as CRYPTOCOM_DOC_TICKER
from support.reference_books import records

Quote = tuple[str, str, str, str]
"""(bid, bid size, ask, ask size), decimal strings."""

FrameBuilder = Callable[[list[Quote]], list[str]]

STEP_MS = 100
"""Venue time between two generated ticker messages."""


def _recorded(capture: str, marker: str) -> dict[str, Any]:
    """The first recorded frame of ``capture`` whose text holds ``marker``, decoded."""
    for record in records(capture):
        if record["kind"] == "recv" and marker in record["data"]:
            decoded: dict[str, Any] = json.loads(record["data"])
            return decoded
    raise AssertionError(f"no frame with {marker!r} in {capture}")


def _number(text: str) -> str:
    """A placeholder that :func:`_dumps` writes as the JSON number ``text`` (its digits kept)."""
    return f"<number>{text}</number>"


def _dumps(message: dict[str, Any]) -> str:
    """JSON text of ``message``, each :func:`_number` placeholder as a bare JSON number."""
    return re.sub(r'"<number>([^<]*)</number>"', r"\1", json.dumps(message))


def _rfc3339(start: str, step: int) -> str:
    """``start`` (``...Z``, microseconds) plus ``step`` steps, in the same form."""
    base = datetime.fromisoformat(start.replace("Z", "+00:00")).astimezone(UTC)
    moved = base + timedelta(milliseconds=STEP_MS * step)
    return moved.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _binance(capture: str) -> tuple[str, FrameBuilder]:
    """``<symbol>@bookTicker`` (spot: no ``e``/``E``/``T``): update id ``u`` advances."""
    template = _recorded(capture, "@bookTicker")

    def build(quotes: list[Quote]) -> list[str]:
        frames = []
        for step, (bid, bid_size, ask, ask_size) in enumerate(quotes):
            message = deepcopy(template)
            data = message["data"]
            data.update(b=bid, B=bid_size, a=ask, A=ask_size, u=data["u"] + step)
            for field in ("E", "T"):
                if field in data:
                    data[field] += STEP_MS * step
            frames.append(json.dumps(message))
        return frames

    return template["data"]["s"], build


_GATE_SPOT_BOOK_TICKER = {
    "time": 1606293275,
    "channel": "spot.book_ticker",
    "event": "update",
    "result": {
        "t": 1606293275123,
        "u": 48733182,
        "s": "BTC_USDT",
        "b": "19177.79",
        "B": "0.0003341504",
        "a": "19179.38",
        "A": "0.09",
    },
}
"""The spot page's ``spot.book_ticker`` example
(https://www.gate.io/docs/developers/apiv4/ws/en/#best-bid-or-ask-price)."""


def _gate(template: dict[str, Any]) -> tuple[str, FrameBuilder]:
    """``*.book_ticker``: ``t`` and update id ``u`` advance; futures sizes (contracts) are JSON
    integers when the quote's are whole, as ``gate-futures.jsonl`` writes them."""
    futures = template["channel"].startswith("futures.")

    def size(text: str) -> str:
        return _number(text) if futures and text.isdigit() else text

    def build(quotes: list[Quote]) -> list[str]:
        frames = []
        for step, (bid, bid_size, ask, ask_size) in enumerate(quotes):
            message = deepcopy(template)
            result = message["result"]
            result.update(b=bid, B=size(bid_size), a=ask, A=size(ask_size))
            result.update(u=result["u"] + step, t=result["t"] + STEP_MS * step)
            frames.append(_dumps(message))
        return frames

    return template["result"]["s"], build


def _okx(quotes: list[Quote]) -> list[str]:
    """``tickers`` push of ``okx.jsonl``: ``ts`` advances."""
    template = _recorded("okx.jsonl", '"channel":"tickers","instId":"BTC-USDT"},"data"')
    frames = []
    for step, (bid, bid_size, ask, ask_size) in enumerate(quotes):
        message = deepcopy(template)
        entry = message["data"][0]
        entry.update(
            bidPx=bid,
            bidSz=bid_size,
            askPx=ask,
            askSz=ask_size,
            ts=str(int(entry["ts"]) + STEP_MS * step),
        )
        frames.append(json.dumps(message))
    return frames


def _deribit(quotes: list[Quote]) -> list[str]:
    """``ticker.<instrument>`` notification of ``deribit.jsonl`` (JSON numbers): ``timestamp``."""
    template = _recorded("deribit.jsonl", '"channel":"ticker.BTC-24SEP21-8000-P')
    frames = []
    for step, (bid, bid_size, ask, ask_size) in enumerate(quotes):
        message = deepcopy(template)
        data = message["params"]["data"]
        data.update(
            best_bid_price=_number(bid),
            best_bid_amount=_number(bid_size),
            best_ask_price=_number(ask),
            best_ask_amount=_number(ask_size),
            timestamp=data["timestamp"] + STEP_MS * step,
        )
        frames.append(_dumps(message))
    return frames


def _bitmex(quotes: list[Quote]) -> list[str]:
    """First ``quote`` insert row of ``bitmex.jsonl`` (JSON numbers): ``timestamp`` (ms)."""
    template = _recorded("bitmex.jsonl", '"table":"quote","action":"insert"')
    template["data"] = template["data"][:1]
    frames = []
    for step, (bid, bid_size, ask, ask_size) in enumerate(quotes):
        message = deepcopy(template)
        row = message["data"][0]
        row.update(
            bidPrice=_number(bid),
            bidSize=_number(bid_size),
            askPrice=_number(ask),
            askSize=_number(ask_size),
            timestamp=_rfc3339(row["timestamp"], step)[:23] + "Z",
        )
        frames.append(_dumps(message))
    return frames


def _bitfinex(quotes: list[Quote]) -> list[str]:
    """The recorded ``conf`` answer (``SEQ_ALL``), tBFTUSD's ``subscribed`` answer and first
    ticker message of ``bitfinex.jsonl``: the sequence number (its last item) advances."""
    conf = json.dumps(_recorded("bitfinex.jsonl", '"event":"conf"'))
    subscribed = _recorded("bitfinex.jsonl", '"channel":"ticker","chanId":232949')
    frame = next(
        r["data"]
        for r in records("bitfinex.jsonl")
        if r["kind"] == "recv" and r["data"].startswith("[232949,[")
    )
    chan, fields, seq = json.loads(frame, parse_float=str)
    frames = [conf, json.dumps(subscribed)]
    for step, quote in enumerate(quotes):
        values = ",".join((*quote, *fields[4:]))
        frames.append(f"[{chan},[{values}],{seq + step}]")
    return frames


def _kraken_futures(quotes: list[Quote]) -> list[str]:
    """The documented ``ticker`` message (https://docs.kraken.com/exchange/api-reference/
    futures-websocket/ticker; example quoted in ccxt's ``krakenfutures``): ``time``."""
    template = json.loads(TICKER_EXAMPLE)
    frames = []
    for step, (bid, bid_size, ask, ask_size) in enumerate(quotes):
        message = deepcopy(template)
        message.update(
            bid=_number(bid),
            bid_size=_number(bid_size),
            ask=_number(ask),
            ask_size=_number(ask_size),
            time=template["time"] + STEP_MS * step,
        )
        frames.append(_dumps(message))
    return frames


def _cryptocom(quotes: list[Quote]) -> list[str]:
    """The documented ``ticker`` message (https://exchange-docs.crypto.com/exchange/v1/rest-ws/
    index.html#ticker-instrument_name; ``support.cryptocom_frames.TICKER``): ``t`` advances."""
    template = json.loads(CRYPTOCOM_DOC_TICKER)
    frames = []
    for step, (bid, bid_size, ask, ask_size) in enumerate(quotes):
        message = deepcopy(template)
        entry = message["result"]["data"][0]
        entry.update(b=bid, bs=bid_size, k=ask, ks=ask_size, t=entry["t"] + STEP_MS * step)
        frames.append(json.dumps(message))
    return frames


def _coinbase_exchange(quotes: list[Quote]) -> list[str]:
    """``ticker`` of ``coinbase-exchange.jsonl`` with today's sizes: ``sequence``, ``time``."""
    template = _recorded("coinbase-exchange.jsonl", '"type":"ticker","sequence":333938798')
    frames = []
    for step, (bid, bid_size, ask, ask_size) in enumerate(quotes):
        message = deepcopy(template)
        message.update(
            best_bid=bid,
            best_bid_size=bid_size,
            best_ask=ask,
            best_ask_size=ask_size,
            sequence=message["sequence"] + step,
            time=_rfc3339(message["time"], step),
        )
        frames.append(json.dumps(message))
    return frames


KRAKEN_TICKER: dict[str, Any] = {
    "channel": "ticker",
    "type": "snapshot",
    "data": [
        {
            "symbol": "ALGO/USD",
            "bid": 0.10025,
            "bid_qty": 740.0,
            "ask": 0.10036,
            "ask_qty": 1361.44813783,
            "last": 0.10035,
            "volume": 997038.98383185,
            "vwap": 0.10148,
            "low": 0.09979,
            "high": 0.10285,
            "change": -0.00017,
            "change_pct": -0.17,
            "timestamp": "2023-09-25T09:04:31.742648Z",
        }
    ],
}
"""https://docs.kraken.com/api/docs/websocket-v2/ticker (snapshot example)."""


def _kraken(quotes: list[Quote]) -> list[str]:
    """Snapshot example, then ``update`` messages: ``timestamp`` advances."""
    frames = []
    for step, (bid, bid_size, ask, ask_size) in enumerate(quotes):
        message = deepcopy(KRAKEN_TICKER)
        message["type"] = "update" if step else "snapshot"
        entry = message["data"][0]
        entry.update(
            bid=_number(bid),
            bid_qty=_number(bid_size),
            ask=_number(ask),
            ask_qty=_number(ask_size),
            timestamp=_rfc3339(entry["timestamp"], step),
        )
        frames.append(_dumps(message))
    return frames


COINBASE_TICKER: dict[str, Any] = {
    **json.loads(COINBASE_DOC_TICKER),
    "timestamp": "2023-02-09T20:30:37.167359Z",
}
"""https://docs.cdp.coinbase.com/coinbase-app/advanced-trade-apis/websocket/websocket-channels
(Ticker Channel example, ``support.coinbase_frames.TICKER``; its nanosecond
timestamp cut to microseconds)."""


def _coinbase(quotes: list[Quote]) -> list[str]:
    """Ticker example, then ``update`` events: ``timestamp`` and ``sequence_num`` advance."""
    frames = []
    for step, (bid, bid_size, ask, ask_size) in enumerate(quotes):
        message = deepcopy(COINBASE_TICKER)
        message.update(timestamp=_rfc3339(message["timestamp"], step), sequence_num=step)
        event = message["events"][0]
        event["type"] = "update" if step else "snapshot"
        event["tickers"][0].update(
            best_bid=bid, best_bid_quantity=bid_size, best_ask=ask, best_ask_quantity=ask_size
        )
        frames.append(json.dumps(message))
    return frames


def _hyperliquid(quotes: list[Quote]) -> list[str]:
    """``WsBbo`` (https://hyperliquid.gitbook.io/hyperliquid-docs/for-developers/api/websocket/subscriptions):
    ``time`` advances."""
    return [
        json.dumps(
            {
                "channel": "bbo",
                "data": {
                    "coin": "BTC",
                    "time": 1754450974231 + STEP_MS * step,
                    "bbo": [
                        {"px": bid, "sz": bid_size, "n": 17},
                        {"px": ask, "sz": ask_size, "n": 3},
                    ],
                },
            }
        )
        for step, (bid, bid_size, ask, ask_size) in enumerate(quotes)
    ]


BYBIT_TICKER: dict[str, Any] = {
    "topic": "tickers.BTCUSDT",
    "type": "snapshot",
    "data": {
        "symbol": "BTCUSDT",
        "tickDirection": "PlusTick",
        "price24hPcnt": "0.017103",
        "lastPrice": "17216.00",
        "prevPrice24h": "16926.50",
        "highPrice24h": "17281.50",
        "lowPrice24h": "16915.00",
        "prevPrice1h": "17238.00",
        "markPrice": "17217.33",
        "indexPrice": "17227.36",
        "openInterest": "68744.761",
        "openInterestValue": "1183601235.91",
        "turnover24h": "1570383121.943499",
        "volume24h": "91705.276",
        "nextFundingTime": "1673280000000",
        "fundingRate": "-0.000212",
        "bid1Price": "17215.50",
        "bid1Size": "84.489",
        "ask1Price": "17216.00",
        "ask1Size": "83.020",
    },
    "cs": 24987956059,
    "ts": 1673272861686,
}
"""https://bybit-exchange.github.io/docs/v5/websocket/public/ticker (linear snapshot example)."""


def _bybit_tickers(symbol: str) -> FrameBuilder:
    """``tickers.<S>``: the snapshot example, then deltas of the four quote fields; ``ts``."""

    def build(quotes: list[Quote]) -> list[str]:
        frames = []
        for step, (bid, bid_size, ask, ask_size) in enumerate(quotes):
            message = deepcopy(BYBIT_TICKER)
            fields = {
                "symbol": symbol,
                "bid1Price": bid,
                "bid1Size": bid_size,
                "ask1Price": ask,
                "ask1Size": ask_size,
            }
            if step:
                message["type"] = "delta"
                message["data"] = fields
            else:
                message["data"].update(fields)
            message.update(
                topic=f"tickers.{symbol}",
                cs=message["cs"] + step,
                ts=message["ts"] + STEP_MS * step,
            )
            frames.append(json.dumps(message))
        return frames

    return build


def _bybit_spot(quotes: list[Quote]) -> list[str]:
    """``orderbook.1.<S>`` (https://bybit-exchange.github.io/docs/v5/websocket/public/orderbook):
    every message a level 1 ``snapshot``, as the venue re-sends them; ``u`` and ``seq`` advance."""
    return [
        json.dumps(
            {
                "topic": "orderbook.1.BTCUSDT",
                "type": "snapshot",
                "ts": 1672304484978 + STEP_MS * step,
                "data": {
                    "s": "BTCUSDT",
                    "b": [[bid, bid_size]],
                    "a": [[ask, ask_size]],
                    "u": 18521288 + step,
                    "seq": 7961638724 + step,
                },
                "cts": 1672304484976 + STEP_MS * step,
            }
        )
        for step, (bid, bid_size, ask, ask_size) in enumerate(quotes)
    ]


TICKER_FRAMES: dict[str, tuple[str, FrameBuilder]] = {
    "binance-spot": _binance("binance-spot.jsonl"),
    "binance-usdm": _binance("binance-usdm.jsonl"),
    "binance-coinm": _binance("binance-coinm.jsonl"),
    "bitfinex": ("tBFTUSD", _bitfinex),
    "bitmex": ("UNIUSDT", _bitmex),
    "bybit-spot": ("BTCUSDT", _bybit_spot),
    "bybit-linear": ("BTCUSDT", _bybit_tickers("BTCUSDT")),
    "bybit-inverse": ("BTCUSD", _bybit_tickers("BTCUSD")),
    "coinbase": ("BTC-USD", _coinbase),
    "coinbase-exchange": ("BAND-GBP", _coinbase_exchange),
    "cryptocom": ("BTCUSD-PERP", _cryptocom),
    "deribit": ("BTC-24SEP21-8000-P", _deribit),
    "gate-futures": _gate(
        _recorded("gate-futures.jsonl", '"futures.book_ticker","event":"update"')
    ),
    "gate-spot": _gate(_GATE_SPOT_BOOK_TICKER),
    "hyperliquid": ("BTC", _hyperliquid),
    "kraken": ("ALGO/USD", _kraken),
    "kraken-futures": ("PI_XBTUSD", _kraken_futures),
    "okx": ("BTC-USDT", _okx),
}
"""venue id -> (the instrument the frames are of, builder)."""
