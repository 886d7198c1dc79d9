"""Trade and order sides from a venue's words.

Every venue names the two sides with its own pair of words (Bybit ``"Buy"`` /
``"Sell"``, OKX, Deribit and Kraken ``"buy"`` / ``"sell"``, Coinbase
``"BUY"`` / ``"SELL"``, Hyperliquid ``"B"`` / ``"A"``); :func:`side` maps any
such pair, and :func:`opposite` turns a maker's side into the aggressor's (or a
liquidated position into its liquidation order).
"""

from __future__ import annotations

from typing import Any

from relay.domain.errors import InvalidValueError
from relay.domain.model import Side

_OPPOSITE = {Side.BUY: Side.SELL, Side.SELL: Side.BUY}


def side(field: str, raw: Any, buy: str, sell: str, *, quoted: bool = False) -> Side:
    """``raw`` as a :class:`Side`: the venue's word ``buy`` -> BUY, ``sell`` -> SELL.

    Args:
        field: the wire field, for the error.
        raw: the value the venue sent.
        buy, sell: the venue's two words (compared exactly, case included).
        quoted: the error names the words as Python literals (``'B' or 'A'``).

    Raises:
        InvalidValueError: ``raw`` is neither word; the detail is
            ``expected <buy> or <sell>``.
    """
    if raw == buy:
        return Side.BUY
    if raw == sell:
        return Side.SELL
    words = f"{buy!r} or {sell!r}" if quoted else f"{buy} or {sell}"
    raise InvalidValueError(field, raw, f"expected {words}")


def opposite(value: Side) -> Side:
    """The other side: BUY -> SELL, SELL -> BUY."""
    return _OPPOSITE[value]
