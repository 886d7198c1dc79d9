"""dYdX v4 indexer frames from the venue's documents, shared by the dYdX tests.

There is no recorded dYdX session: these are the examples of the indexer
WebSocket page (https://docs.dydx.exchange/api_integration-indexer/indexer_websocket,
also ``indexer/services/comlink/public/websocket-documentation.md`` in
dydxprotocol/v4-chain), kept as the page prints them except where noted:

- :data:`CONNECTED`: "Connect";
- :data:`BOOK_SNAPSHOT` / :data:`BOOK_UPDATE`: "Orderbooks", Initial Response and
  Channel Data examples (the snapshot as printed, 12 bids and 5 asks);
- :data:`TRADES_SUBSCRIBED` / :data:`TRADES_UPDATE`: "Trades" (the initial
  response cut to its first two trades);
- :data:`MARKETS_SUBSCRIBED` / :data:`MARKETS_UPDATE`: "Markets" (each market
  cut to the fields the relay reads and a few more);
- :data:`CANDLE_UPDATE`: the page prints no candle example; the frame is built
  from the indexer's ``CandleMessageContents`` (``websocket-message-types.ts``)
  with the values of the "Trades" example's four trades of 00:29 (BTC-USD, one
  minute), and the envelope of the other ``channel_data`` examples.

Each example comes from a different connection; :func:`numbered` renumbers a
frame's ``message_id`` for a session on one connection.
"""

from __future__ import annotations

import json
from decimal import Decimal

from relay.config.model import SubscriptionConfig, VenueConfig
from relay.domain.model import DataType
from relay.infrastructure.venues.dydx.protocol import DydxProtocol

BTC = "BTC-USD"
ETH = "ETH-USD"

CONNECTED = (
    '{"type":"connected","connection_id":"004a1efa-21bb-4b19-a2e9-a8ffadd6dc53","message_id":0}'
)

BOOK_BIDS = (
    ("28194", "4.764826096"),
    ("28193", "3.115323739"),
    ("28192", "3.400340775"),
    ("28191", "3.177700682"),
    ("28190", "3.055502176"),
    ("28189", "3.672892171"),
    ("28188", "3.597672948"),
    ("28187", "2.561597964"),
    ("28186", "3.070490554"),
    ("28185", "3.550128411"),
    ("28184", "4.213369101"),
    ("28183", "3.608880877"),
)
BOOK_ASKS = (
    ("28195", "3.219612343"),
    ("28196", "2.387087565"),
    ("28197", "2.698530469"),
    ("28198", "2.590884421"),
    ("28199", "3.192796678"),
)


def _levels(levels: tuple[tuple[str, str], ...]) -> str:
    return ",".join(f'{{"price":"{p}","size":"{s}"}}' for p, s in levels)


