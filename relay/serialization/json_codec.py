"""JSON envelopes: compact UTF-8 JSON built with orjson (``Content-Type: application/json``).

One event, as published (a Binance USD-M aggTrade, recorded in
``shared/captures/binance-usdm.jsonl``)::

    {"venue":"binance-usdm","instrument":"CTKUSDT","canonical_symbol":"CTK/USDT",
     "data_type":"trade","received_at":1626992742289,"exchange_timestamp":1626992741421,
     "sequence":1,"payload":{"type":"trade","trade_id":"16599292","price":"1.01100",
     "quantity":"10","side":"BUY"}}

This is the hot path: the document is built as plain dicts and lists in one
pass (no ``dataclasses.asdict``) and handed to :func:`orjson.dumps`. Field
names and units are specified in ``docs/wire-format.md``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

import orjson

from relay.domain.errors import InvalidValueError
from relay.domain.model import (
    Candle,
    FundingRate,
    L2Update,
    Liquidation,
    MarketEvent,
    OpenInterest,
    Payload,
    Source,
    Ticker,
    Trade,
)
from relay.serialization.codec import (
    JSON_CONTENT_TYPE,
    UnsupportedPayloadError,
    WireDecodeError,
    WireDict,
    decimal_text,
)


def _optional_text(value: Any) -> str | None:
    return None if value is None else decimal_text(value)


def _trade(p: Trade) -> WireDict:
    return {
        "type": "trade",
        "trade_id": p.trade_id,
        "price": decimal_text(p.price),
        "quantity": decimal_text(p.quantity),
        "side": p.side.value,
    }


def _ticker(p: Ticker) -> WireDict:
    return {
        "type": "ticker",
        "bid_price": decimal_text(p.bid_price),
        "bid_quantity": decimal_text(p.bid_quantity),
        "ask_price": decimal_text(p.ask_price),
        "ask_quantity": decimal_text(p.ask_quantity),
        "update_id": p.update_id,
    }


def _l2_update(p: L2Update) -> WireDict:
    return {
        "type": "l2_update",
        "bids": [[decimal_text(price), decimal_text(qty)] for price, qty in p.bids],
        "asks": [[decimal_text(price), decimal_text(qty)] for price, qty in p.asks],
        "is_snapshot": p.is_snapshot,
        "first_update_id": p.first_update_id,
        "last_update_id": p.last_update_id,
        "snapshot_part": p.snapshot_part if p.is_snapshot else None,
        "snapshot_parts": p.snapshot_parts if p.is_snapshot else None,
    }


def _funding_rate(p: FundingRate) -> WireDict:
    return {
        "type": "funding_rate",
        "rate": decimal_text(p.rate),
        "mark_price": _optional_text(p.mark_price),
        "index_price": _optional_text(p.index_price),
        "next_funding_time": p.next_funding_time_ms,
    }


def _open_interest(p: OpenInterest) -> WireDict:
    return {"type": "open_interest", "open_interest": decimal_text(p.open_interest)}


def _liquidation(p: Liquidation) -> WireDict:
    return {
        "type": "liquidation",
        "side": p.side.value,
        "price": decimal_text(p.price),
        "quantity": decimal_text(p.quantity),
        "order_status": p.order_status,
    }


def _candle(p: Candle) -> WireDict:
    return {
        "type": "candle",
        "interval": p.interval,
        "open_time": p.open_time_ms,
        "close_time": p.close_time_ms,
        "open": decimal_text(p.open),
        "high": decimal_text(p.high),
        "low": decimal_text(p.low),
        "close": decimal_text(p.close),
        "volume": decimal_text(p.volume),
        "is_closed": p.is_closed,
        "quote_volume": _optional_text(p.quote_volume),
        "trade_count": p.trade_count,
    }


_PAYLOAD_TO_DICT: Final[dict[type, Callable[[Any], WireDict]]] = {
    Trade: _trade,
    Ticker: _ticker,
    L2Update: _l2_update,
    FundingRate: _funding_rate,
    OpenInterest: _open_interest,
    Liquidation: _liquidation,
    Candle: _candle,
}


def payload_to_dict(payload: Payload) -> WireDict:
    """The wire dict of a payload: ``{"type": "trade", "trade_id": ..., ...}``.

    Decimals become decimal strings (:func:`~relay.serialization.codec.decimal_text`),
    sides ``"BUY"``/``"SELL"``, absent optional fields ``None``; times keep
    epoch ms under names without the ``_ms`` suffix.

    Raises:
        UnsupportedPayloadError: ``payload`` is not a payload class.
    """
    try:
        to_dict = _PAYLOAD_TO_DICT[type(payload)]
    except KeyError:
        raise UnsupportedPayloadError(type(payload)) from None
    return to_dict(payload)


_WS: Final = Source.WS
"""Bound once: an enum member looked up on its class costs more than a global (hot path)."""


def event_to_dict(event: MarketEvent, sequence: int) -> WireDict:
    """The wire dict of ``event`` with the relay's ``sequence``, keys in wire order.

    An event read from a REST poll carries ``"source": "rest"`` after
    ``sequence``; a WebSocket event leaves the key out (absent means ``"ws"``),
    so its bytes are the ones written before ``source`` existed.

    Raises:
        InvalidValueError: ``sequence`` is negative.
        UnsupportedPayloadError: the payload is not a payload class.
    """
    if sequence < 0:
        raise InvalidValueError("sequence", sequence, "must be >= 0")
    instrument = event.instrument
    payload = payload_to_dict(event.payload)
    document: WireDict = {  # one dict display: the common way, measured faster
        "venue": instrument.venue,
        "instrument": instrument.instrument,
        "canonical_symbol": instrument.canonical_symbol,
        "data_type": event.data_type.value,
        "received_at": event.received_at_ms,
        "exchange_timestamp": event.exchange_timestamp_ms,
        "sequence": sequence,
        "payload": payload,
    }
    if event.source is _WS:
        return document
    items = list(document.items())
    items.insert(-1, ("source", event.source.value))  # after sequence, before payload
    return dict(items)


def encode_json(event: MarketEvent, sequence: int) -> bytes:
    """Compact UTF-8 JSON of ``event`` with ``sequence`` (see the module docstring).

    Raises:
        InvalidValueError: ``sequence`` is negative.
        UnsupportedPayloadError: the payload is not a payload class.
    """
    return orjson.dumps(event_to_dict(event, sequence))


def decode_json(data: bytes) -> WireDict:
    """The wire dict of a JSON envelope, as :func:`orjson.loads` reads it.

    Decimal strings stay strings; nothing is validated beyond "a JSON object".

    Raises:
        WireDecodeError: ``data`` is not JSON, or not a JSON object.
    """
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise WireDecodeError(JSON_CONTENT_TYPE, str(exc)) from None
    if not isinstance(document, dict):
        kind = type(document).__name__
        raise WireDecodeError(JSON_CONTENT_TYPE, f"expected an object, got {kind}")
    return document


class JsonCodec:
    """The :class:`~relay.serialization.codec.Codec` for ``application/json``."""

    __slots__ = ()

    content_type: Final = JSON_CONTENT_TYPE

    def encode(self, event: MarketEvent, sequence: int) -> bytes:
        """See :func:`encode_json`."""
        return encode_json(event, sequence)

    def decode(self, data: bytes) -> WireDict:
        """See :func:`decode_json`."""
        return decode_json(data)
