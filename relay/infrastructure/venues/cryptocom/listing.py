"""Crypto.com Exchange's instrument listing: ``GET /exchange/v1/public/get-instruments``.

Source: https://exchange-docs.crypto.com/exchange/v1/rest-ws/index.html#public-get-instruments
(public market data, 100 requests per second per IP); the response shape as
quoted in ccxt's ``cryptocom`` ``fetchMarkets``::

    {"id":1,"method":"public/get-instruments","code":0,"result":{"data":[
     {"symbol":"BTC_USDT","inst_type":"CCY_PAIR","base_ccy":"BTC","quote_ccy":"USDT",
      "tradable":true,"expiry_timestamp_ms":0},
     {"symbol":"RUNEUSD-PERP","inst_type":"PERPETUAL_SWAP","base_ccy":"RUNE","quote_ccy":"USD",
      "tradable":true,"expiry_timestamp_ms":0}]}}

Canonical symbols: spot pairs ``<base>/<quote>`` (``BTC_USDT`` -> ``BTC/USDT``),
perpetuals ``<base>/<quote>:PERP`` (``BTCUSD-PERP`` -> ``BTC/USD:PERP``), futures
``<base>/<quote>:<yymmdd>`` of their expiry (UTC). Other instrument types and
instruments not ``tradable`` are left out.
"""

from __future__ import annotations

from datetime import UTC, datetime

import orjson

from relay.domain.errors import InvalidValueError
from relay.infrastructure.venues.common import wire
from relay.infrastructure.venues.registry import (
    InstrumentListing,
    ListedInstrument,
    ListingRequest,
)

REST_URL = "https://api.crypto.com"

_KINDS = {"CCY_PAIR": "spot", "PERPETUAL_SWAP": "perpetual", "FUTURE": "future"}


def canonical_symbol(kind: str, base: str, quote: str, expiry_ms: int) -> str:
    """The suggested relay symbol: ``("perpetual", "BTC", "USD", 0)`` -> ``"BTC/USD:PERP"``;
    ``("future", "BTC", "USD", 1624012801123)`` -> ``"BTC/USD:210618"``; spot ``"BTC/USDT"``.

    Raises:
        ValueError: a future's expiry past what a date can hold.
    """
    if kind == "perpetual":
        return f"{base}/{quote}:PERP"
    if kind == "future":
        try:
            expiry = datetime.fromtimestamp(expiry_ms / 1000, UTC).strftime("%y%m%d")
        except (OverflowError, OSError) as exc:
            raise ValueError(f"expiry_timestamp_ms {expiry_ms}: {exc}") from None
        return f"{base}/{quote}:{expiry}"
    return f"{base}/{quote}"


def parse_instruments(request: ListingRequest, body: bytes) -> list[ListedInstrument]:
    """Parse a ``public/get-instruments`` answer (see the module docstring).

    Raises:
        ValueError: not JSON, or a missing or malformed field (its message names it).
    """
    try:
        data = orjson.loads(body)["result"]["data"]
    except (KeyError, TypeError) as exc:
        raise ValueError(f"not a get-instruments answer: {exc}") from None
    listed: list[ListedInstrument] = []
    try:
        for raw in wire.json_list("data", data):
            entry = wire.json_object("instrument", raw)
            inst_type = entry.get("inst_type")
            kind = _KINDS.get(inst_type) if isinstance(inst_type, str) else None
            if kind is None or entry.get("tradable") is not True:
                continue
            symbol = wire.text("symbol", entry["symbol"])
            base = wire.text("base_ccy", entry["base_ccy"])
            quote = wire.text("quote_ccy", entry["quote_ccy"])
            expiry = wire.integer("expiry_timestamp_ms", entry.get("expiry_timestamp_ms", 0))
            listed.append(
                ListedInstrument(symbol, canonical_symbol(kind, base, quote, expiry), kind)
            )
    except KeyError as exc:
        raise ValueError(f"instrument without {exc.args[0]!r}") from None
    except InvalidValueError as exc:
        raise ValueError(str(exc)) from None
    return listed


LISTING = InstrumentListing(
    requests=(ListingRequest("/exchange/v1/public/get-instruments"),),
    parse=parse_instruments,
)
"""How ``relay instruments`` lists Crypto.com's instruments: one request."""