BOOK_SNAPSHOT = (
    '{"type":"subscribed","connection_id":"ee5a4696-dce8-44ef-8d68-f0e0d0b06160",'
    '"message_id":2,"channel":"v4_orderbook","id":"BTC-USD","contents":{'
    f'"bids":[{_levels(BOOK_BIDS)}],"asks":[{_levels(BOOK_ASKS)}]}}}}'
)
BOOK_UPDATE = (
    '{"type":"channel_data","connection_id":"ee5a4696-dce8-44ef-8d68-f0e0d0b06160",'
    '"message_id":484,"id":"BTC-USD","channel":"v4_orderbook","version":"0.0.1",'
    '"contents":{"bids":[["27773","1.986168516"]]}}'
)
TRADES_SUBSCRIBED = (
    '{"type":"subscribed","connection_id":"57844645-0b1d-4c3f-ad71-1c6154154a13",'
    '"message_id":1,"channel":"v4_trades","id":"BTC-USD","contents":{"trades":['
    '{"side":"BUY","size":"0.00396135","price":"27848","createdAt":"2023-04-04T00:28:56.226Z",'
    '"createdAtHeight":"49592"},'
    '{"side":"SELL","size":"0.000019216","price":"27841","createdAt":"2023-04-04T00:28:56.226Z",'
    '"createdAtHeight":"49592"}]}}'
)
TRADES_UPDATE = (
    '{"type":"channel_data","connection_id":"57844645-0b1d-4c3f-ad71-1c6154154a13",'
    '"message_id":4,"id":"BTC-USD","channel":"v4_trades","version":"1.1.0","contents":{"trades":['
    '{"id":"8ee6d90d-272d-5edd-bf0f-2e4d6ae3d3b7","size":"0.000100431","price":"27839",'
    '"side":"BUY","createdAt":"2023-04-04T00:29:19.353Z","type":"LIQUIDATED"},'
    '{"id":"38e64479-af09-5417-a795-195f83879156","size":"0.000000004","price":"27839",'
    '"side":"BUY","createdAt":"2023-04-04T00:29:19.353Z","type":"LIQUIDATED"},'
    '{"id":"d310c32c-f066-5ba8-a97d-10a29d9a6c84","size":"0.000000005","price":"27837",'
    '"side":"SELL","createdAt":"2023-04-04T00:29:19.353Z","type":"LIMIT"},'
    '{"id":"dd1088b5-5cab-518f-a59c-4d5f735ab861","size":"0.000118502","price":"27837",'
    '"side":"SELL","createdAt":"2023-04-04T00:29:19.353Z","type":"LIMIT"}]}}'
)
MARKETS_SUBSCRIBED = (
    '{"type":"subscribed","connection_id":"6e0af39b-5937-459a-b7ac-cc8abe1049db",'
    '"message_id":1,"channel":"v4_markets","contents":{"markets":{'
    '"BTC-USD":{"clobPairId":"0","ticker":"BTC-USD","status":"ACTIVE",'
    '"oraclePrice":"27752.92","nextFundingRate":"0","openInterest":"1891.473716288",'
    '"tickSize":"1","stepSize":"0.000000001"},'
    '"ETH-USD":{"clobPairId":"1","ticker":"ETH-USD","status":"ACTIVE",'
    '"oraclePrice":"1808.2","nextFundingRate":"0","openInterest":"44027.853711",'
    '"tickSize":"0.01","stepSize":"0.000001"}}}}'
)
MARKETS_UPDATE = (
    '{"type":"channel_data","connection_id":"1f4ec0e3-ff95-48cc-94f1-7118a19412ff",'
    '"message_id":2,"channel":"v4_markets","version":"0.0.1","contents":{"trading":{'
    '"BTC-USD":{"nextFundingRate":"0.00006821875"},'
    '"ETH-USD":{"volume24H":"1462890959.6541","nextFundingRate":"0.00007478125"}}}}'
)
CANDLE_UPDATE = (
    '{"type":"channel_data","connection_id":"57844645-0b1d-4c3f-ad71-1c6154154a13",'
    '"message_id":5,"id":"BTC-USD/1MIN","channel":"v4_candles","version":"1.0.0","contents":{'
    '"resolution":"1MIN","startedAt":"2023-04-04T00:29:00.000Z","ticker":"BTC-USD",'
    '"low":"27837","high":"27839","open":"27839","close":"27837",'
    '"baseTokenVolume":"0.000218942","trades":4,"usdVolume":"6.094889324",'
    '"startingOpenInterest":"1891.473716288"}}'
)


def numbered(frame: str, message_id: int) -> str:
    """``frame`` with its ``message_id`` set to ``message_id`` (other fields as they are)."""
    message = json.loads(frame)
    message["message_id"] = message_id
    return json.dumps(message, separators=(",", ":"))


def book(**changes: object) -> str:
    """A ``v4_orderbook`` ``channel_data`` shaped as :data:`BOOK_UPDATE`, with ``changes``
    (``message_id``, ``contents``, ``id``) replacing its fields."""
    message = json.loads(BOOK_UPDATE)
    message.update(changes)
    return json.dumps(message, separators=(",", ":"))


def protocol(
    data_types: tuple[DataType, ...] = (
        DataType.TRADE,
        DataType.L2_ORDERBOOK,
        DataType.CANDLE,
        DataType.FUNDING_RATE,
        DataType.OPEN_INTEREST,
    ),
    tickers: tuple[str, ...] = (BTC,),
) -> DydxProtocol:
    """A protocol subscribed to ``data_types`` of each ticker, its subscribe frames taken
    (as a connection does first)."""
    subs = tuple(SubscriptionConfig(t, t.replace("-", "/") + ":PERP", data_types) for t in tickers)
    proto = DydxProtocol(VenueConfig(id="dydx", subscriptions=subs))
    proto.subscribe_frames()
    return proto


def decimals(levels: tuple[tuple[str, str], ...]) -> tuple[tuple[Decimal, Decimal], ...]:
    """Text levels as (Decimal price, Decimal size)."""
    return tuple((Decimal(p), Decimal(s)) for p, s in levels)
