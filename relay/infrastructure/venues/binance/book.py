"""Binance's local order book procedure: the shared update-id splice of
:mod:`relay.infrastructure.venues.common.update_id_book`, named here for this package
(and its tests) as ``binance.book``.

Follows "How to manage a local order book correctly"
(https://developers.binance.com/docs/derivatives/usds-margined-futures/websocket-market-streams/How-to-manage-a-local-order-book-correctly).
"""

from __future__ import annotations

from relay.infrastructure.venues.common.update_id_book import (
    BUFFER_MARGIN_S,
    MAX_BUFFERED_DIFFS,
    STALE_WINDOW_UPDATES,
    BookSync,
    Continuity,
    DepthDiff,
)

__all__ = [
    "BUFFER_MARGIN_S",
    "MAX_BUFFERED_DIFFS",
    "STALE_WINDOW_UPDATES",
    "BookSync",
    "Continuity",
    "DepthDiff",
]
