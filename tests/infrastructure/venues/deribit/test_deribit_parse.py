"""Deribit tickers, funding, open interest, trades, liquidations and candles."""

from __future__ import annotations

from decimal import Decimal

import pytest
from support.deribit_frames import CALL, first, instrument, protocol, trades_frame

from relay.domain.model import (
    Candle,
    DataType,
    FundingRate,
    Liquidation,
    MarketEvent,
    OpenInterest,
    Side,
    Ticker,
    Trade,
)

# -- tickers, funding, open interest ---------------------------------------------------------


def test_recorded_option_ticker_is_a_ticker_and_open_interest_published_when_changed() -> None:
    proto = protocol([CALL])
    frame, t = first(lambda m: m.get("params", {}).get("channel") == f"ticker.{CALL}.raw")
    outcome = proto.on_frame(frame, t)
    d = Decimal
    assert outcome.events == [
        MarketEvent(
            instrument(CALL),
            DataType.TICKER,
            t,
            1626993723632,
            Ticker(d("0.0015"), d("4714.0"), d("0.0025"), d("873.0")),
            "1626993723632:0.0015:4714.0:0.0025:873.0",
        ),
        MarketEvent(
            instrument(CALL),
            DataType.OPEN_INTEREST,
            t,
            1626993723632,
            OpenInterest(d("12685.0")),
            "1626993723632:12685.0",
        ),
    ]
    assert [e.data_type for e in proto.on_frame(frame, t).events] == [DataType.TICKER]


def test_ticker_of_an_empty_book_side_has_price_and_amount_zero() -> None:
    proto = protocol()
    frame, t = first(
        lambda m: (
            m.get("params", {}).get("channel", "").startswith("ticker")
            and m["params"]["data"]["best_bid_price"] == 0
        )
    )
    ticker = proto.on_frame(frame, t).events[0].payload
    assert isinstance(ticker, Ticker)
    assert (ticker.bid_price, ticker.bid_quantity) == (Decimal("0.0"), Decimal("0.0"))


def test_perpetual_ticker_gives_ticker_funding_8h_and_open_interest() -> None:
    """Deribit's documented perpetual ticker (as quoted in cryptofeed's deribit.py docstring)."""
    frame = (
        '{"jsonrpc":"2.0","method":"subscription","params":{"channel":"ticker.BTC-PERPETUAL.raw",'
        '"data":{"timestamp":1550652954406,"open_interest":0.12759952124659626,"mark_price":3940.06,'
        '"last_price":3906,"instrument_name":"BTC-PERPETUAL","index_price":3918.51,'
        '"funding_8h":0.01520525,"current_funding":0.00499954,"best_bid_price":3914.97,'
        '"best_bid_amount":40,"best_ask_price":3996.61,"best_ask_amount":50}}}'
    )
    proto = protocol(
        ["BTC-PERPETUAL"], (DataType.TICKER, DataType.FUNDING_RATE, DataType.OPEN_INTEREST)
    )
    events = proto.on_frame(frame, 7).events
    d = Decimal
    assert [(e.payload, e.dedup_key, e.exchange_timestamp_ms) for e in events] == [
        (
            Ticker(d("3914.97"), d(40), d("3996.61"), d(50)),
            "1550652954406:3914.97:40:3996.61:50",
            1550652954406,
        ),
        (
            FundingRate(d("0.01520525"), d("3940.06"), d("3918.51")),
            "1550652954406:0.01520525",
            1550652954406,
        ),
        (
            OpenInterest(d("0.12759952124659626")),
            "1550652954406:0.12759952124659626",
            1550652954406,
        ),
    ]


def test_documented_trade_is_a_trade_with_the_taker_side() -> None:
    proto = protocol(["BTC-PERPETUAL"], (DataType.TRADE, DataType.LIQUIDATION))
    assert proto.on_frame(trades_frame(), 5).events == [
        MarketEvent(
            instrument("BTC-PERPETUAL"),
            DataType.TRADE,
            5,
            1550736299753,
            Trade("9178", Decimal("3948.69"), Decimal(10), Side.SELL),
            "9178",
        )
    ]


@pytest.mark.parametrize(("flag", "side"), [("M", Side.BUY), ("T", Side.SELL), ("MT", Side.SELL)])
def test_trade_flagged_liquidation_also_gives_the_liquidated_orders_side(
    flag: str, side: Side
) -> None:
    """``liquidation`` per https://docs.deribit.com/subscriptions/trades/tradesinstrument_nameinterval."""
    proto = protocol(["BTC-PERPETUAL"], (DataType.TRADE, DataType.LIQUIDATION))
    events = proto.on_frame(trades_frame(f'"liquidation":"{flag}"'), 5).events
    assert [(e.data_type, e.payload, e.dedup_key) for e in events] == [
        (DataType.TRADE, Trade("9178", Decimal("3948.69"), Decimal(10), Side.SELL), "9178"),
        (DataType.LIQUIDATION, Liquidation(side, Decimal("3948.69"), Decimal(10)), "9178"),
    ]


def test_liquidation_only_subscription_skips_plain_trades() -> None:
    proto = protocol(["BTC-PERPETUAL"], (DataType.LIQUIDATION,))
    assert proto.on_frame(trades_frame(), 5).events == []
    assert [e.data_type for e in proto.on_frame(trades_frame('"liquidation":"T"'), 5).events] == [
        DataType.LIQUIDATION
    ]


def test_documented_chart_notification_is_an_open_candle_with_cost_as_quote_volume() -> None:
    """Example of https://docs.deribit.com/subscriptions/market-data/charttradesinstrument_nameresolution
    (as reproduced in gocryptotrader's Deribit tests)."""
    frame = (
        '{"params" : {"data" : {"volume" : 0.05219351,"tick" : 1573645080000,'
        '"open" : 8869.79,"low" : 8788.25,"high" : 8870.31,"cost" : 460,"close" : 8791.25},'
        '"channel" : "chart.trades.BTC-PERPETUAL.1"},"method" : "subscription",'
        '"jsonrpc" : "2.0"  }'
    )
    proto = protocol(["BTC-PERPETUAL"], (DataType.CANDLE,))
    d = Decimal
    assert proto.on_frame(frame, 9).events == [
        MarketEvent(
            instrument("BTC-PERPETUAL"),
            DataType.CANDLE,
            9,
            1573645080000,
            Candle(
                "1m",
                1573645080000,
                1573645139999,
                d("8869.79"),
                d("8870.31"),
                d("8788.25"),
                d("8791.25"),
                d("0.05219351"),
                False,
                quote_volume=d(460),
            ),
            "1573645080000:0.05219351:460:8870.31:8788.25:8791.25",
        )
    ]
