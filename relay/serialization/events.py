"""Envelopes back into domain events: what a consumer does with a message's bytes.

:func:`decode_envelope` picks the codec by the message's ``Content-Type``
(``application/json`` or ``application/protobuf``, docs/wire-format.md) and
:func:`event_from_wire` builds the :class:`~relay.domain.model.MarketEvent`
(``Decimal`` fields from the decimal strings) and returns it with its
``sequence``.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any, Final

from relay.domain.errors import InvalidValueError
from relay.domain.model import (
    Candle,
    DataType,
    FundingRate,
    Instrument,
    L2Update,
    Liquidation,
    MarketEvent,
    OpenInterest,
    Payload,
    Side,
    Source,
    Ticker,
    Trade,
)
from relay.serialization.codec import (
    JSON_CONTENT_TYPE,
    PROTOBUF_CONTENT_TYPE,
    WireDecodeError,
    WireDict,
)


def decode_envelope(data: bytes, content_type: str) -> WireDict:
    """The wire dict of a message body, decoded by its ``Content-Type``.

    Raises:
        WireDecodeError: an unknown content type, or a body its codec cannot read.
    """
    if content_type == JSON_CONTENT_TYPE:
        from relay.serialization.json_codec import decode_json

        return decode_json(data)
    if content_type == PROTOBUF_CONTENT_TYPE:
        from relay.serialization.protobuf_codec import decode_protobuf

        return decode_protobuf(data)
    raise WireDecodeError(content_type, "unknown Content-Type")


def _dec(value: Any) -> Decimal:
    return Decimal(str(value))


def _opt(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _levels(levels: Any) -> tuple[tuple[Decimal, Decimal], ...]:
    return tuple((_dec(price), _dec(quantity)) for price, quantity in levels)


_PAYLOADS: Final[dict[str, Callable[[WireDict], Payload]]] = {
    "trade": lambda p: Trade(p["trade_id"], _dec(p["price"]), _dec(p["quantity"]), Side(p["side"])),
    "ticker": lambda p: Ticker(
        _dec(p["bid_price"]),
        _dec(p["bid_quantity"]),
        _dec(p["ask_price"]),
        _dec(p["ask_quantity"]),
        p.get("update_id"),
    ),
    "l2_update": lambda p: L2Update(
        _levels(p["bids"]),
        _levels(p["asks"]),
        bool(p["is_snapshot"]),
        p.get("first_update_id"),
        p.get("last_update_id"),
        p.get("snapshot_part") or 1,
        p.get("snapshot_parts") or 1,
    ),
    "funding_rate": lambda p: FundingRate(
        _dec(p["rate"]),
        _opt(p.get("mark_price")),
        _opt(p.get("index_price")),
        p.get("next_funding_time"),
    ),
    "open_interest": lambda p: OpenInterest(_dec(p["open_interest"])),
    "liquidation": lambda p: Liquidation(
        Side(p["side"]), _dec(p["price"]), _dec(p["quantity"]), p.get("order_status")
    ),
    "candle": lambda p: Candle(
        p["interval"],
        p["open_time"],
        p["close_time"],
        _dec(p["open"]),
        _dec(p["high"]),
        _dec(p["low"]),
        _dec(p["close"]),
        _dec(p["volume"]),
        bool(p["is_closed"]),
        _opt(p.get("quote_volume")),
        p.get("trade_count"),
    ),
}


def event_from_wire(wire: WireDict, msg_id: str = "") -> tuple[MarketEvent, int]:
    """The domain event of a decoded envelope, and its ``sequence``.

    An absent (or null) ``source`` reads as :attr:`~relay.domain.model.Source.WS`.

    Args:
        wire: as :func:`decode_envelope` returns it.
        msg_id: the message's ``Nats-Msg-Id`` (``<venue>:<instrument>:<data_type>:<key>``);
            the event's ``dedup_key`` is its part after the third ``:`` ("" without one).

    Raises:
        InvalidValueError: a missing or malformed field (names it).
    """
    try:
        payload = wire["payload"]
        build = _PAYLOADS[payload["type"]]
        event = MarketEvent(
            Instrument(wire["venue"], wire["instrument"], wire["canonical_symbol"]),
            DataType(wire["data_type"]),
            wire["received_at"],
            wire.get("exchange_timestamp"),
            build(payload),
            msg_id.split(":", 3)[3] if msg_id.count(":") >= 3 else "",
            Source(wire.get("source") or Source.WS.value),
        )
        return event, int(wire["sequence"])
    except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
        raise InvalidValueError("envelope", str(wire)[:200], f"not an envelope: {exc!r}") from None
