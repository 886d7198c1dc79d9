"""Kraken v2 documented book frames and a protocol builder, shared by the Kraken tests and
the cross-venue tests (resync, message ids).

No recorded Kraken v2 session exists in shared/captures, so every frame here is
a documented example (each test names its page) or one derived from one by a
stated change.
"""

from __future__ import annotations

from decimal import Decimal

from relay.config.model import SubscriptionConfig, VenueConfig
from relay.domain.model import DataType, Instrument
from relay.infrastructure.venues.kraken.book import book_checksum
from relay.infrastructure.venues.kraken.protocol import KrakenProtocol
from relay.infrastructure.venues.registry import venue_spec

D = Decimal
ALL = (DataType.TRADE, DataType.TICKER, DataType.L2_ORDERBOOK, DataType.CANDLE)

GUIDE = "https://docs.kraken.com/api/docs/guides/spot-ws-book-v2"
BOOK_PAGE = "https://docs.kraken.com/api/docs/websocket-v2/book"

GUIDE_BIDS = [
    ("45283.5", "0.10000000"),
    ("45283.4", "1.54582015"),
    ("45282.1", "0.10000000"),
    ("45281.0", "0.10000000"),
    ("45280.3", "1.54592586"),
    ("45279.0", "0.07990000"),
    ("45277.6", "0.03310103"),
    ("45277.5", "0.30000000"),
    ("45277.3", "1.54602737"),
    ("45276.6", "0.15445238"),
]
GUIDE_ASKS = [
    ("45285.2", "0.00100000"),
    ("45286.4", "1.54571953"),
    ("45286.6", "1.54571109"),
    ("45289.6", "1.54560911"),
    ("45290.2", "0.15890660"),
    ("45291.8", "1.54553491"),
    ("45294.7", "0.04454749"),
    ("45296.1", "0.35380000"),
    ("45297.5", "0.09945542"),
    ("45299.5", "0.18772827"),
]
"""The BTC/USD book of the checksum guide's worked example (checksum 3310070434)."""

MATIC_BIDS = [
    ("0.5666", "4831.75496356"),
    ("0.5665", "6658.22734739"),
    ("0.5664", "18724.91513344"),
    ("0.5663", "11563.92544914"),
    ("0.5662", "14006.65365711"),
    ("0.5661", "17454.85679807"),
    ("0.566", "18097.1547"),
    ("0.5659", "33644.89175666"),
    ("0.5658", "148.3464"),
    ("0.5657", "606.70854372"),
]
MATIC_ASKS = [
    ("0.5668", "4410.79769741"),
    ("0.5669", "4655.40412487"),
    ("0.567", "49844.89424998"),
    ("0.5671", "24306.41678"),
    ("0.5672", "29783.25223475"),
    ("0.5673", "57234.71239278"),
    ("0.5674", "45065.04744"),
    ("0.5675", "5912.76380354"),
    ("0.5676", "42514.92434778"),
    ("0.5677", "36304.0847022"),
]
"""The MATIC/USD snapshot of the book channel page (checksum 2439117997)."""

MATIC_UPDATE = """{"channel": "book", "type": "update", "data": [{"symbol": "MATIC/USD",
  "bids": [{"price": 0.5657, "qty": 1098.3947558}], "asks": [], "checksum": 2114181697,
  "timestamp": "2023-10-06T17:35:55.440295Z"}]}"""
"""The book channel page's update example, verbatim."""

BTC = Instrument("kraken", "BTC/USD", "BTC/USD")
MATIC = Instrument("kraken", "MATIC/USD", "MATIC/USD")


def levels_json(levels: list[tuple[str, str]]) -> str:
    return ",".join(f'{{"price": {p}, "qty": {q}}}' for p, q in levels)


def book_frame(
    kind: str,
    symbol: str,
    bids: list[tuple[str, str]],
    asks: list[tuple[str, str]],
    checksum: int,
    timestamp: str = "2023-10-06T17:35:55.440295Z",
) -> str:
    """A v2 book message in the documented shape, numbers written as the venue writes them."""
    return (
        f'{{"channel": "book", "type": "{kind}", "data": [{{"symbol": "{symbol}", '
        f'"bids": [{levels_json(bids)}], "asks": [{levels_json(asks)}], '
        f'"checksum": {checksum}, "timestamp": "{timestamp}"}}]}}'
    )


def guide_snapshot(checksum: int = 3310070434) -> str:
    return book_frame("snapshot", "BTC/USD", GUIDE_BIDS, GUIDE_ASKS, checksum)


def matic_snapshot() -> str:
    return book_frame("snapshot", "MATIC/USD", MATIC_BIDS, MATIC_ASKS, 2439117997)


def protocol(
    symbols: dict[str, str] | None = None,
    data_types: tuple[DataType, ...] = ALL,
    depth: int = 0,
    interval: str = "5m",
) -> KrakenProtocol:
    symbols = symbols or {"BTC/USD": "BTC/USD", "MATIC/USD": "MATIC/USD", "ALGO/USD": "ALGO/USD"}
    subs = tuple(SubscriptionConfig(i, c, data_types, depth, interval) for i, c in symbols.items())
    built = venue_spec("kraken").protocol_factory(VenueConfig(id="kraken", subscriptions=subs))
    assert isinstance(built, KrakenProtocol)
    return built


def decimals(levels: list[tuple[str, str]]) -> tuple[tuple[Decimal, Decimal], ...]:
    return tuple((D(p), D(q)) for p, q in levels)


def checksum_of(
    bids: list[tuple[str, str]],
    asks: list[tuple[str, str]],
    price_decimals: int = 1,
    qty_decimals: int = 8,
) -> int:
    ordered_bids = sorted(decimals(bids), key=lambda level: level[0], reverse=True)
    ordered_asks = sorted(decimals(asks), key=lambda level: level[0])
    return book_checksum(ordered_asks, ordered_bids, price_decimals, qty_decimals)
