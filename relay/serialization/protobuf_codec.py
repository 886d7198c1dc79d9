"""Protobuf envelopes: ``relay.v1.MarketEvent`` (``Content-Type: application/protobuf``).

The typed API is the betterproto classes generated from
``proto/market_data.proto`` into :mod:`relay.serialization.generated.market_data`
(regenerate with ``scripts/gen_proto.sh``): :func:`event_to_message` builds
one, :func:`parse_protobuf` reads one. betterproto 2.0.0b7 replaces
``Message.__bytes__`` and ``Message.parse`` with ``betterproto-rust-codec``
when that package is installed (it is a dependency).

Publishing does not go through betterproto: building its message objects in
Python caps it near 9,000 envelopes/s, so :func:`encode_protobuf` uses the
hand-written encoder of :mod:`relay.serialization.protobuf_wire` (about
600,000 trade envelopes/s), whose bytes the tests prove equal to
``bytes(event_to_message(event, sequence))`` for every payload type.

Field names, types and units are those of the JSON envelope (see
``docs/wire-format.md``): decimals are strings with the venue's digits, times
are int64 epoch ms, fields a venue may not send are proto3 ``optional``.
:func:`decode_protobuf` returns the same wire dict the JSON codec decodes to.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any, Final

import betterproto

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
    PROTOBUF_CONTENT_TYPE,
    UnsupportedPayloadError,
    WireDecodeError,
    WireDict,
    decimal_text,
)
from relay.serialization.generated import market_data as pb
from relay.serialization.protobuf_wire import encode_event


def _optional_text(value: Decimal | None) -> str | None:
    return None if value is None else decimal_text(value)


def _trade(p: Trade) -> tuple[str, Any]:
    return "trade", pb.Trade(
        trade_id=p.trade_id,
        price=decimal_text(p.price),
        quantity=decimal_text(p.quantity),
        side=p.side.value,
    )


def _ticker(p: Ticker) -> tuple[str, Any]:
    return "ticker", pb.Ticker(
        bid_price=decimal_text(p.bid_price),
        bid_quantity=decimal_text(p.bid_quantity),
        ask_price=decimal_text(p.ask_price),
        ask_quantity=decimal_text(p.ask_quantity),
        update_id=p.update_id,
    )


def _l2_update(p: L2Update) -> tuple[str, Any]:
    return "l2_update", pb.L2Update(
        bids=[pb.PriceLevel(decimal_text(price), decimal_text(qty)) for price, qty in p.bids],
        asks=[pb.PriceLevel(decimal_text(price), decimal_text(qty)) for price, qty in p.asks],
        is_snapshot=p.is_snapshot,
        first_update_id=p.first_update_id,
        last_update_id=p.last_update_id,
        snapshot_part=p.snapshot_part if p.is_snapshot else None,
        snapshot_parts=p.snapshot_parts if p.is_snapshot else None,
    )


def _funding_rate(p: FundingRate) -> tuple[str, Any]:
    return "funding_rate", pb.FundingRate(
        rate=decimal_text(p.rate),
        mark_price=_optional_text(p.mark_price),
        index_price=_optional_text(p.index_price),
        next_funding_time=p.next_funding_time_ms,
    )


def _open_interest(p: OpenInterest) -> tuple[str, Any]:
    return "open_interest", pb.OpenInterest(open_interest=decimal_text(p.open_interest))


def _liquidation(p: Liquidation) -> tuple[str, Any]:
    return "liquidation", pb.Liquidation(
        side=p.side.value,
        price=decimal_text(p.price),
        quantity=decimal_text(p.quantity),
        order_status=p.order_status,
    )


def _candle(p: Candle) -> tuple[str, Any]:
    return "candle", pb.Candle(
        interval=p.interval,
        open_time=p.open_time_ms,
        close_time=p.close_time_ms,
        open=decimal_text(p.open),
        high=decimal_text(p.high),
        low=decimal_text(p.low),
        close=decimal_text(p.close),
        volume=decimal_text(p.volume),
        is_closed=p.is_closed,
        quote_volume=_optional_text(p.quote_volume),
        trade_count=p.trade_count,
    )


_PAYLOAD_TO_MESSAGE: Final[dict[type, Callable[[Any], tuple[str, Any]]]] = {
    Trade: _trade,
    Ticker: _ticker,
    L2Update: _l2_update,
    FundingRate: _funding_rate,
    OpenInterest: _open_interest,
    Liquidation: _liquidation,
    Candle: _candle,
}

_PAYLOAD_FIELDS: Final[dict[str, tuple[str, ...]]] = {
    "trade": ("trade_id", "price", "quantity", "side"),
    "ticker": ("bid_price", "bid_quantity", "ask_price", "ask_quantity", "update_id"),
    "l2_update": (
        "bids",
        "asks",
        "is_snapshot",
        "first_update_id",
        "last_update_id",
        "snapshot_part",
        "snapshot_parts",
    ),
    "funding_rate": ("rate", "mark_price", "index_price", "next_funding_time"),
    "open_interest": ("open_interest",),
    "liquidation": ("side", "price", "quantity", "order_status"),
    "candle": (
        "interval",
        "open_time",
        "close_time",
        "open",
        "high",
        "low",
        "close",
        "volume",
        "is_closed",
        "quote_volume",
        "trade_count",
    ),
}
"""Each payload's fields in wire order; the oneof field name is the ``type`` word."""


