"""Bitstamp's instrument listing for ``relay instruments``: ``/api/v2/trading-pairs-info/``."""

from __future__ import annotations

import orjson

from relay.domain.errors import InvalidValueError
from relay.infrastructure.venues.common import wire
from relay.infrastructure.venues.registry import ListedInstrument, ListingRequest

LISTING = ListingRequest("/api/v2/trading-pairs-info/")


def trading_pairs(request: ListingRequest, body: bytes) -> list[ListedInstrument]:
    """Pairs whose ``trading`` is ``Enabled``, by their ``url_symbol``.

    Shape (https://www.bitstamp.net/api/, "Trading pairs info"; the fields cryptofeed's
    adapter reads, cryptofeed/exchanges/bitstamp.py; trimmed)::

        [{"name":"BTC/USD","url_symbol":"btcusd","base_decimals":8,"counter_decimals":0,
          "minimum_order":"10 USD","trading":"Enabled","description":"Bitcoin / U.S. dollar"}]

    Canonical symbols are the ``name`` (``BTC/USD``).

    Raises:
        ValueError: not JSON, not a list of objects with those fields.
    """
    try:
        entries = wire.json_list("listing", orjson.loads(body))
    except (orjson.JSONDecodeError, InvalidValueError) as exc:
        raise ValueError(f"no instrument list: {exc}") from None
    listed: list[ListedInstrument] = []
    for entry in entries:
        try:
            if entry.get("trading") != "Enabled":
                continue
            listed.append(
                ListedInstrument(
                    wire.text("url_symbol", entry["url_symbol"]),
                    wire.text("name", entry["name"]),
                    "spot",
                )
            )
        except (AttributeError, KeyError, InvalidValueError) as exc:
            raise ValueError(f"bad instrument entry: {exc}") from None
    return listed
