"""Deribit: JSON-RPC 2.0 over one WebSocket; books verified by ``change_id`` continuity.

The package: :mod:`.parse` (numbers, book levels, trades, tickers, candles, dedup
keys), :mod:`.book` (the ``change_id`` chain of each book), :mod:`.protocol`
(requests, heartbeats, notifications -> events, resyncs), :mod:`.listing`
(``relay instruments``, canonical symbols); importing it registers the
``deribit`` venue.

Sources (every format parsed comes from one of these, or from the recorded
session ``deribit.jsonl`` in ``shared/captures``):

- Notifications (``{"jsonrpc":"2.0","method":"subscription","params":{"channel","data"}}``):
  https://docs.deribit.com/articles/notifications
- Books: https://docs.deribit.com/subscriptions/orderbook/bookinstrument_nameinterval
  (first notification a full snapshot, then changes ``[action, price, amount]`` with
  action ``new``/``change``/``delete``; every change carries ``prev_change_id``,
  equal to the previous notification's ``change_id`` when nothing was missed).
  Snapshot and change frames of ``deribit.jsonl`` (2021-07, options).
- Trades: https://docs.deribit.com/subscriptions/trades/tradesinstrument_nameinterval
- Ticker: ticker frames of ``deribit.jsonl`` (options) and cryptofeed's ``deribit.py``
  ticker example (perpetual fields).
- Candles: https://docs.deribit.com/subscriptions/market-data/charttradesinstrument_nameresolution
- Heartbeats: https://docs.deribit.com/api-reference/session-management/public-set_heartbeat
  and https://docs.deribit.com/api-reference/supporting/public-test.
- Limits: https://docs.deribit.com/api-reference/subscription-management/public-subscribe
  (``public/subscribe``: sustained ~3.3 requests/second),
  https://docs.deribit.com/articles/connection-management-best-practices (32
  connections per IP), https://docs.deribit.com/api-reference/market-data/public-get_instruments
  (1 request/second; response example).

FrameError reasons raised here: ``not_json``, ``unknown_event``, ``missing_field``,
``invalid_value``, ``unsubscribed``, ``stale_update``, ``subscribe_error`` (an error
answer to a subscribe, or a subscribe answer missing requested channels) and
``request_error`` (an error answer to any other request).
"""

from __future__ import annotations

from relay.domain.model import DataType
from relay.infrastructure.venues.deribit.listing import LISTING, REST_URL
from relay.infrastructure.venues.deribit.protocol import (
    SUBSCRIBE_INTERVAL_S,
    WS_URL,
    DeribitProtocol,
)
from relay.infrastructure.venues.registry import VenueSpec, register

VENUE_ID = "deribit"
"""The venue id in config and subjects."""

_DOCS = "https://docs.deribit.com/"

SPEC = register(
    VenueSpec(
        id=VENUE_ID,
        data_types=frozenset(DataType),
        default_ws_url=WS_URL,
        default_rest_url=REST_URL,
        protocol_factory=DeribitProtocol,
        docs=(
            _DOCS + "articles/notifications",
            _DOCS + "subscriptions/orderbook/bookinstrument_nameinterval",
            _DOCS + "subscriptions/trades/tradesinstrument_nameinterval",
            _DOCS + "subscriptions/market-data/charttradesinstrument_nameresolution",
            _DOCS + "api-reference/session-management/public-set_heartbeat",
            _DOCS + "api-reference/subscription-management/public-subscribe",
            _DOCS + "api-reference/market-data/public-get_instruments",
        ),
        rest_weight_per_minute=60,
        subscribe_interval_s=SUBSCRIBE_INTERVAL_S,
        instrument_listing=LISTING,
    )
)
"""The ``deribit`` venue, as registered."""

__all__ = ["SPEC", "VENUE_ID"]
