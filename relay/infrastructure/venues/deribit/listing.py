"""Deribit's instrument listing: ``public/get_instruments`` per currency, with canonical symbols.

Source: https://docs.deribit.com/api-reference/market-data/public-get_instruments
(1 request/second; response example).

Canonical symbols: perpetuals ``<base>/<quote>:PERP`` (``BTC-PERPETUAL`` ->
``BTC/USD:PERP``), spot ``<base>/<quote>``, futures and options the instrument name
with ``/`` after the currency (``BTC-24SEP21-8000-P`` -> ``BTC/24SEP21-8000-P``).
"""

from __future__ import annotations

import orjson

from relay.domain.errors import InvalidValueError
from relay.infrastructure.venues.common import wire
from relay.infrastructure.venues.deribit.parse import text
from relay.infrastructure.venues.registry import (
    InstrumentListing,
    ListedInstrument,
    ListingRequest,
)

REST_URL = "https://www.deribit.com"

LISTING_CURRENCIES = ("BTC", "ETH", "USDC", "USDT")
"""Currencies whose instruments ``relay instruments`` lists (one request each)."""


def canonical_symbol(instrument_name: str, kind: str, base: str, quote: str) -> str:
    """The suggested relay symbol of a Deribit instrument.

    ``("BTC-PERPETUAL", "perpetual", "BTC", "USD")`` -> ``"BTC/USD:PERP"``;
    ``("BTC_USDC", "spot", "BTC", "USDC")`` -> ``"BTC/USDC"``;
    ``("BTC-24SEP21-8000-P", "option", ...)`` -> ``"BTC/24SEP21-8000-P"`` (futures alike).
    """
    if kind == "perpetual":
        return f"{base}/{quote}:PERP"
    if kind == "spot":
        return f"{base}/{quote}"
    return instrument_name.replace("-", "/", 1)


def parse_instruments(request: ListingRequest, body: bytes) -> list[ListedInstrument]:
    """Parse a ``public/get_instruments`` answer; combos are left out.

    Shape (https://docs.deribit.com/api-reference/market-data/public-get_instruments, trimmed)::

        {"jsonrpc":"2.0","id":1,"result":[{"settlement_period":"perpetual","quote_currency":"USD",
          "kind":"future","instrument_name":"BTC-PERPETUAL","base_currency":"BTC",...}]}

    Raises:
        ValueError: not JSON, or a missing or malformed field (InvalidValueError is one).
    """
    try:
        result = orjson.loads(body)["result"]
    except (KeyError, TypeError) as exc:
        raise ValueError(f"not a get_instruments answer: {exc}") from None
    if not isinstance(result, list):
        raise InvalidValueError("result", result, "expected a list")
    listed: list[ListedInstrument] = []
    for raw in result:
        entry = wire.json_object("instrument", raw)
        try:
            name = text("instrument_name", entry["instrument_name"])
            kind = text("kind", entry["kind"])
            base = text("base_currency", entry["base_currency"])
            quote = text("quote_currency", entry["quote_currency"])
        except KeyError as exc:
            raise ValueError(f"instrument without {exc.args[0]!r}") from None
        if kind.endswith("_combo"):
            continue
        if kind == "future" and entry.get("settlement_period") == "perpetual":
            kind = "perpetual"
        listed.append(ListedInstrument(name, canonical_symbol(name, kind, base, quote), kind))
    return listed


LISTING = InstrumentListing(
    requests=tuple(
        ListingRequest(f"/api/v2/public/get_instruments?currency={currency}")
        for currency in LISTING_CURRENCIES
    ),
    parse=parse_instruments,
)
"""How ``relay instruments`` lists Deribit's instruments: one request per currency."""
