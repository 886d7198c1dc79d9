"""OKX v5 public WebSocket: trades, tickers, books, funding, open interest, liquidations, candles.

Sources (the formats parsed here follow these pages, stored copies of OKX's
API documentation, and the recorded session ``okx.jsonl`` in ``shared/captures``):

- Connect, keepalive, subscribe limits: https://www.okx.com/docs-v5/en/#overview-websocket
  and https://www.okx.com/docs-v5/en/#overview-websocket-subscribe
- Order book channel, seqId/prevSeqId, checksum:
  https://www.okx.com/docs-v5/en/#order-book-trading-market-data-ws-order-book-channel
- Trades, tickers, candlesticks (business endpoint):
  https://www.okx.com/docs-v5/en/#order-book-trading-market-data
- Funding rate: https://www.okx.com/docs-v5/en/#public-data-websocket-funding-rate-channel
- Open interest: https://www.okx.com/docs-v5/en/#public-data-websocket-open-interest-channel
  (the page itself was not among the stored copies; the push format ``{"instId","instType",
  "oi","oiCcy","oiUsd","ts"}`` follows cryptofeed's ``okx.py`` and OKX client code)
- Liquidation orders: https://www.okx.com/docs-v5/en/#public-data-websocket-liquidation-orders-channel
- Instruments listing: https://www.okx.com/docs-v5/en/#public-data-rest-api-get-instruments
- Checksum deprecation: https://www.okx.com/docs-v5/log_en/#2026-06-23

Every push is ``{"arg": {"channel": ..., "instId": ...}, "data": [...]}`` (books add
``"action": "snapshot" | "update"``); acks are ``{"event": "subscribe", "arg": ...}``,
errors ``{"event": "error", "code": ..., "msg": ...}``; the keepalive is the text
``ping`` answered by ``pong``. Candles live on the business endpoint: the venue's
:attr:`VenueSpec.split_connections` (:func:`.channels.split_config`) gives candle
subscriptions their own connection to ``.../ws/v5/business``.

Book integrity (one :class:`.book.OkxBook` per instrument; the book is kept with the
venue's original price and size strings):

- ``seqId``/``prevSeqId`` where present: an update's ``prevSeqId`` must equal the
  book's last ``seqId`` (a documented sequence reset, ``seqId < prevSeqId``, still
  chains through ``prevSeqId``); an update with no levels and
  ``seqId == prevSeqId`` is the documented heartbeat and publishes nothing.
  A break is a ``"gap"`` resync.
- CRC32 checksum on every message (snapshot and update) that carries a non-zero
  ``checksum``: the top 25 bids and asks interleaved as
  ``bid1price:bid1size:ask1price:ask1size:...`` (a side with fewer levels just
  stops), from the venue's strings, as a signed 32-bit integer. A mismatch is a
  ``"checksum"`` resync. OKX fixed ``checksum`` to 0 on 2026-06-23 (deprecated in
  favour of seqId): a 0 is not checked; the 2022 recording's checksums all are.
- No crossed-book check: OKX documents that the best ask may be below the best
  bid during the pre-open period.

A resync throws the book away, returns a :class:`BookResync` and the
``unsubscribe`` + ``subscribe`` frames of that one book's channel; updates are
then refused (``awaiting_snapshot``) until the fresh ``snapshot`` arrives, which
is published with ``is_snapshot=True``.

Depth (``depth`` of a subscription) -> channel: 1-5 -> ``books5`` (a 5-level
snapshot every push, published as snapshots); 0 and 6+ -> ``books`` (400 levels,
incremental every 100 ms). ``books50-l2-tbt``/``books-l2-tbt`` need a logged-in
VIP4 account, which a public relay connection is not, so no depth maps to them.

Dedup keys: trade -> ``tradeId``; ticker -> ``ts:bidPx:bidSz:askPx:askSz``;
book snapshot -> ``snapshot:<seqId>`` (``snapshot:<ts>:<checksum>`` without seqId);
book update -> ``<prevSeqId>:<seqId>`` (``<ts>:<checksum>`` without seqId);
books5 -> ``<ts>:<seqId>``; funding -> ``<fundingTime>:<ts>`` (a push without ``ts``:
``<fundingTime>:<fundingRate>:<crc32 of every field>``); open interest ->
``<ts>``; liquidation -> ``<ts>:<side>:<sz>:<bkPx>``; candle ->
``<open ts>:<confirm>:<vol>:<close>``.

Limits: 480 subscribe/unsubscribe requests per connection and hour (a resync
costs 2); a subscribe request's channel list must stay under 64 KB (frames are
cut at :data:`.channels.MAX_SUBSCRIBE_BYTES`); fewer than 30 depth channels per connection
are recommended, and one subscription opens at most one, hence
:data:`MAX_SUBSCRIPTIONS_PER_CONNECTION` = 29; 3 connection requests per second
per IP (subscribe frames are paced at :data:`SUBSCRIBE_INTERVAL_S`).

The package: :mod:`.parse` (pushes), :mod:`.book` (seqId and checksum rules),
:mod:`.channels` (channels, endpoints, subscribe frames), :mod:`.protocol` (the
connection), :mod:`.listing` (instruments); this module registers ``okx``.

Canonical symbols (:func:`.listing.canonical_symbol`): ``BTC-USDT`` -> ``BTC/USDT``,
``UNI-USD-SWAP`` -> ``UNI/USD:PERP``, ``BTC-USD-220527`` -> ``BTC/USD:220527``.

FrameError reasons raised here: ``not_json``, ``unknown_event``,
``missing_field``, ``invalid_value``, ``unsubscribed``, ``subscribe_error``
(an ``error`` event), ``awaiting_snapshot`` (a book update while the book waits
for its snapshot).
"""

