"""Bitfinex (ws/2): trades, tickers, candles, and P0 books verified by checksum and sequence.

The package: :mod:`.parse` (book levels, trades, tickers, candles), :mod:`.book`
(the book and its CRC32 checksum), :mod:`.channels` (``conf`` flags, subscribe
frames, book lengths, candle keys, connections of at most 25 channels),
:mod:`.protocol` (the connection), :mod:`.listing` (``relay instruments``);
importing it registers the ``bitfinex`` venue.

Sources (every format parsed comes from one of these, or from the recorded session
``bitfinex.jsonl`` in ``shared/captures``, 2021-04, with ``SEQ_ALL`` on):

- General (endpoint, ``conf`` flags, ``info`` codes 20051/20060/20061, heartbeats,
  ``ping``): https://docs.bitfinex.com/docs/ws-general
- Limits (25 channels per connection, 20 connections per minute):
  https://docs.bitfinex.com/docs/ws-public
- Checksum (flag 131072, ``cs`` messages, the top 25 levels interleaved, signed
  CRC32): https://docs.bitfinex.com/docs/ws-websocket-checksum; worked examples in
  bitfinexcom/bitfinex-api-py ``bfxapi/tests/test_ws_orderbook.py``.
- Channels: https://docs.bitfinex.com/reference/ws-public-books,
  …/ws-public-trades, …/ws-public-ticker, …/ws-public-candles.
- Quirks: cryptofeed's ``cryptofeed/exchanges/bitfinex.py`` (sequence numbers per
  connection, heartbeats numbered too; ``tu`` repeats ``te``).

Book procedure: the snapshot sent on subscribing syncs the book; every ``cs``
message must equal the book's checksum and every message's sequence number must
follow the previous one's. A checksum mismatch resyncs that one book (unsubscribe
its ``chanId``, subscribe again); a sequence break resyncs every book of the
connection (the lost message may have been any channel's).

FrameError reasons raised here: ``not_json``, ``unknown_event``, ``missing_field``,
``invalid_value``, ``unsubscribed``, ``stale_update`` (a sequence number not newer
than the last) and ``subscribe_error`` (an ``error`` event, a refused ``conf``).
"""

from __future__ import annotations

from relay.domain.model import DataType
from relay.infrastructure.venues.bitfinex.channels import split_config
from relay.infrastructure.venues.bitfinex.listing import LISTING, REST_URL
from relay.infrastructure.venues.bitfinex.protocol import (
    SUBSCRIBE_INTERVAL_S,
    WS_URL,
    BitfinexProtocol,
)
from relay.infrastructure.venues.registry import VenueSpec, register

VENUE_ID = "bitfinex"
"""The venue id in config and subjects."""

_DOCS = "https://docs.bitfinex.com/"

SPEC = register(
    VenueSpec(
        id=VENUE_ID,
        data_types=frozenset(
            {DataType.TRADE, DataType.TICKER, DataType.L2_ORDERBOOK, DataType.CANDLE}
        ),
        default_ws_url=WS_URL,
        default_rest_url=REST_URL,
        protocol_factory=BitfinexProtocol,
        docs=(
            _DOCS + "docs/ws-general",
            _DOCS + "docs/ws-public",
            _DOCS + "docs/ws-websocket-checksum",
            _DOCS + "reference/ws-public-books",
            _DOCS + "reference/ws-public-trades",
            _DOCS + "reference/ws-public-ticker",
            _DOCS + "reference/ws-public-candles",
            _DOCS + "reference/rest-public-conf",
        ),
        rest_weight_per_minute=90,
        subscribe_interval_s=SUBSCRIBE_INTERVAL_S,
        split_connections=split_config,
        instrument_listing=LISTING,
    )
)
"""The ``bitfinex`` venue, as registered."""

__all__ = ["SPEC", "VENUE_ID"]
