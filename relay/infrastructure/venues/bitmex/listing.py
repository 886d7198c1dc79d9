"""BitMEX's instrument listing for ``relay instruments`` and its canonical symbols.

``GET /api/v1/instrument/active`` (https://www.bitmex.com/api/explorer/#!/Instrument/Instrument_getActive):
a JSON list of instrument objects; the fields read are ``symbol``, ``rootSymbol``,
``quoteCurrency``, ``typ`` and ``expiry``, as in the instrument example of
cryptofeed's ``cryptofeed/exchanges/bitmex.py`` (which reads the same endpoint
and maps ``typ`` ``FFWCSX`` -> perpetual, ``FFCCSX`` -> future, ``IFXXXP`` -> spot).
Other types (indices, ``MRCXXX`` and the like) are left out.
"""

from __future__ import annotations

import orjson

from relay.infrastructure.venues.common.wire import DETAIL_CHARS
from relay.infrastructure.venues.registry import (
    InstrumentListing,
    ListedInstrument,
    ListingRequest,
)

_KINDS = {"FFWCSX": "perpetual", "FFCCSX": "future", "IFXXXP": "spot"}


def _currency(code: str) -> str:
    """BitMEX's ``XBT`` is bitcoin: ``BTC`` in canonical symbols."""
    return "BTC" if code == "XBT" else code


def canonical_symbol(kind: str, root: str, quote: str, expiry: str | None) -> str:
    """The relay-wide name of a BitMEX instrument.

    ``perpetual``, ``XBT``, ``USD`` -> ``BTC/USD:PERP``; ``spot`` -> ``BASE/QUOTE``;
    ``future`` expiring ``2021-09-24T12:00:00.000Z`` -> ``BASE/QUOTE:210924``.
    """
    pair = f"{_currency(root)}/{_currency(quote)}"
    if kind == "perpetual":
        return f"{pair}:PERP"
    if kind == "future" and expiry:
        return f"{pair}:{expiry[2:4]}{expiry[5:7]}{expiry[8:10]}"
    return pair


def parse_listing(request: ListingRequest, body: bytes) -> list[ListedInstrument]:
    """Parse ``GET /api/v1/instrument/active`` (``[{"symbol":"XBTUSD","typ":"FFWCSX",...}]``).

    Raises:
        ValueError: not JSON, not a list, or an entry without the fields read.
    """
    answer = orjson.loads(body)
    if not isinstance(answer, list):
        raise ValueError(f"BitMEX instruments answer: {str(answer)[:DETAIL_CHARS]}")
    listed = []
    for entry in answer:
        fields = ("symbol", "rootSymbol", "quoteCurrency", "typ")
        if not isinstance(entry, dict) or not all(isinstance(entry.get(f), str) for f in fields):
            raise ValueError(f"BitMEX instrument without {fields}: {str(entry)[:DETAIL_CHARS]}")
        kind = _KINDS.get(entry["typ"])
        if kind is None:
            continue
        expiry = entry.get("expiry")
        listed.append(
            ListedInstrument(
                entry["symbol"],
                canonical_symbol(
                    kind,
                    entry["rootSymbol"],
                    entry["quoteCurrency"],
                    expiry if isinstance(expiry, str) else None,
                ),
                kind,
            )
        )
    return listed


LISTING = InstrumentListing((ListingRequest("/api/v1/instrument/active"),), parse_listing)
"""``relay instruments bitmex``: one request, every active instrument."""
