"""Deribit test helpers shared by the venue's test files: a protocol builder, the recorded
session's frames (``deribit.jsonl``) and a documented trades frame."""

from __future__ import annotations

import json
from typing import Any

from relay.config.model import SubscriptionConfig, VenueConfig
from relay.domain.model import (
    DataType,
    Instrument,
)
from relay.infrastructure.venues.deribit.listing import canonical_symbol
from relay.infrastructure.venues.deribit.protocol import (
    DeribitProtocol,
)
from relay.infrastructure.venues.registry import venue_spec
from support.deribit_reference import instruments
from support.reference_books import records

BOOKISH = (DataType.TRADE, DataType.TICKER, DataType.L2_ORDERBOOK, DataType.OPEN_INTEREST)
PUT = "BTC-24SEP21-8000-P"
CALL = "ETH-30JUL21-2800-C"


def protocol(
    names: list[str] | None = None, data_types: tuple[DataType, ...] = BOOKISH, **sub: Any
) -> DeribitProtocol:
    subs = tuple(
        SubscriptionConfig(n, canonical_symbol(n, "option", "", ""), data_types, **sub)
        for n in (names if names is not None else instruments())
    )
    proto = venue_spec("deribit").protocol_factory(VenueConfig(id="deribit", subscriptions=subs))
    assert isinstance(proto, DeribitProtocol)
    return proto


def recv() -> list[tuple[str, int]]:
    """Every recorded venue frame with its receive time in ms."""
    return [
        (r["data"], int(r["t"] * 1000)) for r in records("deribit.jsonl") if r["kind"] == "recv"
    ]


def first(predicate: Any) -> tuple[str, int]:
    return next((f, t) for f, t in recv() if predicate(json.loads(f)))


def instrument(name: str) -> Instrument:
    return Instrument("deribit", name, canonical_symbol(name, "option", "", ""))


# -- trades, liquidations, candles ------------------------------------------------------------


def trades_frame(*extra: str) -> str:
    """Deribit's documented trade notification (quoted in cryptofeed's deribit.py docstring)."""
    fields = ",".join(
        (
            '"trade_seq":933',
            '"trade_id":"9178"',
            '"timestamp":1550736299753',
            '"tick_direction":3',
            '"price":3948.69',
            '"instrument_name":"BTC-PERPETUAL"',
            '"index_price":3930.73',
            '"direction":"sell"',
            '"amount":10',
            *extra,
        )
    )
    return (
        '{"params":{"data":[{' + fields + '}],"channel":"trades.BTC-PERPETUAL.raw"},'
        '"method":"subscription","jsonrpc":"2.0"}'
    )
