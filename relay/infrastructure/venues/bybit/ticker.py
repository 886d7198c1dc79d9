"""Bybit linear/inverse ``tickers.<S>``: deltas merged onto the last snapshot.

The ticker page (https://bybit-exchange.github.io/docs/v5/websocket/public/ticker):
"If a response param is not found in the message, then its value has not
changed". Each data type is published when a message carried one of its fields.
"""

from __future__ import annotations

from typing import Any

from relay.domain.model import (
    DataType,
    FundingRate,
    Instrument,
    MarketEvent,
    OpenInterest,
    Ticker,
    parse_decimal,
)
from relay.infrastructure.venues.bybit.parse import time_ms
from relay.infrastructure.venues.common import wire

_TICKER_FIELDS = frozenset({"bid1Price", "bid1Size", "ask1Price", "ask1Size"})
_FUNDING_FIELDS = frozenset({"fundingRate", "nextFundingTime", "markPrice", "indexPrice"})


class TickerState:
    """A linear/inverse ``tickers.<S>`` topic: the last snapshot with the deltas merged onto it."""

    def __init__(self, instrument: Instrument, wanted: frozenset[DataType]) -> None:
        self.instrument = instrument
        self.wanted = wanted
        self.fields: dict[str, Any] | None = None

    def on_message(
        self, is_snapshot: bool, data: dict[str, Any], ts_ms: int, received_at_ms: int
    ) -> list[MarketEvent]:
        """Merge one message; the events of the data types whose fields it carried.

        A delta before any snapshot has nothing to merge onto and gives no event.

        Raises:
            InvalidValueError: a malformed value among those published.
        """
        if is_snapshot:
            self.fields = dict(data)
        elif self.fields is None:
            return []
        else:
            self.fields.update(data)
        fields = self.fields
        events: list[MarketEvent] = []
        key = str(ts_ms)

        def present(name: str) -> bool:
            return fields.get(name) not in (None, "")

        if (
            DataType.TICKER in self.wanted
            and not _TICKER_FIELDS.isdisjoint(data)
            and all(present(name) for name in _TICKER_FIELDS)
        ):
            events.append(
                MarketEvent(
                    self.instrument,
                    DataType.TICKER,
                    received_at_ms,
                    ts_ms,
                    Ticker(
                        wire.price("bid1Price", fields["bid1Price"]),
                        wire.quantity("bid1Size", fields["bid1Size"]),
                        wire.price("ask1Price", fields["ask1Price"]),
                        wire.quantity("ask1Size", fields["ask1Size"]),
                    ),
                    key,
                )
            )
        if (
            DataType.FUNDING_RATE in self.wanted
            and not _FUNDING_FIELDS.isdisjoint(data)
            and present("fundingRate")
        ):
            events.append(
                MarketEvent(
                    self.instrument,
                    DataType.FUNDING_RATE,
                    received_at_ms,
                    ts_ms,
                    FundingRate(
                        rate=parse_decimal("fundingRate", fields["fundingRate"]),
                        mark_price=(
                            wire.price("markPrice", fields["markPrice"])
                            if present("markPrice")
                            else None
                        ),
                        index_price=(
                            wire.price("indexPrice", fields["indexPrice"])
                            if present("indexPrice")
                            else None
                        ),
                        next_funding_time_ms=(
                            (time_ms("nextFundingTime", fields["nextFundingTime"]) or None)
                            if present("nextFundingTime")
                            else None
                        ),
                    ),
                    key,
                )
            )
        if (
            DataType.OPEN_INTEREST in self.wanted
            and "openInterest" in data
            and present("openInterest")
        ):
            events.append(
                MarketEvent(
                    self.instrument,
                    DataType.OPEN_INTEREST,
                    received_at_ms,
                    ts_ms,
                    OpenInterest(wire.quantity("openInterest", fields["openInterest"])),
                    key,
                )
            )
        return events
