"""A hand-written protobuf encoder for ``relay.v1.MarketEvent``: the hot path of the protobuf codec.

Building betterproto message objects costs far more than the bytes they
serialize to (betterproto 2.0.0b7 with its Rust codec: about 9,000 trade
envelopes/s here), so :func:`encode_event` writes the wire format of
``proto/market_data.proto`` straight from the domain event, the way the JSON
codec builds plain dicts. The bytes are the ones betterproto writes for the
same message (``tests/serialization/test_protobuf_wire.py`` proves it for
every payload type, edge value and random events); betterproto stays the
typed API and the decoder (:mod:`relay.serialization.protobuf_codec`).

The rules it follows (proto3, as betterproto applies them):

- fields are written in field-number order, each as a key (``field << 3 |
  wire type``) and a value: a varint (wire type 0) for integers and bools, a
  length and the bytes (wire type 2) for strings and messages;
- a plain scalar equal to its default (``""``, ``0``, ``False``) is left out;
  a proto3 ``optional`` field is written whenever it is set (not ``None``),
  even to ``0`` or ``""``; ``None`` leaves it out;
- the set ``oneof`` payload and every repeated ``PriceLevel`` are written
  even when empty (a key and length 0);
- ``int64`` values are written as 64-bit two's complement varints (a
  negative one takes 10 bytes); ``uint64`` values must lie in
  ``0..2**64-1`` and ``int64`` ones in ``-2**63..2**63-1``, otherwise
  :class:`OverflowError` is raised, as betterproto does;
- decimals are :func:`~relay.serialization.codec.decimal_text` strings: the
  venue's digits, never exponent notation.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from decimal import Decimal
from typing import Any, Final

from relay.domain.errors import InvalidValueError
from relay.domain.model import (
    Candle,
    FundingRate,
    L2Update,
    Liquidation,
    MarketEvent,
    OpenInterest,
    PriceLevel,
    Side,
    Source,
    Ticker,
    Trade,
)
from relay.serialization.codec import UnsupportedPayloadError, decimal_text

_UINT64_MAX: Final = (1 << 64) - 1
_INT64_MIN: Final = -(1 << 63)
_INT64_MAX: Final = (1 << 63) - 1
_TWO_TO_64: Final = 1 << 64

_EPOCH_MS_MIN: Final = 1 << 28
_EPOCH_MS_END: Final = 1 << 42
"""Values in ``_EPOCH_MS_MIN .. _EPOCH_MS_END - 1`` (every epoch ms from 1970-01-04
to 2109) are 5- or 6-byte varints: :func:`int64_varint` writes them inline."""

_WIRE_VARINT: Final = 0
_WIRE_LEN: Final = 2

_BYTE: Final = tuple(bytes((n,)) for n in range(0x80))
"""``_BYTE[n]``: the one-byte varint of ``n`` (``0 <= n < 128``)."""


_GROUPS_2: Final = tuple(bytes((n & 0x7F | 0x80, n >> 7 | 0x80)) for n in range(0x4000))
"""``_GROUPS_2[n]``: the low 14 bits ``n`` as two varint bytes, both marked "more follows"."""

_LAST_GROUPS_2: Final = tuple(
    bytes((n & 0x7F | 0x80, n >> 7)) if n >= 0x80 else bytes((n,)) for n in range(0x4000)
)
"""``_LAST_GROUPS_2[n]``: the complete varint of ``n`` (``0 <= n < 2**14``).

