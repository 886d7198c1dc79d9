"""Kraken Futures' instrument listing: ``GET /derivatives/api/v3/instruments``, canonical symbols.

Source: https://docs.kraken.com/api-reference/instrument-details/get-instruments
(response example: ``{"instruments":[{"symbol":"PF_XBTUSD","pair":"XBT:USD",
"base":"XBT","quote":"USD","type":"futures_inverse","tradeable":true,...},
{"symbol":"FI_XBTUSD_220930",...,"lastTradingTime":"2022-09-30T15:00:00.000Z",...}]}``);
product prefixes as in cryptofeed's ``kraken_futures.py`` (``PI``/``PF``/``PV``
perpetuals, ``FI``/``FF``/``FV`` dated futures, ``IN``/``RR`` indices).

The WebSocket names products by the upper-case symbol (cryptofeed: "websocket
product_id is uppercase version of the REST API symbols"), so that is the
instrument listed. Canonical symbols: perpetuals ``<base>/<quote>:PERP``
(``PI_XBTUSD`` -> ``BTC/USD:PERP``), futures ``<base>/<quote>:<yymmdd>``
(``FI_XBTUSD_220930`` -> ``BTC/USD:220930``); ``XBT`` is written ``BTC``.
Indices and products not ``tradeable`` are left out.
"""

from __future__ import annotations

import orjson

from relay.domain.errors import InvalidValueError
from relay.infrastructure.venues.common import wire
from relay.infrastructure.venues.registry import (
    InstrumentListing,
    ListedInstrument,
    ListingRequest,
)

REST_URL = "https://futures.kraken.com"

_KINDS = {"PI": "perpetual", "PF": "perpetual", "PV": "perpetual"} | {
    "FI": "future",
    "FF": "future",
    "FV": "future",
}


def canonical_symbol(product_id: str, base: str, quote: str) -> str | None:
    """The suggested relay symbol of a product, or None for an index or unknown prefix.

    ``("PI_XBTUSD", "XBT", "USD")`` -> ``"BTC/USD:PERP"``;
    ``("FI_XBTUSD_220930", "XBT", "USD")`` -> ``"BTC/USD:220930"``.
    """
    prefix, _, rest = product_id.upper().partition("_")
    kind = _KINDS.get(prefix)
    if kind is None:
        return None
    base = "BTC" if base.upper() == "XBT" else base.upper()
    quote = quote.upper()
    if kind == "perpetual":
        return f"{base}/{quote}:PERP"
    _, _, expiry = rest.partition("_")
    return f"{base}/{quote}:{expiry}"


def parse_instruments(request: ListingRequest, body: bytes) -> list[ListedInstrument]:
    """Parse a ``GET /derivatives/api/v3/instruments`` answer (see the module docstring).

    ``base`` / ``quote`` are read where sent; otherwise from the symbol
    (``pi_xbtusd``: the last three letters are the quote).

    Raises:
        ValueError: not JSON, or a missing or malformed field (its message names it).
    """
    try:
        return _parse(body)
    except InvalidValueError as exc:
        raise ValueError(str(exc)) from None


def _parse(body: bytes) -> list[ListedInstrument]:
    try:
        instruments = orjson.loads(body)["instruments"]
    except (KeyError, TypeError) as exc:
        raise ValueError(f"not an instruments answer: {exc}") from None
    listed: list[ListedInstrument] = []
    for raw in wire.json_list("instruments", instruments):
        entry = wire.json_object("instrument", raw)
        try:
            symbol = wire.text("symbol", entry["symbol"]).upper()
            tradeable = entry["tradeable"]
        except KeyError as exc:
            raise ValueError(f"instrument without {exc.args[0]!r}") from None
        if tradeable is not True:
            continue
        pair = symbol.partition("_")[2].partition("_")[0]
        base = entry.get("base", pair[:-3])
        quote = entry.get("quote", pair[-3:])
        if not (isinstance(base, str) and isinstance(quote, str) and base and quote):
            raise InvalidValueError("base/quote", (base, quote), "expected two currency codes")
        canonical = canonical_symbol(symbol, base, quote)
        if canonical is None:
            continue
        kind = _KINDS[symbol.partition("_")[0]]
        listed.append(ListedInstrument(symbol, canonical, kind))
    return listed


LISTING = InstrumentListing(
    requests=(ListingRequest("/derivatives/api/v3/instruments"),),
    parse=parse_instruments,
)
"""How ``relay instruments`` lists Kraken Futures' products: one request."""
