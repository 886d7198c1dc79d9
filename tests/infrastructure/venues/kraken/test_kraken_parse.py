"""Kraken v2 trade, ticker and candle messages and unusable frames, on documented examples.

No recorded Kraken v2 session exists in shared/captures, so every frame here is
a documented example (each test names its page) or one derived from one by a
stated change.
"""

from __future__ import annotations

import pytest
from support.kraken_frames import MATIC, MATIC_UPDATE, D, protocol

from relay.application.errors import FrameError
from relay.domain.model import Candle, DataType, Instrument, Side, Ticker, Trade
from relay.infrastructure.venues.common.times import rfc3339_ms

# --- trade, ticker, candle ----------------------------------------------------------------

TRADE_SNAPSHOT = """{"channel": "trade", "type": "snapshot", "data": [
  {"symbol": "MATIC/USD", "side": "buy", "price": 0.5147, "qty": 6423.46326,
   "ord_type": "limit", "trade_id": 4665846, "timestamp": "2023-09-25T07:48:36.925533Z"},
  {"symbol": "MATIC/USD", "side": "buy", "price": 0.5147, "qty": 1136.19677815,
   "ord_type": "limit", "trade_id": 4665847, "timestamp": "2023-09-25T07:49:36.925603Z"}]}"""
TRADE_UPDATE = """{"channel": "trade", "type": "update", "data": [
  {"symbol": "MATIC/USD", "side": "sell", "price": 0.5117, "qty": 40.0,
   "ord_type": "market", "trade_id": 4665906, "timestamp": "2023-09-25T07:49:37.708706Z"}]}"""


def test_documented_trade_messages_are_trades_keyed_by_trade_id() -> None:
    """https://docs.kraken.com/api/docs/websocket-v2/trade (snapshot and update examples)."""
    proto = protocol()
    snapshot = proto.on_frame(TRADE_SNAPSHOT, 5)
    assert [(e.payload, e.exchange_timestamp_ms, e.dedup_key) for e in snapshot.events] == [
        (Trade("4665846", D("0.5147"), D("6423.46326"), Side.BUY), 1695628116925, "4665846"),
        (Trade("4665847", D("0.5147"), D("1136.19677815"), Side.BUY), 1695628176925, "4665847"),
    ]
    [event] = proto.on_frame(TRADE_UPDATE, 6).events
    assert event.instrument == MATIC and event.data_type is DataType.TRADE
    assert event.payload == Trade("4665906", D("0.5117"), D("40.0"), Side.SELL)
    assert str(event.payload.quantity) == "40.0"
    assert event.exchange_timestamp_ms == 1695628177708
    assert event.msg_id == "kraken:MATIC/USD:trade:4665906"


TICKER_SNAPSHOT = """{"channel": "ticker", "type": "snapshot", "data": [{"symbol": "ALGO/USD",
  "bid": 0.10025, "bid_qty": 740.0, "ask": 0.10036, "ask_qty": 1361.44813783, "last": 0.10035,
  "volume": 997038.98383185, "vwap": 0.10148, "low": 0.09979, "high": 0.10285,
  "change": -0.00017, "change_pct": -0.17, "timestamp": "2023-09-25T09:04:31.742648Z"}]}"""


def test_documented_ticker_is_best_bid_and_ask_with_quantities() -> None:
    """https://docs.kraken.com/api/docs/websocket-v2/ticker (snapshot example)."""
    [event] = protocol().on_frame(TICKER_SNAPSHOT, 7).events
    assert event.instrument == Instrument("kraken", "ALGO/USD", "ALGO/USD")
    assert event.payload == Ticker(D("0.10025"), D("740.0"), D("0.10036"), D("1361.44813783"))
    assert event.exchange_timestamp_ms == 1695632671742
    assert event.dedup_key == "2023-09-25T09:04:31.742648Z:0.10025:740.0:0.10036:1361.44813783"


OHLC_UPDATE = """{"channel": "ohlc", "type": "update",
  "timestamp": "2023-10-04T16:26:30.524394914Z", "data": [{"symbol": "MATIC/USD",
  "open": 0.5624, "high": 0.5628, "low": 0.5622, "close": 0.5627, "trades": 12,
  "volume": 30927.68066226, "vwap": 0.5626, "interval_begin": "2023-10-04T16:25:00.000000000Z",
  "interval": 5, "timestamp": "2023-10-04T16:30:00.000000Z"}]}"""


def test_documented_ohlc_update_is_an_open_candle_of_the_configured_interval() -> None:
    """https://docs.kraken.com/api/docs/websocket-v2/ohlc (update example)."""
    [event] = protocol(interval="5m").on_frame(OHLC_UPDATE, 8).events
    assert event.instrument == MATIC and event.data_type is DataType.CANDLE
    assert event.payload == Candle(
        interval="5m",
        open_time_ms=1696436700000,
        close_time_ms=1696437000000,
        open=D("0.5624"),
        high=D("0.5628"),
        low=D("0.5622"),
        close=D("0.5627"),
        volume=D("30927.68066226"),
        is_closed=False,
        quote_volume=None,
        trade_count=12,
    )
    assert event.exchange_timestamp_ms == 1696436700000
    assert event.dedup_key == "5:1696436700000:12:30927.68066226"


def test_rfc3339_timestamps_with_nanoseconds_become_epoch_milliseconds() -> None:
    assert rfc3339_ms("t", "2023-10-04T16:25:00.000000000Z") == 1696436700000
    assert rfc3339_ms("t", "2023-09-25T07:48:36.925533Z") == 1695628116925
    assert rfc3339_ms("t", "2023-09-25T07:48:36Z") == 1695628116000


# --- malformed frames ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        ("not json", "not_json"),
        (b"\xff\xfe", "not_json"),
        ("[1, 2]", "unknown_event"),
        ('{"channel": "spread", "type": "update", "data": []}', "unknown_event"),
        ('{"method": "edit_order", "success": true}', "unknown_event"),
        (TRADE_UPDATE.replace('"price": 0.5117, ', ""), "missing_field"),
        (TRADE_UPDATE.replace('"sell"', '"short"'), "invalid_value"),
        (TRADE_UPDATE.replace("40.0", "-40.0"), "invalid_value"),
        (TRADE_UPDATE.replace("0.5117", '"abc"'), "invalid_value"),
        (TRADE_UPDATE.replace("0.5117", "1e999999"), "invalid_value"),
        (TRADE_UPDATE.replace("2023-09-25T07:49:37.708706Z", "yesterday"), "invalid_value"),
        (TRADE_UPDATE.replace("MATIC/USD", "DOGE/USD"), "unsubscribed"),
        (MATIC_UPDATE.replace('"checksum": 2114181697,', ""), "missing_field"),
        (MATIC_UPDATE.replace("2114181697", '"x"'), "invalid_value"),
        (MATIC_UPDATE.replace('"bids": [', '"bids": [{"price": 0, "qty": 1}, '), "invalid_value"),
        (MATIC_UPDATE.replace('"type": "update"', '"type": "partial"'), "invalid_value"),
    ],
)
def test_unusable_frames_raise_frame_error_with_a_reason(frame: str | bytes, reason: str) -> None:
    with pytest.raises(FrameError) as info:
        protocol().on_frame(frame, 1)
    assert info.value.reason == reason
