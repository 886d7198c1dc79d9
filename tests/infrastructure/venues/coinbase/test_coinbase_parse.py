"""Coinbase Advanced Trade trades, tickers and candles on the channels page's examples.

No recorded session of this feed exists. The messages below are the example
messages of the channels page, https://docs.cdp.coinbase.com/coinbase-app/
advanced-trade-apis/websocket/websocket-channels (``CHANNELS``), copied as
published, or built from them by changing only ``type``, ``sequence_num`` and the
``updates`` levels (said so where it happens).
"""

from __future__ import annotations

from decimal import Decimal

from support.coinbase_frames import (
    BTC,
    CANDLES,
    ETH,
    MARKET_TRADES,
    T_MS,
    TICKER,
    protocol,
)

from relay.domain.model import (
    Candle,
    DataType,
    MarketEvent,
    Side,
    Ticker,
    Trade,
)
from relay.infrastructure.venues.common.times import rfc3339_ms


def test_documented_market_trade_is_published_on_the_taker_side() -> None:
    """CHANNELS, Market Trades Channel: ``side`` is the maker's, so BUY means a taker SELL."""
    outcome = protocol().on_frame(MARKET_TRADES, T_MS)
    assert outcome.events == [
        MarketEvent(
            ETH,
            DataType.TRADE,
            T_MS,
            1565815347265,
            Trade("000000000", Decimal("1260.01"), Decimal("0.3"), Side.SELL),
            "000000000",
        )
    ]
    assert outcome.events[0].msg_id == "coinbase:ETH-USD:trade:000000000"
    assert (outcome.replies, outcome.resyncs) == ([], [])


def test_documented_ticker_is_best_bid_and_ask_with_quantities() -> None:
    """CHANNELS, Ticker Channel example."""
    [event] = protocol().on_frame(TICKER, T_MS).events
    assert event == MarketEvent(
        BTC,
        DataType.TICKER,
        T_MS,
        1675974637167,
        Ticker(
            Decimal("21931.98"), Decimal("8000.21"), Decimal("21933.98"), Decimal("8038.07770938")
        ),
        "2023-02-09T20:30:37.167359596Z:"
        "21932.98:16038.28770938:21931.98:8000.21:21933.98:8038.07770938",
    )
    assert str(event.payload.ask_quantity) == "8038.07770938"  # type: ignore[union-attr]


def test_documented_candle_is_a_five_minute_candle() -> None:
    """CHANNELS, Candles Channel example: ``start`` is epoch seconds of a 5-minute bucket."""
    [event] = protocol().on_frame(CANDLES, T_MS).events
    assert event == MarketEvent(
        ETH,
        DataType.CANDLE,
        T_MS,
        1686341975396,
        Candle(
            "5m",
            1688998200000,
            1688998499999,
            Decimal("1867.38"),
            Decimal("1867.72"),
            Decimal("1865.63"),
            Decimal("1866.81"),
            Decimal("0.20269406"),
            False,
        ),
        "1688998200:1867.38:1867.72:1865.63:1866.81:0.20269406",
    )


def test_rfc3339_times_with_nanoseconds_are_cut_to_milliseconds() -> None:
    assert rfc3339_ms("t", "2023-02-09T20:32:50.714964855Z") == 1675974770714
    assert rfc3339_ms("t", "1970-01-01T00:00:00Z") == 0
    assert rfc3339_ms("t", "2019-08-14T20:42:27.2Z") == 1565815347200