With ``_GROUPS_2`` (together about 1.7 MB, built at import) a 6-byte epoch-ms
varint is three look-ups instead of a six-round loop: 2.5 times faster.
"""


def _long_varint(value: int) -> bytes:
    """The varint of ``value`` (``0 <= value <= 2**64-1``): 7 bits a byte, low first."""
    if value < 0x4000:
        return _LAST_GROUPS_2[value]
    if value < 1 << 28:
        return _GROUPS_2[value & 0x3FFF] + _LAST_GROUPS_2[value >> 14]
    if value < 1 << 42:
        return (
            _GROUPS_2[value & 0x3FFF]
            + _GROUPS_2[value >> 14 & 0x3FFF]
            + _LAST_GROUPS_2[value >> 28]
        )
    out = bytearray()
    while value >= 0x4000:
        out += _GROUPS_2[value & 0x3FFF]
        value >>= 14
    out += _LAST_GROUPS_2[value]
    return bytes(out)


def uint64_varint(value: int) -> bytes:
    """The varint of a ``uint64``: ``300`` -> ``b"\\xac\\x02"``.

    Raises:
        OverflowError: ``value`` is negative or above ``2**64 - 1``.
    """
    if value >= 0:
        if value < 0x80:
            return _BYTE[value]
        if value <= _UINT64_MAX:
            return _long_varint(value)
    raise OverflowError(f"{value} is out of the uint64 range")


def int64_varint(value: int) -> bytes:
    """The varint of an ``int64``: two's complement, so ``-1`` takes 10 bytes.

    Raises:
        OverflowError: ``value`` is outside ``-2**63 .. 2**63 - 1``.
    """
    if _EPOCH_MS_MIN <= value < _EPOCH_MS_END:
        return (
            _GROUPS_2[value & 0x3FFF]
            + _GROUPS_2[value >> 14 & 0x3FFF]
            + _LAST_GROUPS_2[value >> 28]
        )
    if value >= 0:
        if value < 0x80:
            return _BYTE[value]
        if value <= _INT64_MAX:
            return _long_varint(value)
    elif value >= _INT64_MIN:
        return _long_varint(value + _TWO_TO_64)
    raise OverflowError(f"{value} is out of the int64 range")


def _key(field_number: int, wire_type: int) -> bytes:
    return uint64_varint(field_number << 3 | wire_type)


Prefixes = tuple[bytes, ...]
"""``prefixes[n]``: a length-delimited field's key followed by the length ``n`` (< 128)."""

TextPrefixes = tuple[str, ...]
"""The same as text: ``chr`` of each byte, for building decimal fields as ``str``.

Decimal text is ASCII, so a field built as ``str`` from these and encoded
with ``latin-1`` (one byte per character, ``chr(0x80)`` included) gives the
field's bytes; several decimal fields are then encoded with one ``.encode``.
"""


def _len_prefixes(field_number: int) -> Prefixes:
    key = _key(field_number, _WIRE_LEN)
    return tuple(key + _BYTE[n] for n in range(0x80))


def _text_prefixes(field_number: int) -> TextPrefixes:
    return tuple(prefix.decode("latin-1") for prefix in _len_prefixes(field_number))


def _long_prefix(prefixes: Prefixes, size: int) -> bytes:
    """The key and length of a field of ``size`` >= 128 bytes."""
    return prefixes[0][:-1] + _long_varint(size)


def _long_prefix_text(prefixes: TextPrefixes, size: int) -> str:
    """The key and length of a field of ``size`` >= 128 bytes, as latin-1 text."""
    return prefixes[0][:-1] + _long_varint(size).decode("latin-1")


def _string(prefixes: Prefixes, text: str) -> bytes:
    """A plain ``string`` field (UTF-8): left out when ``text`` is ``""``."""
    data = text.encode()
    size = len(data)
    if size < 0x80:
        return prefixes[size] + data if size else b""
    return _long_prefix(prefixes, size) + data


def _optional_string(prefixes: Prefixes, text: str | None) -> bytes:
    """An ``optional string`` field: written when set, even to ``""``; left out when ``None``."""
    if text is None:
        return b""
    data = text.encode()
    size = len(data)
    if size < 0x80:
        return prefixes[size] + data
    return _long_prefix(prefixes, size) + data


def _decimal(prefixes: TextPrefixes, value: Decimal) -> str:
    """A decimal string field as latin-1 text; never empty, so always written."""
    text = str(value)
    if "E" in text:
        text = decimal_text(value)
    size = len(text)
    if size < 0x80:
        return prefixes[size] + text
    return _long_prefix_text(prefixes, size) + text


def _optional_decimal(prefixes: TextPrefixes, value: Decimal | None) -> str:
    """An ``optional string`` decimal field: left out when ``None``."""
    return "" if value is None else _decimal(prefixes, value)


# The key (and for length-delimited fields the prefix table) of every field,
# named <message>_<field>, in the order of proto/market_data.proto.

