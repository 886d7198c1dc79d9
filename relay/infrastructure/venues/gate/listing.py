"""Gate.io's instrument listing for ``relay instruments``: currency pairs and USDT contracts."""

from __future__ import annotations

import orjson

from relay.domain.errors import InvalidValueError
from relay.infrastructure.venues.common import wire
from relay.infrastructure.venues.registry import ListedInstrument, ListingRequest

SPOT_LISTING = ListingRequest("/api/v4/spot/currency_pairs")
FUTURES_LISTING = ListingRequest("/api/v4/futures/usdt/contracts")


def listing(request: ListingRequest, body: bytes) -> list[ListedInstrument]:
    """Tradable spot pairs, or USDT perpetual contracts not being delisted.

    Shapes (the documented examples of https://www.gate.io/docs/developers/apiv4/en/,
    "List all currency pairs supported" and "List all futures contracts", trimmed)::

        [{"id":"ETH_USDT","base":"ETH","quote":"USDT","fee":"0.2","trade_status":"tradable"}]
        [{"name":"BTC_USDT","type":"direct","quanto_multiplier":"0.0001","in_delisting":false}]

    Canonical symbols: ``ETH/USDT`` (spot), ``BTC/USDT:PERP`` (futures).

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
            if request == FUTURES_LISTING:
                if entry.get("in_delisting") is True:
                    continue
                name = wire.text("name", entry["name"])
                base, _, quote = name.partition("_")
                listed.append(ListedInstrument(name, f"{base}/{quote}:PERP", "perpetual"))
            else:
                if entry.get("trade_status") != "tradable":
                    continue
                pair = wire.text("id", entry["id"])
                canonical = (
                    f"{wire.text('base', entry['base'])}/{wire.text('quote', entry['quote'])}"
                )
                listed.append(ListedInstrument(pair, canonical, "spot"))
        except (AttributeError, KeyError, InvalidValueError) as exc:
            raise ValueError(f"bad instrument entry: {exc}") from None
    return listed
