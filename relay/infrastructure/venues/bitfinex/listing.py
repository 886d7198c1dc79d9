"""Bitfinex's instrument listing: the public ``conf`` lists of pairs, canonical symbols.

Source: https://docs.bitfinex.com/reference/rest-public-conf
(``GET /v2/conf/pub:list:pair:exchange`` -> ``[["BTCUSD","ETHUSD","TESTBTC:TESTUSD",...]]``,
``GET /v2/conf/pub:list:pair:futures`` -> ``[["BTCF0:USTF0",...]]``); the symbol
rules of https://docs.bitfinex.com/docs/ws-general ("Trading pairs are prepended by
a 't'") and of cryptofeed's ``bitfinex.py`` (a pair without ``:`` is two
three-letter codes; ``UST`` is Tether, written ``USDT``; futures drop their ``F0``).

Listed instruments are the WebSocket symbols (``tBTCUSD``); canonical symbols are
``BTC/USD`` for exchange pairs and ``BTC/USDT:PERP`` for perpetual futures.
"""

from __future__ import annotations

import orjson

from relay.infrastructure.venues.registry import (
    InstrumentListing,
    ListedInstrument,
    ListingRequest,
)

REST_URL = "https://api-pub.bitfinex.com"

EXCHANGE_PAIRS = ListingRequest("/v2/conf/pub:list:pair:exchange")
FUTURES_PAIRS = ListingRequest("/v2/conf/pub:list:pair:futures")

_CODES = {"UST": "USDT"}


def _code(code: str) -> str:
    return _CODES.get(code, code)


def canonical_symbol(pair: str, perpetual: bool) -> str:
    """``"BTCUSD"`` -> ``"BTC/USD"``; ``"TESTBTC:TESTUSD"`` -> ``"TESTBTC/TESTUSD"``;
    ``("BTCF0:USTF0", perpetual)`` -> ``"BTC/USDT:PERP"``."""
    base, sep, quote = pair.partition(":")
    if not sep:
        base, quote = pair[:3], pair[3:]
    if perpetual:
        base, quote = base.removesuffix("F0"), quote.removesuffix("F0")
        return f"{_code(base)}/{_code(quote)}:PERP"
    return f"{_code(base)}/{_code(quote)}"


def parse_pairs(request: ListingRequest, body: bytes) -> list[ListedInstrument]:
    """Parse a ``pub:list:pair:*`` answer (see the module docstring).

    Raises:
        ValueError: not JSON, or not a list holding one list of pair names.
    """
    try:
        outer = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"not JSON: {exc}") from None
    if not (isinstance(outer, list) and outer and isinstance(outer[0], list)):
        raise ValueError("not a pair list: expected [[pair, ...]]")
    perpetual = request == FUTURES_PAIRS
    listed = []
    for pair in outer[0]:
        if not isinstance(pair, str) or not pair:
            raise ValueError(f"pair {pair!r} is not a name")
        listed.append(
            ListedInstrument(
                f"t{pair}", canonical_symbol(pair, perpetual), "perpetual" if perpetual else "spot"
            )
        )
    return listed


LISTING = InstrumentListing(requests=(EXCHANGE_PAIRS, FUTURES_PAIRS), parse=parse_pairs)
"""How ``relay instruments bitfinex`` lists pairs: exchange pairs, then perpetual futures."""
