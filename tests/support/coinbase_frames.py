"""Coinbase Advanced Trade documented frames and builders, shared by the Coinbase tests and
the cross-venue tests (resync, message ids): the channels page's level2 example and a
protocol builder."""

from __future__ import annotations

import json

from relay.config.model import SubscriptionConfig, VenueConfig
from relay.domain.model import (
    DataType,
    Instrument,
)
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
    subs = tuple(SubscriptionConfig(p, p.replace("-", "/"), data_types, depth) for p in products)
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
