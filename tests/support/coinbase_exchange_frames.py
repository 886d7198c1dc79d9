"""Coinbase Exchange test helpers shared by the venue's test files: a protocol builder and
the recorded session's frames (``coinbase-exchange.jsonl``), by index or predicate, replayed."""

from __future__ import annotations

import json
from typing import Any

from relay.application.errors import FrameError
from relay.application.ports import FrameOutcome, VenueProtocol
from relay.config.model import SubscriptionConfig, VenueConfig
from relay.domain.model import DataType, Instrument, MarketEvent
from relay.infrastructure.venues.registry import venue_spec
from support.coinbase_exchange_reference import (
    PRODUCTS,
    raw_frames,
)

VENUE = "coinbase-exchange"
ALL = (DataType.TRADE, DataType.TICKER, DataType.L2_ORDERBOOK)
BAND_GBP = Instrument(VENUE, "BAND-GBP", "BAND/GBP")
SKL_BTC = Instrument(VENUE, "SKL-BTC", "SKL/BTC")


def protocol(
    products: dict[str, str] = PRODUCTS, data_types: tuple[DataType, ...] = ALL, depth: int = 0
) -> VenueProtocol:
    subs = tuple(SubscriptionConfig(i, c, data_types, depth=depth) for i, c in products.items())
    return venue_spec(VENUE).protocol_factory(VenueConfig(id=VENUE, subscriptions=subs))


def frame_at(index: int) -> tuple[str, int]:
    """The recorded venue frame with this index (0 = the first ``recv``), with its time in ms."""
    return raw_frames()[index]


def first_frame(predicate: Any) -> tuple[int, str, int]:
    for index, (frame, at_ms) in enumerate(raw_frames()):
        if predicate(json.loads(frame)):
            return index, frame, at_ms
    raise AssertionError("no such frame")


def replay(
    proto: VenueProtocol, frames: list[tuple[str, int]] | None = None
) -> tuple[list[MarketEvent], list[FrameOutcome], dict[str, int]]:
    """Feed frames (default: the whole recording); returns events, outcomes and rejections."""
    events: list[MarketEvent] = []
    outcomes: list[FrameOutcome] = []
    rejected: dict[str, int] = {}
    for frame, at_ms in raw_frames() if frames is None else frames:
        try:
            outcome = proto.on_frame(frame, at_ms)
        except FrameError as exc:
            rejected[exc.reason] = rejected.get(exc.reason, 0) + 1
            continue
        outcomes.append(outcome)
        events.extend(outcome.events)
    return events, outcomes, rejected
