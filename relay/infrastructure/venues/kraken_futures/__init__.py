"""Kraken Futures (ws/v1): trades, tickers, funding, open interest, and books verified by ``seq``.

Separate from the spot ``kraken`` package (another endpoint, another protocol);
the two share only :mod:`relay.infrastructure.venues.common`. The package:
:mod:`.parse` (book levels, book deltas, trades, tickers, funding, open
interest), :mod:`.book` (the ``seq`` chain of each book), :mod:`.protocol`
(subscribe frames, frames -> events, resyncs), :mod:`.listing` (``relay
instruments``, canonical symbols);
importing it registers the ``kraken-futures`` venue.

Sources (every format parsed comes from one of these, or from the recorded
session ``kraken-futures.jsonl`` in ``shared/captures``, 2021-07):

- Endpoint, keepalive ("send a ping at least every 60 seconds"):
  https://docs.kraken.com/exchange/api-reference/futures-websocket
- Subscribe / unsubscribe requests and answers:
  https://support.kraken.com/articles/360022635632-subscriptions-websockets-api-derivatives
- Book (``book_snapshot`` then ``book`` deltas, ``seq`` +1 per message of a product):
  https://docs.kraken.com/exchange/api-reference/futures-websocket/book
- Trades: https://docs.kraken.com/exchange/api-reference/futures-websocket/trade
- Ticker (ticker, funding, open interest):
  https://docs.kraken.com/exchange/api-reference/futures-websocket/ticker and the
  example of Kraken's former futures API page quoted in ccxt's ``krakenfutures``.
- Quirks: cryptofeed's ``cryptofeed/exchanges/kraken_futures.py`` (a ``seq``
  break is a missing message; ``product_id`` is the upper-case REST symbol).

Book procedure: the ``book_snapshot`` the venue sends on subscribing syncs the
book; each ``book`` message must carry the book's ``seq`` + 1; a break resyncs
that one book by ``unsubscribe`` + ``subscribe`` of its ``book`` feed.

FrameError reasons raised here: ``not_json``, ``unknown_event``, ``missing_field``,
``invalid_value``, ``unsubscribed``, ``stale_update`` (a book message whose ``seq``
is not newer than the book's) and ``subscribe_error`` (``subscribed_failed``,
``unsubscribed_failed`` or ``error`` answers).
"""

from __future__ import annotations

from relay.domain.model import DataType
from relay.infrastructure.venues.kraken_futures.listing import LISTING, REST_URL
from relay.infrastructure.venues.kraken_futures.protocol import (
    SUBSCRIBE_INTERVAL_S,
    WS_URL,
    KrakenFuturesProtocol,
)
from relay.infrastructure.venues.registry import VenueSpec, register

VENUE_ID = "kraken-futures"
"""The venue id in config and subjects."""

_DOCS = "https://docs.kraken.com/exchange/api-reference/futures-websocket"

SPEC = register(
    VenueSpec(
        id=VENUE_ID,
        data_types=frozenset(
            {
                DataType.TRADE,
                DataType.TICKER,
                DataType.L2_ORDERBOOK,
                DataType.FUNDING_RATE,
                DataType.OPEN_INTEREST,
            }
        ),
        default_ws_url=WS_URL,
        default_rest_url=REST_URL,
        protocol_factory=KrakenFuturesProtocol,
        docs=(
            _DOCS,
            _DOCS + "/book",
            _DOCS + "/trade",
            _DOCS + "/ticker",
            "https://support.kraken.com/articles/360022635632-subscriptions-websockets-api-derivatives",
            "https://docs.kraken.com/api-reference/instrument-details/get-instruments",
        ),
        subscribe_interval_s=SUBSCRIBE_INTERVAL_S,
        instrument_listing=LISTING,
    )
)
"""The ``kraken-futures`` venue, as registered."""

__all__ = ["SPEC", "VENUE_ID"]
