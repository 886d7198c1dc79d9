"""Bitstamp: v2 WebSocket (trades, order book diffs) + REST order book snapshots.

Sources (the formats parsed here follow these pages and the recorded session
``bitstamp.jsonl`` in ``shared/captures``):

- WebSocket API v2: https://www.bitstamp.net/websocket/v2/ (``bts:subscribe``,
  ``live_trades_[currency_pair]``, ``diff_order_book_[currency_pair]``, "Heartbeat",
  "Forced reconnection" with ``bts:request_reconnect``)
- HTTP API: https://www.bitstamp.net/api/ ("Order book":
  ``GET /api/v2/order_book/{currency_pair}/``; "Trading pairs info"; request limits:
  400 requests a second, 10,000 per 10 minutes)
- cryptofeed's adapter for the quirks: cryptofeed/exchanges/bitstamp.py
  (github.com/bmoscon/cryptofeed)

No ticker: the WebSocket v2 channels are live trades, live orders, order book (top
100 snapshots), detail order book, full order book diffs (and private channels);
none carries a best bid/ask quote as its own message.

Book procedure (:class:`~.book.BookSync`): buffer ``diff_order_book`` diffs, fetch the
REST book, drop the diffs at or before its ``microtimestamp``, apply the later ones;
a diff not after the book is a ``gap`` resync of that book (a new REST snapshot), a
snapshot the diff stream does not reach is fetched again (``stale_snapshot``), a
crossed book is a ``crossed_book`` resync. The recording splices this way (9 books,
717 diffs: 102 at or before their snapshot, 615 after it, none going backwards).

Keepalive: ``{"event":"bts:heartbeat"}`` every 30 s. ``bts:request_reconnect``:
the connection is replaced by a rotation (new connection first).

FrameError reasons raised here: ``not_json``, ``unknown_event``, ``subscribe_error``,
``missing_field``, ``invalid_value``, ``unsubscribed`` (from
:meth:`BitstampProtocol.on_frame`) and ``bad_snapshot`` (from
:meth:`BitstampProtocol.on_snapshot`).

The package: :mod:`.parse` (frames and REST bodies), :mod:`.book` (the splice),
:mod:`.protocol` (the connection), :mod:`.listing` (``relay instruments``); this module
registers the venue id.
"""

from __future__ import annotations

from relay.application.ports import VenueProtocol
from relay.config.model import VenueConfig
from relay.domain.model import DataType
from relay.infrastructure.venues.bitstamp.listing import LISTING, trading_pairs
from relay.infrastructure.venues.bitstamp.protocol import BitstampProtocol
from relay.infrastructure.venues.registry import InstrumentListing, VenueSpec, register

__all__ = ["VENUE_ID", "VENUE_IDS"]

VENUE_ID = "bitstamp"
VENUE_IDS = (VENUE_ID,)
"""The venue ids this package registers."""

DEFAULT_WS_URL = "wss://ws.bitstamp.net"

REST_REQUESTS_PER_MINUTE = 1000
"""HTTP API: 10,000 requests per 10 minutes (and 400 a second)."""

SUBSCRIBE_INTERVAL_S = 0.02
"""A small spacing between subscribe frames; Bitstamp documents no subscribe rate limit."""


def _build(config: VenueConfig) -> VenueProtocol:
    return BitstampProtocol(config, DEFAULT_WS_URL)


register(
    VenueSpec(
        id=VENUE_ID,
        data_types=frozenset({DataType.TRADE, DataType.L2_ORDERBOOK}),
        default_ws_url=DEFAULT_WS_URL,
        default_rest_url="https://www.bitstamp.net",
        protocol_factory=_build,
        docs=("https://www.bitstamp.net/websocket/v2/", "https://www.bitstamp.net/api/"),
        rest_weight_per_minute=REST_REQUESTS_PER_MINUTE,
        subscribe_interval_s=SUBSCRIBE_INTERVAL_S,
        instrument_listing=InstrumentListing((LISTING,), trading_pairs),
    )
)
