"""Coinbase Exchange matches, tickers and times on the recorded session's frames.

Documents followed (see the module docstring of
``relay.infrastructure.venues.coinbase_exchange``):
https://docs.cdp.coinbase.com/exchange/websocket-feed/channels (heartbeat example),
https://docs.cloud.coinbase.com/exchange/docs/websocket-overview (error example),
https://docs.cdp.coinbase.com/exchange/websocket-feed/rate-limits (limits).
"""

from __future__ import annotations

import json
from decimal import Decimal

from support.coinbase_exchange_frames import (
    BAND_GBP,
    SKL_BTC,
    first_frame,
    frame_at,
    protocol,
    replay,
)
from support.coinbase_exchange_reference import (
    raw_frames,
)

from relay.domain.model import DataType, MarketEvent, Side, Ticker, Trade
from relay.infrastructure.venues.common.times import rfc3339_ms


def test_match_is_a_trade_whose_aggressor_is_opposite_to_the_maker_side() -> None:
    _, frame, at_ms = first_frame(lambda f: f["type"] == "match")
    [event] = protocol().on_frame(frame, at_ms).events
    assert event == MarketEvent(
        SKL_BTC,
        DataType.TRADE,
        1618677817129,
        1618677817089,
        Trade("280232", Decimal("0.00001305"), Decimal("985"), Side.BUY),
        "280232",
    )
    # The ticker of the same trade names the taker side: "buy".
    _, ticker, _ = first_frame(lambda f: f["type"] == "ticker" and f["trade_id"] == 280232)
    assert json.loads(ticker)["side"] == "buy" and json.loads(frame)["side"] == "sell"


def test_every_recorded_trade_side_equals_the_taker_side_of_its_ticker() -> None:
    events, _, _ = replay(protocol())
    sides = {
        (e.instrument.instrument, e.payload.trade_id): e.payload.side.value.lower()
        for e in events
        if isinstance(e.payload, Trade)
    }
    ticker_sides = {
        (f["product_id"], str(f["trade_id"])): f["side"]
        for f in (json.loads(raw) for raw, _ in raw_frames())
        if f["type"] == "ticker"
    }
    assert len(ticker_sides) == 107
    assert all(sides[key] == side for key, side in ticker_sides.items())


def test_last_match_is_a_trade_deduplicated_by_its_trade_id() -> None:
    frame, at_ms = frame_at(6)
    [event] = protocol().on_frame(frame, at_ms).events
    assert event == MarketEvent(
        BAND_GBP,
        DataType.TRADE,
        1618677817079,
        1618677810244,
        Trade("881613", Decimal("14.7775"), Decimal("0.04"), Side.BUY),
        "881613",
    )


def test_ticker_without_sizes_is_best_bid_and_ask_with_zero_quantities() -> None:
    frame, at_ms = frame_at(4)
    [event] = protocol().on_frame(frame, at_ms).events
    assert event == MarketEvent(
        BAND_GBP,
        DataType.TICKER,
        1618677817079,
        1618677810244,
        Ticker(Decimal("14.7550"), Decimal(0), Decimal("14.8060"), Decimal(0), 333938798),
        "333938798",
    )


def test_ticker_with_best_sizes_publishes_them() -> None:
    message = json.loads(frame_at(4)[0])
    message |= {"best_bid_size": "3.10", "best_ask_size": "0.50"}
    [event] = protocol().on_frame(json.dumps(message), 5).events
    assert event.payload == Ticker(
        Decimal("14.7550"), Decimal("3.10"), Decimal("14.8060"), Decimal("0.50"), 333938798
    )


def test_venue_time_is_converted_to_exact_epoch_milliseconds() -> None:
    assert rfc3339_ms("time", "2021-04-17T16:43:37.075687Z") == 1618677817075
    assert rfc3339_ms("time", "2014-11-07T08:19:28.464459Z") == 1415348368464
    assert rfc3339_ms("time", "2021-04-17T16:43:37Z") == 1618677817000
