"""Hyperliquid's instruments for ``relay instruments``: info endpoint ``meta`` and ``spotMeta``."""

from __future__ import annotations

import orjson

from relay.domain.errors import InvalidValueError
from relay.infrastructure.venues.common import wire
from relay.infrastructure.venues.registry import ListedInstrument, ListingRequest

PERP_LISTING = ListingRequest("/info", '{"type":"meta"}')
SPOT_LISTING = ListingRequest("/info", '{"type":"spotMeta"}')


def perp_canonical(coin: str) -> str:
    """``BTC`` -> ``BTC/USDC:PERP`` (perpetuals are USDC-margined)."""
    return f"{coin}/USDC:PERP"


def parse_listing(request: ListingRequest, body: bytes) -> list[ListedInstrument]:
    """Parse a ``meta`` (perpetuals) or ``spotMeta`` (spot pairs) response.

    Shapes (the info endpoint's documented examples, trimmed)::

        {"universe":[{"name":"BTC","szDecimals":5,"maxLeverage":50},
                     {"name":"LOOM","szDecimals":1,"maxLeverage":3,"isDelisted":true}],
         "marginTables":[...]}
        {"tokens":[{"name":"USDC","index":0,...},{"name":"PURR","index":1,...}],
         "universe":[{"name":"PURR/USDC","tokens":[1,0],"index":0,"isCanonical":true}]}

    Delisted perpetuals are left out. A spot pair's canonical symbol is
    ``<base token>/<quote token>``; its venue id is the pair's ``name``
    (``PURR/USDC`` or ``@1``), which is the ``coin`` to subscribe.

    Raises:
        ValueError: not JSON, or a missing or malformed field.
    """
    try:
        document = wire.json_object("response", orjson.loads(body))
        universe = document["universe"]
        if not isinstance(universe, list):
            raise InvalidValueError("universe", universe, "expected a list")
        if request.json_body == PERP_LISTING.json_body:
            result: list[ListedInstrument] = []
            for raw in universe:
                asset = wire.json_object("asset", raw)
                if asset.get("isDelisted") is True:
                    continue
                name = wire.text("name", asset["name"])
                result.append(ListedInstrument(name, perp_canonical(name), "perpetual"))
            return result
        tokens: dict[int, str] = {}
        for raw in document["tokens"]:
            token = wire.json_object("token", raw)
            tokens[wire.integer("index", token["index"])] = wire.text("name", token["name"])
        pairs: list[ListedInstrument] = []
        for raw in universe:
            pair = wire.json_object("pair", raw)
            base, quote = pair["tokens"]
            base_token = tokens[wire.integer("base", base)]
            canonical = f"{base_token}/{tokens[wire.integer('quote', quote)]}"
            pairs.append(ListedInstrument(wire.text("name", pair["name"]), canonical, "spot"))
        return pairs
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"not JSON: {exc}") from None
    except (KeyError, TypeError, ValueError, InvalidValueError) as exc:
        raise ValueError(f"malformed listing: {exc!r}") from None