def event_to_message(event: MarketEvent, sequence: int) -> pb.MarketEvent:
    """The ``relay.v1.MarketEvent`` of ``event`` with the relay's ``sequence``.

    Raises:
        InvalidValueError: ``sequence`` is negative.
        UnsupportedPayloadError: the payload is not a payload class.
    """
    if sequence < 0:
        raise InvalidValueError("sequence", sequence, "must be >= 0")
    payload: Payload = event.payload
    try:
        to_message = _PAYLOAD_TO_MESSAGE[type(payload)]
    except KeyError:
        raise UnsupportedPayloadError(type(payload)) from None
    field, message = to_message(payload)
    instrument = event.instrument
    envelope = pb.MarketEvent(
        venue=instrument.venue,
        instrument=instrument.instrument,
        canonical_symbol=instrument.canonical_symbol,
        data_type=event.data_type.value,
        received_at=event.received_at_ms,
        exchange_timestamp=event.exchange_timestamp_ms,
        sequence=sequence,
        source=None if event.source is Source.WS else event.source.value,
    )
    setattr(envelope, field, message)
    return envelope


def encode_protobuf(event: MarketEvent, sequence: int) -> bytes:
    """The serialized ``relay.v1.MarketEvent`` of ``event`` with ``sequence``.

    Written by :func:`relay.serialization.protobuf_wire.encode_event`: the
    bytes betterproto writes for :func:`event_to_message`, without building
    the message objects.

    Raises:
        InvalidValueError: ``sequence`` is negative.
        UnsupportedPayloadError: the payload is not a payload class.
        OverflowError: ``sequence`` is above ``2**64 - 1``, or a time or id
            is outside its protobuf integer range.
    """
    return encode_event(event, sequence)


def parse_protobuf(data: bytes) -> pb.MarketEvent:
    """Parse a serialized ``relay.v1.MarketEvent`` into the betterproto class.

    Raises:
        WireDecodeError: ``data`` is not a valid message, or carries no payload.
    """
    try:
        message = pb.MarketEvent().parse(data)
    except Exception as exc:  # the Rust and Python parsers raise different types
        raise WireDecodeError(PROTOBUF_CONTENT_TYPE, f"{type(exc).__name__}: {exc}") from None
    if not betterproto.which_one_of(message, "payload")[0]:
        raise WireDecodeError(PROTOBUF_CONTENT_TYPE, "no payload set")
    return message


def message_to_dict(message: pb.MarketEvent) -> WireDict:
    """The wire dict of a parsed message: equal to what the JSON codec decodes to.

    Unset ``optional`` fields become ``None``; L2 levels become ``[price, qty]`` lists.

    Raises:
        WireDecodeError: the message carries no payload.
    """
    payload_type, payload_message = betterproto.which_one_of(message, "payload")
    if payload_message is None:
        raise WireDecodeError(PROTOBUF_CONTENT_TYPE, "no payload set")
    payload: WireDict = {"type": payload_type}
    for name in _PAYLOAD_FIELDS[payload_type]:
        payload[name] = getattr(payload_message, name)
    if payload_type == "l2_update":
        payload["bids"] = [[level.price, level.quantity] for level in payload_message.bids]
        payload["asks"] = [[level.price, level.quantity] for level in payload_message.asks]
    document: WireDict = {
        "venue": message.venue,
        "instrument": message.instrument,
        "canonical_symbol": message.canonical_symbol,
        "data_type": message.data_type,
        "received_at": message.received_at,
        "exchange_timestamp": message.exchange_timestamp,
        "sequence": message.sequence,
    }
    if message.source is not None:
        document["source"] = message.source
    document["payload"] = payload
    return document


def decode_protobuf(data: bytes) -> WireDict:
    """The wire dict of a protobuf envelope, equal to what ``decode_json`` returns for JSON.

    Raises:
        WireDecodeError: ``data`` is not a valid message, or carries no payload.
    """
    return message_to_dict(parse_protobuf(data))


class ProtobufCodec:
    """The :class:`~relay.serialization.codec.Codec` for ``application/protobuf``."""

    __slots__ = ()

    content_type: Final = PROTOBUF_CONTENT_TYPE

    def encode(self, event: MarketEvent, sequence: int) -> bytes:
        """See :func:`encode_protobuf` (this calls its encoder directly: one call less)."""
        return encode_event(event, sequence)

    def decode(self, data: bytes) -> WireDict:
        """See :func:`decode_protobuf`."""
        return decode_protobuf(data)
