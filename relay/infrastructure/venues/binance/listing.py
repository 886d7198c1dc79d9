"""Binance's instrument listing for ``relay instruments``: the ``exchangeInfo`` answers."""

from __future__ import annotations

import orjson

from relay.domain.errors import InvalidValueError
from relay.infrastructure.venues.common import wire
from relay.infrastructure.venues.registry import ListedInstrument, ListingRequest


def exchange_info(request: ListingRequest, body: bytes) -> list[ListedInstrument]:
    """Instruments of an ``exchangeInfo`` answer that are trading now.

    Shapes (``GET /api/v3/exchangeInfo``, ``/fapi/v1/exchangeInfo``,
    ``/dapi/v1/exchangeInfo``; https://developers.binance.com/docs/binance-spot-api-docs/rest-api/general-endpoints
    and the futures "Exchange Information" pages)::

        {"symbols":[{"symbol":"BNBBTC","status":"TRADING","baseAsset":"BNB","quoteAsset":"BTC",...}]}
        {"symbols":[{"symbol":"BTCUSDT","pair":"BTCUSDT","contractType":"PERPETUAL",
                     "status":"TRADING","baseAsset":"BTC","quoteAsset":"USDT",...}]}

    COIN-M says ``contractStatus`` instead of ``status``. Canonical symbols:
    ``BNB/BTC`` (spot), ``BTC/USDT:PERP`` (perpetual), ``BTC/USD:230331``
    (delivery, the date from the symbol's ``_`` suffix).

    Raises:
        ValueError: not JSON, or no ``symbols`` list of objects with those fields.
    """
    try:
        symbols = orjson.loads(body)["symbols"]
    except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
        raise ValueError(f"no symbols list: {exc}") from None
    listed: list[ListedInstrument] = []
    for entry in symbols:
        try:
            status = entry.get("status") or entry.get("contractStatus")
            if status != "TRADING":
                continue
            symbol = wire.text("symbol", entry["symbol"])
            base = wire.text("baseAsset", entry["baseAsset"])
            pair = f"{base}/{wire.text('quoteAsset', entry['quoteAsset'])}"
        except (AttributeError, KeyError, InvalidValueError) as exc:
            raise ValueError(f"bad symbol entry: {exc}") from None
        contract = entry.get("contractType")
        if contract is None:
            listed.append(ListedInstrument(symbol, pair, "spot"))
        elif contract == "PERPETUAL":
            listed.append(ListedInstrument(symbol, f"{pair}:PERP", "perpetual"))
        else:
            delivery = symbol.rpartition("_")[2]
            listed.append(ListedInstrument(symbol, f"{pair}:{delivery}", "future"))
    return listed
