"""Events that several venues build the same way from values their parsers read."""

from __future__ import annotations

from decimal import Decimal

from relay.domain.model import DataType, Instrument, MarketEvent, OpenInterest


def open_interest_event(
    instrument: Instrument, value: Decimal, time_ms: int, received_at_ms: int
) -> MarketEvent:
    """Open interest ``value`` (the venue's unit: contracts or base currency) at the
    venue's ``time_ms`` (epoch ms) as an event; its message id key is
    ``<time_ms>:<value>`` (docs/wire-format.md).

    Used by the venues whose open interest rides on a ticker message (Deribit,
    Kraken Futures, Crypto.com).
    """
    return MarketEvent(
        instrument,
        DataType.OPEN_INTEREST,
        received_at_ms,
        time_ms,
        OpenInterest(value),
        f"{time_ms}:{value}",
    )
