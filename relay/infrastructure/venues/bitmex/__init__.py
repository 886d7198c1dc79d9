"""BitMEX: the realtime WebSocket; books verified by their ``orderBookL2`` level ids.

The package: :mod:`.parse` (trade, quote, instrument, liquidation and book
rows), :mod:`.book` (the id -> price map of each book and its integrity rule),
:mod:`.protocol` (subscribe frames, ``ping``, table frames -> events, resyncs),
:mod:`.listing` (``relay instruments``); importing it registers the ``bitmex``
venue.

Sources (every format parsed comes from one of these, or from the recorded
session ``bitmex.jsonl`` in ``shared/captures``, converted from cryptofeed's
``sample_data``):

- Realtime API: https://www.bitmex.com/app/wsAPI (subscribe frames and their
  answers, table frames ``{"table","action","data"}`` with actions
  ``partial``/``insert``/``update``/``delete``, ``ping``/``pong`` keepalive,
  ``orderBookL2`` and ``orderBookL2_25`` rows keyed by ``id``).
- cryptofeed's ``cryptofeed/exchanges/bitmex.py`` (the same id -> price book
  procedure: ``update`` and ``delete`` rows carry only the id; the ``instrument``
  and ``liquidation`` row examples, which the recording does not hold).
- REST limit: https://www.bitmex.com/app/restAPI (30 requests per minute without
  an API key; only ``relay instruments`` makes a REST request).

Book procedure: see :mod:`.book` (partial resets; an update or delete for an
unknown id, or an insert of a known one, is a ``gap`` -> unsubscribe +
subscribe that one book).

FrameError reasons raised here: ``not_json``, ``unknown_event``, ``missing_field``,
``invalid_value``, ``unsubscribed`` and ``subscribe_error`` (an error answer to a
subscribe or unsubscribe).
"""

from __future__ import annotations

from relay.domain.model import DataType
from relay.infrastructure.venues.bitmex.listing import LISTING
from relay.infrastructure.venues.bitmex.protocol import WS_URL, BitmexProtocol
from relay.infrastructure.venues.registry import VenueSpec, register

VENUE_ID = "bitmex"
"""The venue id in config and subjects."""

REST_URL = "https://www.bitmex.com"
"""The REST base: only ``relay instruments`` uses it (``/api/v1/instrument/active``)."""

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
                DataType.LIQUIDATION,
            }
        ),
        default_ws_url=WS_URL,
        default_rest_url=REST_URL,
        protocol_factory=BitmexProtocol,
        docs=("https://www.bitmex.com/app/wsAPI", "https://www.bitmex.com/app/restAPI"),
        rest_weight_per_minute=30,
        instrument_listing=LISTING,
    )
)
"""The ``bitmex`` venue, as registered."""

__all__ = ["SPEC", "VENUE_ID"]
