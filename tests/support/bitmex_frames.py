"""BitMEX test helpers shared by the venue's test files: a protocol builder and the
recorded session's frames (``bitmex.jsonl``)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from relay.config.model import SubscriptionConfig, VenueConfig
from relay.domain.model import DataType, Instrument
from relay.infrastructure.venues.bitmex.protocol import BitmexProtocol
from relay.infrastructure.venues.registry import venue_spec
from support.bitmex_reference import CAPTURE
from support.reference_books import records

SYMBOLS = (
    "XRPU21",
    "UNIUSDT",
    "XBTUSD",
    "ADAUSDT",
    "SOLUSDT",
    "TRXU21",
    "EOSUSDT",
    "TRXUSDT",
    "BCHUSD",
    "MATICUSDT",
)
"""The symbols of ``bitmex.jsonl``, in its subscription order."""

ALL = (DataType.TRADE, DataType.TICKER, DataType.L2_ORDERBOOK)


def canonical(name: str) -> str:
    return f"{name}/BITMEX"


def instrument(name: str) -> Instrument:
    return Instrument("bitmex", name, canonical(name))


def protocol(
    names: tuple[str, ...] = SYMBOLS, data_types: tuple[DataType, ...] = ALL, **sub: Any
) -> BitmexProtocol:
    subs = tuple(SubscriptionConfig(n, canonical(n), data_types, **sub) for n in names)
    proto = venue_spec("bitmex").protocol_factory(VenueConfig(id="bitmex", subscriptions=subs))
    assert isinstance(proto, BitmexProtocol)
    return proto


def recv() -> list[tuple[str, int]]:
    """Every recorded venue frame with its receive time in ms."""
    return [(r["data"], int(r["t"] * 1000)) for r in records(CAPTURE) if r["kind"] == "recv"]


def first(predicate: Callable[[dict[str, Any]], bool]) -> tuple[str, int]:
    """The first recorded frame whose decoded object satisfies ``predicate``."""
    return next((f, t) for f, t in recv() if predicate(json.loads(f)))


def table(name: str, action: str, symbol: str | None = None) -> Callable[[dict[str, Any]], bool]:
    """A predicate: a ``name`` table frame of ``action`` (of ``symbol``'s rows)."""

    def matches(message: dict[str, Any]) -> bool:
        return (
            message.get("table") == name
            and message.get("action") == action
            and (symbol is None or message["data"][0]["symbol"] == symbol)
        )

    return matches


INSTRUMENT_PARTIAL = (
    '{"table":"instrument","action":"partial","keys":["symbol"],'
    '"filter":{"symbol":"XBTUSD"},"data":[{"symbol":"XBTUSD","rootSymbol":"XBT",'
    '"state":"Open","typ":"FFWCSX","fundingTimestamp":"2020-02-02T04:00:00.000Z",'
    '"fundingInterval":"2000-01-01T08:00:00.000Z","fundingRate":0.000106,'
    '"indicativeFundingRate":0.0001,"lastPrice":9352,"bidPrice":9352,"askPrice":9352.5,'
    '"openInterest":983043322,"openValue":10518563545400,"markMethod":"FairPrice",'
    '"markPrice":9345.36,"timestamp":"2020-02-02T00:30:43.772Z"}]}'
)
"""The ``instrument`` partial example of cryptofeed's ``bitmex.py`` (fields trimmed)."""

LIQUIDATION_INSERT = (
    '{"table":"liquidation","action":"insert","data":[{"orderID":'
    '"9513c849-ca0d-4e11-8190-9d221972288c","symbol":"XBTUSD","side":"Buy",'
    '"price":6833.5,"leavesQty":2020}]}'
)
"""The liquidation row example of cryptofeed's ``bitmex.py`` in a table frame (wsAPI shape)."""
