"""Coinbase Advanced Trade documented frames and builders, shared by the Coinbase tests and
the cross-venue tests (resync, message ids): the channels page's level2 example and a
protocol builder."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

from relay.config.model import SubscriptionConfig, VenueConfig
from relay.domain.model import (
    DataType,
    Instrument,
)
from relay.infrastructure.venues.coinbase.parse import CANDLE_INTERVAL
from relay.infrastructure.venues.coinbase.protocol import CoinbaseProtocol
from relay.infrastructure.venues.registry import venue_spec

CHANNELS = (
    "https://docs.cdp.coinbase.com/coinbase-app/advanced-trade-apis/websocket/websocket-channels"
)
PRODUCTS = (
    "https://docs.cdp.coinbase.com/api-reference/advanced-trade-api/rest-api/public/"
    "list-public-products"
)
ALL = (DataType.TRADE, DataType.TICKER, DataType.L2_ORDERBOOK, DataType.CANDLE)
BTC = Instrument("coinbase", "BTC-USD", "BTC/USD")
ETH = Instrument("coinbase", "ETH-USD", "ETH/USD")
T_MS = 1_700_000_000_000
LEVEL2 = """{
  "channel": "l2_data",
  "client_id": "",
  "timestamp": "2023-02-09T20:32:50.714964855Z",
  "sequence_num": 0,
  "events": [
    {
      "type": "snapshot",
      "product_id": "BTC-USD",
      "updates": [
        {
          "side": "bid",
          "event_time": "1970-01-01T00:00:00Z",
          "price_level": "21921.73",
          "new_quantity": "0.06317902"
        },
        {
          "side": "bid",
          "event_time": "1970-01-01T00:00:00Z",
          "price_level": "21921.3",
          "new_quantity": "0.02"
        }
      ]
    }
  ]
}"""


def protocol(
    data_types: tuple[DataType, ...] = ALL,
    depth: int = 0,
    products: tuple[str, ...] = ("BTC-USD", "ETH-USD"),
) -> CoinbaseProtocol:
    subs = tuple(
        SubscriptionConfig(p, p.replace("-", "/"), data_types, depth, CANDLE_INTERVAL)
        for p in products
    )
    built = venue_spec("coinbase").protocol_factory(VenueConfig(id="coinbase", subscriptions=subs))
    assert isinstance(built, CoinbaseProtocol)
    return built


def with_sequence(text: str, sequence: int) -> str:
    message = json.loads(text)
    message["sequence_num"] = sequence
    return json.dumps(message)


def l2(
    sequence: int,
    kind: str,
    product: str,
    *levels: tuple[str, str, str],
    event_time: str = "2023-02-09T20:32:50.714964Z",
) -> str:
    """The documented level2 example with its type, product, number and levels replaced."""
    message = json.loads(LEVEL2)
    message["sequence_num"] = sequence
    message["events"][0]["type"] = kind
    message["events"][0]["product_id"] = product
    message["events"][0]["updates"] = [
        {"side": side, "event_time": event_time, "price_level": price, "new_quantity": quantity}
        for side, price, quantity in levels
    ]
    return json.dumps(message)


def book_snapshot(sequence: int, product: str = "BTC-USD") -> str:
    """A two-sided snapshot in the documented shape (the example has bids only)."""
    return l2(
        sequence,
        "snapshot",
        product,
        ("bid", "21921.73", "0.06317902"),
        ("bid", "21921.3", "0.02"),
        ("offer", "21933.98", "1.5"),
    )


HEARTBEAT = """{
  "channel": "heartbeats",
  "client_id": "",
  "timestamp": "2023-06-23T20:31:26.122969572Z",
  "sequence_num": 0,
  "events": [
    {
      "current_time": "2023-06-23 20:31:56.121961769 +0000 UTC m=+91717.525857105",
      "heartbeat_counter": "3049"
    }
  ]
}"""
CANDLES = """{
  "channel": "candles",
  "client_id": "",
  "timestamp": "2023-06-09T20:19:35.39625135Z",
  "sequence_num": 0,
  "events": [
    {
      "type": "snapshot",
      "candles": [
        {
          "start": "1688998200",
          "high": "1867.72",
          "low": "1865.63",
          "open": "1867.38",
          "close": "1866.81",
          "volume": "0.20269406",
          "product_id": "ETH-USD"
        }
      ]
    }
  ]
}"""
MARKET_TRADES = """{
  "channel": "market_trades",
  "client_id": "",
  "timestamp": "2023-02-09T20:19:35.39625135Z",
  "sequence_num": 0,
  "events": [
    {
      "type": "snapshot",
      "trades": [
        {
          "trade_id": "000000000",
          "product_id": "ETH-USD",
          "price": "1260.01",
          "size": "0.3",
          "side": "BUY",
          "time": "2019-08-14T20:42:27.265Z"
        }
      ]
    }
  ]
}"""
TICKER = """{
  "channel": "ticker",
  "client_id": "",
  "timestamp": "2023-02-09T20:30:37.167359596Z",
  "sequence_num": 0,
  "events": [
    {
      "type": "snapshot",
      "tickers": [
        {
          "type": "ticker",
          "product_id": "BTC-USD",
          "price": "21932.98",
          "volume_24_h": "16038.28770938",
          "low_24_h": "21835.29",
          "high_24_h": "23011.18",
          "low_52_w": "15460",
          "high_52_w": "48240",
          "price_percent_chg_24_h": "-4.15775596190603",
          "best_bid": "21931.98",
          "best_bid_quantity": "8000.21",
          "best_ask": "21933.98",
          "best_ask_quantity": "8038.07770938"
        }
      ]
    }
  ]
}"""


JSON_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False),
    st.text(max_size=12),
    st.sampled_from(
        ["0", "-1", "1e999999", "NaN", "", "bid", "offer", "snapshot", "update", "BTC-USD"]
    ),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


def json_paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(value, dict):
        return [prefix] + [p for k, v in value.items() for p in json_paths(v, (*prefix, k))]
    if isinstance(value, list):
        return [prefix] + [p for i, v in enumerate(value) for p in json_paths(v, (*prefix, i))]
    return [prefix]