_ENV_VENUE: Final = _len_prefixes(1)
_ENV_INSTRUMENT: Final = _len_prefixes(2)
_ENV_CANONICAL_SYMBOL: Final = _len_prefixes(3)
_ENV_DATA_TYPE: Final = _len_prefixes(4)
_ENV_RECEIVED_AT: Final = _key(5, _WIRE_VARINT)
_ENV_EXCHANGE_TIMESTAMP: Final = _key(6, _WIRE_VARINT)
_ENV_SEQUENCE: Final = _key(7, _WIRE_VARINT)
_ENV_SOURCE: Final = _len_prefixes(8)
_WS: Final = Source.WS
"""Bound once: an enum member looked up on its class costs more than a global (hot path)."""
_ENV_TRADE: Final = _len_prefixes(10)
_ENV_TICKER: Final = _len_prefixes(11)
_ENV_L2_UPDATE: Final = _len_prefixes(12)
_ENV_FUNDING_RATE: Final = _len_prefixes(13)
_ENV_OPEN_INTEREST: Final = _len_prefixes(14)
_ENV_LIQUIDATION: Final = _len_prefixes(15)
_ENV_CANDLE: Final = _len_prefixes(16)

_TRADE_ID: Final = _len_prefixes(1)
_TRADE_PRICE: Final = _text_prefixes(2)
_TRADE_QUANTITY: Final = _text_prefixes(3)
_TRADE_SIDE: Final = _len_prefixes(4)

_TICKER_BID_PRICE: Final = _text_prefixes(1)
_TICKER_BID_QUANTITY: Final = _text_prefixes(2)
_TICKER_ASK_PRICE: Final = _text_prefixes(3)
_TICKER_ASK_QUANTITY: Final = _text_prefixes(4)
_TICKER_UPDATE_ID: Final = _key(5, _WIRE_VARINT)

_LEVEL_PRICE: Final = _text_prefixes(1)
_LEVEL_QUANTITY: Final = _text_prefixes(2)

_L2_BIDS: Final = _text_prefixes(1)
_L2_ASKS: Final = _text_prefixes(2)
_L2_IS_SNAPSHOT_TRUE: Final = _key(3, _WIRE_VARINT) + b"\x01"
_L2_FIRST_UPDATE_ID: Final = _key(4, _WIRE_VARINT)
_L2_LAST_UPDATE_ID: Final = _key(5, _WIRE_VARINT)
_L2_SNAPSHOT_PART: Final = _key(6, _WIRE_VARINT)
_L2_SNAPSHOT_PARTS: Final = _key(7, _WIRE_VARINT)

_FUNDING_RATE: Final = _text_prefixes(1)
_FUNDING_MARK_PRICE: Final = _text_prefixes(2)
_FUNDING_INDEX_PRICE: Final = _text_prefixes(3)
_FUNDING_NEXT_FUNDING_TIME: Final = _key(4, _WIRE_VARINT)

_OPEN_INTEREST: Final = _text_prefixes(1)

_LIQUIDATION_SIDE: Final = _len_prefixes(1)
_LIQUIDATION_PRICE: Final = _text_prefixes(2)
_LIQUIDATION_QUANTITY: Final = _text_prefixes(3)
_LIQUIDATION_ORDER_STATUS: Final = _len_prefixes(4)

_CANDLE_INTERVAL: Final = _len_prefixes(1)
_CANDLE_OPEN_TIME: Final = _key(2, _WIRE_VARINT)
_CANDLE_CLOSE_TIME: Final = _key(3, _WIRE_VARINT)
_CANDLE_OPEN: Final = _text_prefixes(4)
_CANDLE_HIGH: Final = _text_prefixes(5)
_CANDLE_LOW: Final = _text_prefixes(6)
_CANDLE_CLOSE: Final = _text_prefixes(7)
_CANDLE_VOLUME: Final = _text_prefixes(8)
_CANDLE_IS_CLOSED_TRUE: Final = _key(9, _WIRE_VARINT) + b"\x01"
_CANDLE_QUOTE_VOLUME: Final = _text_prefixes(10)
_CANDLE_TRADE_COUNT: Final = _key(11, _WIRE_VARINT)

_BUY: Final = Side.BUY
_TRADE_SIDE_BUY: Final = _string(_TRADE_SIDE, Side.BUY.value)
_TRADE_SIDE_SELL: Final = _string(_TRADE_SIDE, Side.SELL.value)
_LIQUIDATION_SIDE_BUY: Final = _string(_LIQUIDATION_SIDE, Side.BUY.value)
_LIQUIDATION_SIDE_SELL: Final = _string(_LIQUIDATION_SIDE, Side.SELL.value)


def encode_trade(p: Trade) -> bytes:
    """The ``relay.v1.Trade`` message body of a trade (no envelope key)."""
    return (
        _string(_TRADE_ID, p.trade_id)
        + (_decimal(_TRADE_PRICE, p.price) + _decimal(_TRADE_QUANTITY, p.quantity)).encode(
            "latin-1"
        )
        + (_TRADE_SIDE_BUY if p.side is _BUY else _TRADE_SIDE_SELL)
    )


