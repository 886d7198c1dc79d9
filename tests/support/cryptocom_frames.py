"""Crypto.com Exchange v1 market data frames from the documented examples.

There is no recording of this venue in ``shared/captures``: every frame here is a
sample of the Exchange API v1 reference,
https://exchange-docs.crypto.com/exchange/v1/rest-ws/index.html, written on one
line (the fuzz tests read them as seeds), with the section it comes from. Frames
built from them (:func:`delta`, :func:`snapshot`) change only what their docstring says.
"""

from __future__ import annotations

import json
from typing import Any

from relay.config.model import SubscriptionConfig, VenueConfig
from relay.domain.model import DataType
from relay.infrastructure.venues.cryptocom.protocol import CryptocomProtocol

HEARTBEAT = '{"id":1587523073344,"method":"public/heartbeat","code":0}'
"""#websocket-heartbeats: "Heartbeat Example"."""

HEARTBEAT_ANSWER = '{"id":1587523073344,"method":"public/respond-heartbeat"}'
"""#websocket-heartbeats: "Request Sample" (the answer the client must send)."""

SUBSCRIBED = '{"id":1,"code":0,"method":"subscribe"}'
"""#websocket-subscriptions: "Response Sample (Initial)"."""

BOOK_SNAPSHOT = (
    '{"id":-1,"method":"subscribe","code":0,"result":{"instrument_name":"BTCUSD-PERP",'
    '"subscription":"book.BTCUSD-PERP.10","channel":"book","depth":10,"data":[{"asks":['
    '["50126.000000","0.400000","2"],["50130.000000","1.279000","3"],'
    '["50136.000000","1.279000","5"],["50137.000000","0.800000","7"],'
    '["50142.000000","1.279000","1"],["50148.000000","2.892900","9"],'
    '["50154.000000","1.279000","5"],["50160.000000","1.133000","2"],'
    '["50166.000000","3.090700","1"],["50172.000000","1.279000","1"]],"bids":['
    '["50113.500000","0.400000","3"],["50113.000000","0.051800","1"],'
    '["50112.000000","1.455300","1"],["50106.000000","1.174800","2"],'
    '["50100.500000","0.800000","4"],["50100.000000","1.455300","5"],'
    '["50097.500000","0.048000","8"],["50097.000000","0.148000","9"],'
    '["50096.500000","0.399200","2"],["50095.000000","0.399200","3"]],'
    '"tt":1647917462799,"t":1647917463000,"u":7845460001}]}}'
)
"""#book-instrument_name-depth: "Response Sample - Subscription (SNAPSHOT_AND_UPDATE)",
the snapshot."""

BOOK_UPDATE = (
    '{"id":-1,"method":"subscribe","code":0,"result":{"instrument_name":"BTCUSD-PERP",'
    '"subscription":"book.BTCUSD-PERP.10","channel":"book.update","depth":10,"data":[{'
    '"update":{"asks":[["50126.000000","0","0"],["50180.000000","3.279000","10"]],'
    '"bids":[["50097.000000","0.252000","1"]]},'
    '"tt":1647917463003,"t":1647917463003,"u":7845460002,"pu":7845460001}]}}'
)
"""#book-instrument_name-depth: the delta that follows :data:`BOOK_SNAPSHOT` (the page's
sample has a stray ``}]`` after ``update``; written here as its field table describes it)."""

TRADE = (
    '{"id":1,"method":"subscribe","code":0,"result":{"instrument_name":"BTCUSD-PERP",'
    '"subscription":"trade.BTCUSD-PERP","channel":"trade","data":[{"d":"2030407068",'
    '"t":1613581138462,"p":"51327.500000","q":"0.000100","s":"SELL","i":"BTCUSD-PERP"}]}}'
)
"""#trade-instrument_name: "Response Sample"."""