from __future__ import annotations

from relay.domain.model import DataType
from relay.infrastructure.venues.okx.book import CHECKSUM_LEVELS, checksum, raw_book_checksum
from relay.infrastructure.venues.okx.channels import BOOK_CHANNELS, PUBLIC_WS_URL, split_config
from relay.infrastructure.venues.okx.listing import (
    LISTING_REQUESTS,
    canonical_symbol,
    parse_listing,
)
from relay.infrastructure.venues.okx.protocol import OkxProtocol
from relay.infrastructure.venues.registry import InstrumentListing, VenueSpec, register

__all__ = [
    "BOOK_CHANNELS",
    "CHECKSUM_LEVELS",
    "VENUE_ID",
    "canonical_symbol",
    "checksum",
    "raw_book_checksum",
]

VENUE_ID = "okx"
REST_URL = "https://www.okx.com"

SUBSCRIBE_INTERVAL_S = 0.4
"""Least time between two subscribe frames (OKX: 3 requests per second)."""

MAX_SUBSCRIPTIONS_PER_CONNECTION = 29
"""OKX recommends fewer than 30 depth channels per connection; one entry opens at most one."""


register(
    VenueSpec(
        id=VENUE_ID,
        data_types=frozenset(DataType),
        default_ws_url=PUBLIC_WS_URL,
        default_rest_url=REST_URL,
        protocol_factory=OkxProtocol,
        docs=(
            "https://www.okx.com/docs-v5/en/#overview-websocket",
            "https://www.okx.com/docs-v5/en/#order-book-trading-market-data-ws-order-book-channel",
            "https://www.okx.com/docs-v5/en/#order-book-trading-market-data",
            "https://www.okx.com/docs-v5/en/#public-data-websocket-funding-rate-channel",
            "https://www.okx.com/docs-v5/en/#public-data-websocket-open-interest-channel",
            "https://www.okx.com/docs-v5/en/#public-data-websocket-liquidation-orders-channel",
            "https://www.okx.com/docs-v5/en/#public-data-rest-api-get-instruments",
        ),
        rest_weight_per_minute=600,
        subscribe_interval_s=SUBSCRIBE_INTERVAL_S,
        max_subscriptions_per_connection=MAX_SUBSCRIPTIONS_PER_CONNECTION,
        split_connections=split_config,
        instrument_listing=InstrumentListing(LISTING_REQUESTS, parse_listing),
        live_subscribe=True,
    )
)
