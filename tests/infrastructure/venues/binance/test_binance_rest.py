"""Binance REST polls: open interest, aggregate trades and book tickers, on documented and
recorded bodies; message ids equal to the WebSocket's for the same trade or quote."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import orjson
import pytest

from relay.config.model import SubscriptionConfig, VenueConfig
from relay.domain.errors import InvalidValueError
from relay.domain.model import DataType, Instrument, OpenInterest, Side, Ticker, Trade
from relay.infrastructure.venues.binance import parse
from relay.infrastructure.venues.binance.protocol import USDM, BinanceProtocol
from relay.infrastructure.venues.binance.rest import (
    COINM_POLLING,
    SPOT_POLLING,
    USDM_POLLING,
    agg_trades,
    book_ticker,
    open_interest,
)
from relay.infrastructure.venues.registry import venue_spec

BTCUSDT = Instrument("binance-usdm", "BTCUSDT", "BTC/USDT")
CTKUSDT = Instrument("binance-usdm", "CTKUSDT", "CTK/USDT")
BTCUSD_200626 = Instrument("binance-coinm", "BTCUSD_200626", "BTC/USD:200626")
LTCBTC = Instrument("binance-spot", "LTCBTC", "LTC/BTC")

# The documentation's examples (pages cited in relay/infrastructure/venues/binance/rest.py).
USDM_OPEN_INTEREST = b'{"openInterest":"10659.509","symbol":"BTCUSDT","time":1589437530011}'
COINM_OPEN_INTEREST = (
    b'{"symbol":"BTCUSD_200626","pair":"BTCUSD","openInterest":"15004",'
    b'"contractType":"CURRENT_QUARTER","time":1591261042378}'
)
SPOT_AGG_TRADES = (
    b'[{"a":26129,"p":"0.01633102","q":"4.70443515","f":27781,"l":27781,'
    b'"T":1498793709153,"m":true,"M":true}]'
)
USDM_BOOK_TICKER = (
    b'{"symbol":"BTCUSDT","bidPrice":"4.00000000","bidQty":"431.00000000",'
    b'"askPrice":"4.00000200","askQty":"9.00000000","time":1589437530011,"lastUpdateId":1027024}'
)
SPOT_BOOK_TICKER = (
    b'{"symbol":"LTCBTC","bidPrice":"4.00000000","bidQty":"431.00000000",'
    b'"askPrice":"4.00000200","askQty":"9.00000000"}'
)
COINM_BOOK_TICKER = (
    b'[{"lastUpdateId":1027024,"symbol":"BTCUSD_200626","pair":"BTCUSD",'
    b'"bidPrice":"9650.1","bidQty":"16","askPrice":"9650.3","askQty":"7","time":1591257300345}]'
)


def test_usdm_open_interest_is_keyed_and_timed_by_the_venues_time() -> None:
    (event,) = open_interest(USDM_OPEN_INTEREST, BTCUSDT, 1589437530034)

    assert event.payload == OpenInterest(Decimal("10659.509"))
    assert str(event.payload.open_interest) == "10659.509"
    assert (event.data_type, event.exchange_timestamp_ms) == (
        DataType.OPEN_INTEREST,
        1589437530011,
    )
    assert event.msg_id == "binance-usdm:BTCUSDT:open_interest:1589437530011"


def test_coinm_open_interest_reads_the_same_fields() -> None:
    (event,) = open_interest(COINM_OPEN_INTEREST, BTCUSD_200626, 1)

    assert event.payload == OpenInterest(Decimal("15004"))
    assert event.dedup_key == "1591261042378"


def test_aggregate_trades_read_as_the_stream_reads_them() -> None:
    (event,) = agg_trades(SPOT_AGG_TRADES, LTCBTC, 7)

    assert event.payload == Trade("26129", Decimal("0.01633102"), Decimal("4.70443515"), Side.SELL)
    assert (event.exchange_timestamp_ms, event.received_at_ms) == (1498793709153, 7)
    assert event.msg_id == "binance-spot:LTCBTC:trade:26129"


def test_every_recorded_agg_trade_gets_the_websockets_message_id_and_values(
    captures_dir: Path,
) -> None:
    lines = (captures_dir / "binance-usdm.jsonl").read_text().splitlines()[1:]
    datas = [
        json.loads(r["data"])["data"]
        for r in map(json.loads, lines)
        if r["kind"] == "recv" and "@aggTrade" in r["data"]
    ]
    ctk = [d for d in datas if d["s"] == "CTKUSDT"]
    body = orjson.dumps([{k: d[k] for k in ("a", "p", "q", "f", "l", "T", "m")} for d in ctk])

    polled = agg_trades(body, CTKUSDT, 5)
    streamed = [parse.agg_trade(d, CTKUSDT, 5) for d in ctk]

    assert len(polled) == 38
    assert polled == streamed
    assert [e.msg_id for e in polled] == [f"binance-usdm:CTKUSDT:trade:{d['a']}" for d in ctk]


def test_a_futures_book_ticker_is_keyed_by_its_update_id_like_the_streams_u() -> None:
    (event,) = book_ticker(USDM_BOOK_TICKER, BTCUSDT, 9)

    assert event.payload == Ticker(
        Decimal("4.00000000"),
        Decimal("431.00000000"),
        Decimal("4.00000200"),
        Decimal("9.00000000"),
        1027024,
    )
    assert (event.dedup_key, event.exchange_timestamp_ms) == ("1027024", 1589437530011)


def test_a_spot_book_ticker_has_no_update_id_and_is_keyed_by_its_receive_time() -> None:
    (event,) = book_ticker(SPOT_BOOK_TICKER, LTCBTC, 1633998511159)

    assert isinstance(event.payload, Ticker)
    assert event.payload.update_id is None
    assert (event.dedup_key, event.exchange_timestamp_ms) == ("rest-1633998511159", None)


def test_a_coinm_book_ticker_list_gives_the_symbols_quote() -> None:
    (event,) = book_ticker(COINM_BOOK_TICKER, BTCUSD_200626, 1)

    assert event.payload == Ticker(
        Decimal("9650.1"), Decimal("16"), Decimal("9650.3"), Decimal("7"), 1027024
    )


@pytest.mark.parametrize(
    ("reader", "body", "error"),
    [
        (open_interest, b"not json", orjson.JSONDecodeError),
        (open_interest, b'{"symbol":"BTCUSDT","time":1}', KeyError),
        (open_interest, USDM_OPEN_INTEREST.replace(b"BTCUSDT", b"ETHUSDT"), InvalidValueError),
        (open_interest, b'{"openInterest":"-1","symbol":"BTCUSDT","time":1}', InvalidValueError),
        (agg_trades, b'{"a":1}', InvalidValueError),
        (agg_trades, b'[{"a":1,"p":"1","q":"1","T":1}]', KeyError),
        (book_ticker, b"[]", InvalidValueError),
        (book_ticker, USDM_BOOK_TICKER.replace(b'"4.00000000"', b'"-4"', 1), InvalidValueError),
    ],
)
def test_a_body_the_parser_cannot_read_raises_what_the_poller_counts_as_bad_body(
    reader: object, body: bytes, error: type[Exception]
) -> None:
    assert callable(reader)
    with pytest.raises(error):
        reader(body, BTCUSDT, 1)
    assert issubclass(error, ValueError | KeyError | TypeError | InvalidValueError)


def test_futures_poll_open_interest_and_every_market_falls_back_to_trades_and_tickers() -> None:
    assert [e.path for e in USDM_POLLING.polled] == ["/fapi/v1/openInterest"]
    assert [e.path for e in COINM_POLLING.polled] == ["/dapi/v1/openInterest"]
    assert SPOT_POLLING.polled == ()
    assert [(e.path, e.weight) for e in SPOT_POLLING.fallback] == [
        ("/api/v3/aggTrades", 4),
        ("/api/v3/ticker/bookTicker", 2),
    ]
    assert [(e.data_type, e.weight) for e in USDM_POLLING.fallback] == [
        (DataType.TRADE, 20),
        (DataType.TICKER, 2),
    ]
    assert DataType.OPEN_INTEREST in venue_spec("binance-usdm").data_types
    assert DataType.OPEN_INTEREST not in venue_spec("binance-spot").data_types
    assert venue_spec("binance-coinm").rest_polling is COINM_POLLING


def test_open_interest_opens_no_stream() -> None:
    config = VenueConfig(
        "binance-usdm",
        (SubscriptionConfig("BTCUSDT", "BTC/USDT", (DataType.TRADE, DataType.OPEN_INTEREST)),),
    )

    assert BinanceProtocol(config, USDM, "wss://x/stream").stream_names() == ["btcusdt@aggTrade"]