TICKER = (
    '{"id":-1,"method":"subscribe","code":0,"result":{"instrument_name":"BTCUSD-PERP",'
    '"subscription":"ticker.BTCUSD-PERP","channel":"ticker","data":[{"h":"51790.00",'
    '"l":"47895.50","a":"51174.500000","c":"0.03955106","b":"51170.000000","bs":"0.1000",'
    '"k":"51180.000000","ks":"0.2000","i":"BTCUSD-PERP","v":"879.5024","vv":"26370000.12",'
    '"oi":"12345.12","t":1613580710768}]}}'
)
"""#ticker-instrument_name: "Response Sample" (its comments left out)."""

CANDLE = (
    '{"id":1,"method":"subscribe","code":0,"result":{"instrument_name":"BTCUSD-PERP",'
    '"subscription":"candlestick.1D.BTCUSD-PERP","channel":"candlestick","interval":"1D",'
    '"data":[{"o":"51140.500000","h":"51699.000000","l":"49212.000000","c":"51313.500000",'
    '"v":"867.9432","t":1612224000000}]}}'
)
"""#candlestick-time_frame-instrument_name: "Response Sample"."""

FUNDING = (
    '{"id":1,"method":"subscribe","code":0,"result":{"instrument_name":"BTCUSD-PERP",'
    '"subscription":"funding.BTCUSD-PERP","channel":"funding",'
    '"data":[{"v":"0.00144","t":1613582880000}]}}'
)
"""#funding-instrument_name: "Response Sample"."""

ERROR = '{"id":-1,"method":"ERROR","code":40003,"message":"Bad request","original":"x"}'
"""#error-response-format: a request without ``id`` and ``method`` is answered with ``id``
-1 and ``method`` ``ERROR``; code 40003 is the reference's ``BAD_REQUEST``."""

BOOK = "BTCUSD-PERP"
"""The instrument of every documented market data sample."""


def protocol_config(
    data_types: tuple[DataType, ...] = tuple(
        sorted(
            (
                DataType.TRADE,
                DataType.TICKER,
                DataType.L2_ORDERBOOK,
                DataType.CANDLE,
                DataType.FUNDING_RATE,
                DataType.OPEN_INTEREST,
            ),
            key=lambda d: d.value,
        )
    ),
    *,
    depth: int = 10,
    candle_interval: str = "1d",
) -> VenueConfig:
    """The venue config of one subscription to ``data_types`` of BTCUSD-PERP."""
    return VenueConfig(
        id="cryptocom",
        subscriptions=(
            SubscriptionConfig(
                BOOK, "BTC/USD:PERP", data_types, depth=depth, candle_interval=candle_interval
            ),
        ),
    )


def protocol(
    data_types: tuple[DataType, ...] = tuple(DataType),
    *,
    depth: int = 10,
    candle_interval: str = "1d",
) -> CryptocomProtocol:
    """A protocol subscribed to ``data_types`` of BTCUSD-PERP (all the venue offers by
    default), its subscribe frames taken."""
    wanted = tuple(d for d in data_types if d is not DataType.LIQUIDATION)
    proto = CryptocomProtocol(protocol_config(wanted, depth=depth, candle_interval=candle_interval))
    proto.subscribe_frames()
    return proto


def delta(
    u: int,
    pu: int,
    bids: list[list[str]],
    asks: list[list[str]],
    t: int = 1647917463003,
) -> str:
    """:data:`BOOK_UPDATE` with ``u``, ``pu``, the levels and ``t`` (= ``tt``) replaced."""
    message: dict[str, Any] = json.loads(BOOK_UPDATE)
    entry = message["result"]["data"][0]
    entry.update(u=u, pu=pu, t=t, tt=t, update={"asks": asks, "bids": bids})
    return json.dumps(message, separators=(",", ":"))


def snapshot(u: int, bids: list[list[str]], asks: list[list[str]], t: int = 1647917464000) -> str:
    """:data:`BOOK_SNAPSHOT` with ``u``, the levels and ``t`` (= ``tt``) replaced."""
    message: dict[str, Any] = json.loads(BOOK_SNAPSHOT)
    entry = message["result"]["data"][0]
    entry.update(u=u, t=t, tt=t, bids=bids, asks=asks)
    return json.dumps(message, separators=(",", ":"))
