"""Crypto.com Exchange (Exchange API v1 market data WebSocket): trades, tickers, books
verified by ``u`` / ``pu``, candles, funding and open interest.

The package: :mod:`.parse` (book levels, trades, tickers, open interest, funding,
candles, dedup keys), :mod:`.book` (the ``u`` / ``pu`` chain of each book),
:mod:`.protocol` (subscribe requests, heartbeat answers, channels -> events,
resyncs), :mod:`.listing` (``relay instruments``, canonical symbols); importing it
registers the ``cryptocom`` venue.

Sources (there is no recording of this venue in ``shared/captures``: every
format parsed comes from the documented examples):

- The Exchange API v1 reference, https://exchange-docs.crypto.com/exchange/v1/rest-ws/index.html:
  endpoints, rate limits (market data WebSocket 100 requests per second; a 1 s
  wait after connecting before the first request), subscriptions (400 per market
  data connection), heartbeats (``public/heartbeat`` every 30 s, answered with
  ``public/respond-heartbeat`` and the same ``id`` within 5 s), the channels
  ``book.{instrument_name}.{depth}`` (``SNAPSHOT_AND_UPDATE``: a ``book`` snapshot
  then ``book.update`` deltas; ``pu`` must be the previous ``u``, else
  re-subscribe), ``trade``, ``ticker`` (with ``oi``, open interest), ``candlestick``,
  ``funding``, and ``public/get-instruments``.
- Quirks: cryptofeed's ``cryptofeed/exchanges/cryptodotcom.py`` (heartbeat answer
  echoing the ``id``; a 1 s sleep before subscribing; numbers decoded as Decimal).

Book procedure: the ``book`` snapshot the venue sends on subscribing syncs the book;
each ``book.update`` must carry ``pu`` equal to the book's ``u``; a break resyncs
that one book by subscribing its channel again (the venue needs no unsubscribe
first) and dropping deltas until the fresh snapshot.

Open interest: the ticker's ``oi``; the venue has no open interest channel.

FrameError reasons raised here: ``not_json``, ``unknown_event``, ``missing_field``,
``invalid_value``, ``unsubscribed``, ``stale_update`` (a ``book.update`` whose ``u``
is not newer than the book's), ``subscribe_error`` (a subscribe or unsubscribe
answered with a ``code`` other than 0) and ``request_error`` (any other answer
with such a ``code``, e.g. the venue's ``ERROR`` response).
"""

from __future__ import annotations

from relay.domain.model import DataType
from relay.infrastructure.venues.cryptocom.listing import LISTING, REST_URL
from relay.infrastructure.venues.cryptocom.protocol import (
    CHANNELS_PER_INSTRUMENT,
    CONNECT_WAIT_S,
    MAX_CHANNELS_PER_CONNECTION,
    SUBSCRIBE_INTERVAL_S,
    WS_URL,
    CryptocomProtocol,
)
from relay.infrastructure.venues.registry import VenueSpec, register

VENUE_ID = "cryptocom"
"""The venue id in config and subjects."""

_DOCS = "https://exchange-docs.crypto.com/exchange/v1/rest-ws/index.html"

SPEC = register(
    VenueSpec(
        id=VENUE_ID,
        data_types=frozenset(
            {
                DataType.TRADE,
                DataType.TICKER,
                DataType.L2_ORDERBOOK,
                DataType.CANDLE,
                DataType.FUNDING_RATE,
                DataType.OPEN_INTEREST,
            }
        ),
        default_ws_url=WS_URL,
        default_rest_url=REST_URL,
        protocol_factory=CryptocomProtocol,
        docs=(
            _DOCS + "#rate-limits",
            _DOCS + "#websocket-subscriptions",
            _DOCS + "#websocket-heartbeats",
            _DOCS + "#book-instrument_name-depth",
            _DOCS + "#trade-instrument_name",
            _DOCS + "#ticker-instrument_name",
            _DOCS + "#candlestick-time_frame-instrument_name",
            _DOCS + "#funding-instrument_name",
            _DOCS + "#public-get-instruments",
        ),
        rest_weight_per_minute=6000,
        subscribe_interval_s=SUBSCRIBE_INTERVAL_S,
        connect_wait_s=CONNECT_WAIT_S,
        max_subscriptions_per_connection=MAX_CHANNELS_PER_CONNECTION // CHANNELS_PER_INSTRUMENT,
        instrument_listing=LISTING,
    )
)
"""The ``cryptocom`` venue, as registered."""

__all__ = ["SPEC", "VENUE_ID"]
