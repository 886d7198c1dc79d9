"""OKX's instrument listing for ``relay instruments`` and its canonical symbols.

``GET /api/v5/public/instruments`` (https://www.okx.com/docs-v5/en/#public-data-rest-api-get-instruments).
"""

from __future__ import annotations

import orjson

from relay.infrastructure.venues.common.wire import DETAIL_CHARS
from relay.infrastructure.venues.registry import ListedInstrument, ListingRequest


def canonical_symbol(inst_id: str) -> str:
    """The relay-wide name of an OKX instId.

    ``BTC-USDT`` -> ``BTC/USDT``; ``UNI-USD-SWAP`` -> ``UNI/USD:PERP``;
    ``BTC-USD-220527`` -> ``BTC/USD:220527``; options
    ``BTC-USD-221230-4000-C`` -> ``BTC/USD:221230-4000-C``.

    Raises:
        ValueError: not ``BASE-QUOTE[-...]``.
    """
    parts = inst_id.split("-")
    if len(parts) < 2 or not all(parts):
        raise ValueError(f"not an OKX instrument id: {inst_id!r}")
    pair = f"{parts[0]}/{parts[1]}"
    if len(parts) == 2:
        return pair
    if parts[2:] == ["SWAP"]:
        return f"{pair}:PERP"
    return f"{pair}:{'-'.join(parts[2:])}"


_KINDS = {"SPOT": "spot", "SWAP": "perpetual", "FUTURES": "future"}

LISTING_REQUESTS = tuple(
    ListingRequest(f"/api/v5/public/instruments?instType={inst_type}")
    for inst_type in ("SPOT", "SWAP", "FUTURES")
)
"""Spot, perpetual and expiry futures listings (options need an instFamily each: not listed)."""


def parse_listing(request: ListingRequest, body: bytes) -> list[ListedInstrument]:
    """Parse ``GET /api/v5/public/instruments`` (``{"code":"0","data":[{"instId",...}]}``).

    Raises:
        ValueError: not JSON, a non-zero ``code``, or entries without a usable ``instId``.
    """
    answer = orjson.loads(body)
    if not isinstance(answer, dict) or answer.get("code") != "0":
        raise ValueError(f"OKX instruments answer: {str(answer)[:DETAIL_CHARS]}")
    data = answer.get("data")
    if not isinstance(data, list):
        raise ValueError("OKX instruments answer without a data list")
    listed = []
    for entry in data:
        if not isinstance(entry, dict) or not isinstance(entry.get("instId"), str):
            raise ValueError(f"OKX instrument without instId: {str(entry)[:DETAIL_CHARS]}")
        inst_id = entry["instId"]
        kind = _KINDS.get(str(entry.get("instType")), "option")
        listed.append(ListedInstrument(inst_id, canonical_symbol(inst_id), kind))
    return listed
