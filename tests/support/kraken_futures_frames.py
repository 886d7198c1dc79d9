"""Kraken Futures test helpers shared by the venue's test files: a protocol builder and
the recorded session's frames (``kraken-futures.jsonl``)."""

from __future__ import annotations

import json
from typing import Any

from relay.config.model import SubscriptionConfig, VenueConfig
from relay.domain.model import DataType, Instrument
from relay.infrastructure.venues.kraken_futures.protocol import KrakenFuturesProtocol
from relay.infrastructure.venues.registry import venue_spec
from support.kraken_futures_reference import products
from support.reference_books import records

TRADE_BOOK = (DataType.TRADE, DataType.L2_ORDERBOOK)
ETH = "PI_ETHUSD"
BCH = "FI_BCHUSD_210730"


def canonical(name: str) -> str:
    """The canonical symbol the tests give a product: ``PI_ETHUSD`` -> ``PI-ETHUSD``."""
    return name.replace("_", "-")


def protocol(
    names: list[str] | None = None, data_types: tuple[DataType, ...] = TRADE_BOOK, **sub: Any
) -> KrakenFuturesProtocol:
    subs = tuple(
        SubscriptionConfig(n, canonical(n), data_types, **sub)
        for n in (names if names is not None else products())
    )
    config = VenueConfig(id="kraken-futures", subscriptions=subs)
    proto = venue_spec("kraken-futures").protocol_factory(config)
    assert isinstance(proto, KrakenFuturesProtocol)
    return proto


def recv() -> list[tuple[str, int]]:
    """Every recorded venue frame with its receive time in ms."""
    return [
        (r["data"], int(r["t"] * 1000))
        for r in records("kraken-futures.jsonl")
        if r["kind"] == "recv"
    ]


def of(feed: str, product: str) -> list[tuple[str, int]]:
    """The recorded frames of one feed and product, in order."""
    return [
        (f, t)
        for f, t in recv()
        if (m := json.loads(f)).get("feed") == feed and m.get("product_id") == product
    ]


def instrument(name: str) -> Instrument:
    return Instrument("kraken-futures", name, canonical(name))
