"""Which books a ``VenueProtocol.resync_books`` call names."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any


def books_to_resync(books: Mapping[str, Any], instruments: Collection[str] | None) -> list[str]:
    """The keys of ``books`` that ``resync_books(instruments, ...)`` must resync.

    Args:
        books: the protocol's books by venue instrument id (``"BTC-USDT"``).
        instruments: venue instrument ids, or ``None`` for every book.

    Returns:
        every key of ``books`` (in their order) when ``instruments`` is ``None``;
        else the ids of ``instruments`` that have a book here, once each, in the
        order given (an id without a book is not this connection's and is skipped).
    """
    if instruments is None:
        return list(books)
    return [name for name in dict.fromkeys(instruments) if name in books]