def encode_ticker(p: Ticker) -> bytes:
    """The ``relay.v1.Ticker`` message body of a best bid/ask.

    Raises:
        OverflowError: ``update_id`` is outside ``0 .. 2**64 - 1``.
    """
    body = (
        _decimal(_TICKER_BID_PRICE, p.bid_price)
        + _decimal(_TICKER_BID_QUANTITY, p.bid_quantity)
        + _decimal(_TICKER_ASK_PRICE, p.ask_price)
        + _decimal(_TICKER_ASK_QUANTITY, p.ask_quantity)
    ).encode("latin-1")
    update_id = p.update_id
    if update_id is None:
        return body
    return body + _TICKER_UPDATE_ID + uint64_varint(update_id)


def _levels(prefixes: TextPrefixes, levels: tuple[PriceLevel, ...]) -> list[str]:
    """One ``PriceLevel`` field per level, in order, as latin-1 text."""
    parts: list[str] = []
    append = parts.append
    for price, quantity in levels:
        price_text = str(price)
        if "E" in price_text:
            price_text = decimal_text(price)
        quantity_text = str(quantity)
        if "E" in quantity_text:
            quantity_text = decimal_text(quantity)
        price_size = len(price_text)
        quantity_size = len(quantity_text)
        size = price_size + quantity_size + 4  # two keys, two one-byte lengths
        if size < 0x80:
            append(
                prefixes[size]
                + _LEVEL_PRICE[price_size]
                + price_text
                + _LEVEL_QUANTITY[quantity_size]
                + quantity_text
            )
        else:
            body = _decimal(_LEVEL_PRICE, price) + _decimal(_LEVEL_QUANTITY, quantity)
            size = len(body)
            prefix = prefixes[size] if size < 0x80 else _long_prefix_text(prefixes, size)
            append(prefix + body)
    return parts


def encode_l2_update(p: L2Update) -> bytes:
    """The ``relay.v1.L2Update`` message body of a book snapshot or delta.

    Raises:
        OverflowError: an update id is outside ``0 .. 2**64 - 1``.
    """
    parts = _levels(_L2_BIDS, p.bids)
    parts += _levels(_L2_ASKS, p.asks)
    body = "".join(parts).encode("latin-1")
    if p.is_snapshot:
        body += _L2_IS_SNAPSHOT_TRUE
    first_update_id = p.first_update_id
    if first_update_id is not None:
        body += _L2_FIRST_UPDATE_ID + uint64_varint(first_update_id)
    last_update_id = p.last_update_id
    if last_update_id is not None:
        body += _L2_LAST_UPDATE_ID + uint64_varint(last_update_id)
    if p.is_snapshot:
        body += (
            _L2_SNAPSHOT_PART
            + uint64_varint(p.snapshot_part)
            + _L2_SNAPSHOT_PARTS
            + uint64_varint(p.snapshot_parts)
        )
    return body


def encode_funding_rate(p: FundingRate) -> bytes:
    """The ``relay.v1.FundingRate`` message body of a funding rate.

    Raises:
        OverflowError: ``next_funding_time_ms`` is outside the int64 range.
    """
    body = (
        _decimal(_FUNDING_RATE, p.rate)
        + _optional_decimal(_FUNDING_MARK_PRICE, p.mark_price)
        + _optional_decimal(_FUNDING_INDEX_PRICE, p.index_price)
    ).encode("latin-1")
    next_funding_time_ms = p.next_funding_time_ms
    if next_funding_time_ms is None:
        return body
    return body + _FUNDING_NEXT_FUNDING_TIME + int64_varint(next_funding_time_ms)


def encode_open_interest(p: OpenInterest) -> bytes:
    """The ``relay.v1.OpenInterest`` message body of an open interest figure."""
    return _decimal(_OPEN_INTEREST, p.open_interest).encode("latin-1")


def encode_liquidation(p: Liquidation) -> bytes:
    """The ``relay.v1.Liquidation`` message body of a liquidation order."""
    return (
        (_LIQUIDATION_SIDE_BUY if p.side is _BUY else _LIQUIDATION_SIDE_SELL)
        + (
            _decimal(_LIQUIDATION_PRICE, p.price) + _decimal(_LIQUIDATION_QUANTITY, p.quantity)
        ).encode("latin-1")
        + _optional_string(_LIQUIDATION_ORDER_STATUS, p.order_status)
    )


def encode_candle(p: Candle) -> bytes:
    """The ``relay.v1.Candle`` message body of a candle.

    Raises:
        OverflowError: a time is outside the int64 range, or ``trade_count``
            outside ``0 .. 2**64 - 1``.
    """
    body = _string(_CANDLE_INTERVAL, p.interval)
    if p.open_time_ms:
        body += _CANDLE_OPEN_TIME + int64_varint(p.open_time_ms)
    if p.close_time_ms:
        body += _CANDLE_CLOSE_TIME + int64_varint(p.close_time_ms)
    body += (
        _decimal(_CANDLE_OPEN, p.open)
        + _decimal(_CANDLE_HIGH, p.high)
        + _decimal(_CANDLE_LOW, p.low)
        + _decimal(_CANDLE_CLOSE, p.close)
        + _decimal(_CANDLE_VOLUME, p.volume)
    ).encode("latin-1")
    if p.is_closed:
        body += _CANDLE_IS_CLOSED_TRUE
    if p.quote_volume is not None:
        body += _decimal(_CANDLE_QUOTE_VOLUME, p.quote_volume).encode("latin-1")
    if p.trade_count is not None:
        body += _CANDLE_TRADE_COUNT + uint64_varint(p.trade_count)
    return body


_PAYLOAD_ENCODERS: Final[dict[type, tuple[Prefixes, Callable[[Any], bytes]]]] = {
    Trade: (_ENV_TRADE, encode_trade),
    Ticker: (_ENV_TICKER, encode_ticker),
    L2Update: (_ENV_L2_UPDATE, encode_l2_update),
    FundingRate: (_ENV_FUNDING_RATE, encode_funding_rate),
    OpenInterest: (_ENV_OPEN_INTEREST, encode_open_interest),
    Liquidation: (_ENV_LIQUIDATION, encode_liquidation),
    Candle: (_ENV_CANDLE, encode_candle),
}
"""Each payload class's ``oneof`` field (its prefix table) and body encoder."""


@functools.lru_cache(maxsize=4096)
def _envelope_head(venue: str, instrument: str, canonical_symbol: str, data_type: str) -> bytes:
    """Envelope fields 1-4, which repeat for every event of one instrument and data type.

    Cached (bounded): a look-up costs a quarter of encoding the four strings.
    """
    return (
        _string(_ENV_VENUE, venue)
        + _string(_ENV_INSTRUMENT, instrument)
        + _string(_ENV_CANONICAL_SYMBOL, canonical_symbol)
        + _string(_ENV_DATA_TYPE, data_type)
    )


def encode_event(event: MarketEvent, sequence: int) -> bytes:
    """The serialized ``relay.v1.MarketEvent`` of ``event`` with the relay's ``sequence``.

    Byte for byte what ``bytes(event_to_message(event, sequence))`` (betterproto) writes.

    Raises:
        InvalidValueError: ``sequence`` is negative.
        UnsupportedPayloadError: the payload is not a payload class.
        OverflowError: ``sequence`` is above ``2**64 - 1``, or a time or id is
            outside its protobuf integer range.
    """
    if sequence < 0:
        raise InvalidValueError("sequence", sequence, "must be >= 0")
    payload = event.payload
    try:
        field, encode_payload = _PAYLOAD_ENCODERS[type(payload)]
    except KeyError:
        raise UnsupportedPayloadError(type(payload)) from None
    body = encode_payload(payload)
    size = len(body)
    instrument = event.instrument
    received_at_ms = event.received_at_ms
    exchange_timestamp_ms = event.exchange_timestamp_ms
    return b"".join(
        (
            _envelope_head(
                instrument.venue,
                instrument.instrument,
                instrument.canonical_symbol,
                event.data_type._value_,
            ),
            _ENV_RECEIVED_AT + int64_varint(received_at_ms) if received_at_ms else b"",
            b""
            if exchange_timestamp_ms is None
            else _ENV_EXCHANGE_TIMESTAMP + int64_varint(exchange_timestamp_ms),
            _ENV_SEQUENCE + uint64_varint(sequence) if sequence else b"",
            b"" if event.source is _WS else _string(_ENV_SOURCE, event.source._value_),
            field[size] if size < 0x80 else _long_prefix(field, size),
            body,
        )
    )
