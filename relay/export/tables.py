"""Decoded stream messages to Arrow tables, one per data type (pure: no I/O).

The columns of every table, in order:

- ``subject``, ``msg_id`` (``Nats-Msg-Id``), ``stream_sequence`` (uint64) and
  ``stored_at`` (timestamp[ms, UTC]: when JetStream stored the message);
- the envelope (``docs/wire-format.md``): ``venue``, ``instrument``,
  ``canonical_symbol``, ``data_type``, ``sequence`` (uint64), ``received_at``
  and ``exchange_timestamp`` (timestamp[ms, UTC], the latter nullable);
- the payload's fields under their wire names (``payload.type`` is left out:
  one table holds one data type). Which fields are decimals, times and book
  levels is read from the domain's payload classes
  (:data:`relay.serialization.codec.PAYLOAD_TYPE`): a ``Decimal`` field is a
  ``decimal128(precision, scale)`` column, the least precision and scale
  holding every value of the table exactly, or a ``string`` column (the wire
  text) when that needs more than 38 digits; an ``int`` field ending in
  ``_ms`` (``open_time_ms`` on the wire ``open_time``) is timestamp[ms, UTC];
  ``bids`` / ``asks`` are ``list<struct<price, quantity>>`` of decimals the
  same way; other fields keep their wire type (string, bool, int64).
"""

from __future__ import annotations

import dataclasses
import datetime
import types
import typing
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

import pyarrow as pa

from relay.serialization.codec import PAYLOAD_TYPE, WireDict

MAX_DECIMAL128_DIGITS: Final = 38
"""The most digits a decimal128 column holds."""

TIMESTAMP: Final = pa.timestamp("ms", tz="UTC")

LEVEL_FIELDS: Final = frozenset({"bids", "asks"})


@dataclass(frozen=True, slots=True)
class StoredMessage:
    """One stream message, decoded.

    Attributes:
        subject: ``market.binance-usdm.sushi-usdt.trade``.
        msg_id: its ``Nats-Msg-Id`` header ("" when absent).
        stream_sequence: JetStream's sequence of the message in its stream.
        stored_at: when JetStream stored it (UTC).
        envelope: the wire dict (``relay.serialization`` decoders' output).
    """

    subject: str
    msg_id: str
    stream_sequence: int
    stored_at: datetime.datetime
    envelope: WireDict


@dataclass(frozen=True, slots=True)
class FieldKinds:
    """The wire names of one payload type's decimal and time fields."""

    decimals: frozenset[str]
    times: frozenset[str]


def _payload_kinds() -> dict[str, FieldKinds]:
    kinds: dict[str, FieldKinds] = {}
    for cls, word in PAYLOAD_TYPE.items():
        hints = typing.get_type_hints(cls)
        decimals: set[str] = set()
        times: set[str] = set()
        for field in dataclasses.fields(cls):
            hint = hints[field.name]
            members = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
            if Decimal in members:
                decimals.add(field.name)
            elif int in members and field.name.endswith("_ms"):
                times.add(field.name.removesuffix("_ms"))
        kinds[word] = FieldKinds(frozenset(decimals), frozenset(times))
    return kinds


PAYLOAD_KINDS: Final = _payload_kinds()
"""Payload type word (``"candle"``) -> its decimal and time fields, by wire name."""


def decimal_type(texts: Iterable[str | None]) -> pa.DataType:
    """The least ``decimal128`` holding every decimal text exactly, or ``pa.string()``.

    ``["7.6110", "12.5"]`` -> ``decimal128(6, 4)``; a value needing more than 38
    digits (or none at all) -> ``string``. ``None`` values are skipped.
    """
    integer_digits, scale, seen = 0, 0, False
    for text in texts:
        if text is None:
            continue
        _, digits, exponent = Decimal(text).as_tuple()
        if not isinstance(exponent, int):
            return pa.string()
        seen = True
        scale = max(scale, -exponent)
        integer_digits = max(integer_digits, len(digits) + exponent)
    precision = integer_digits + scale
    if not seen or precision > MAX_DECIMAL128_DIGITS:
        return pa.string()
    return pa.decimal128(max(precision, 1), scale)


def _decimal_values(texts: Sequence[str | None], kind: pa.DataType) -> list[Any]:
    if pa.types.is_string(kind):
        return list(texts)
    return [None if text is None else Decimal(text) for text in texts]


def _timestamp_array(values: Sequence[int | None]) -> pa.Array:
    return pa.array(values, type=pa.int64()).cast(TIMESTAMP)


def _levels_array(rows: Sequence[list[list[str]]]) -> pa.Array:
    prices = decimal_type(price for levels in rows for price, _ in levels)
    quantities = decimal_type(qty for levels in rows for _, qty in levels)
    kind = pa.list_(pa.struct([("price", prices), ("quantity", quantities)]))
    values = [
        [
            {
                "price": _decimal_values([price], prices)[0],
                "quantity": _decimal_values([qty], quantities)[0],
            }
            for price, qty in levels
        ]
        for levels in rows
    ]
    return pa.array(values, type=kind)


def build_table(messages: Sequence[StoredMessage]) -> pa.Table:
    """One table of messages of one data type, in the given order (see the module docstring).

    Args:
        messages: at least one message; all of one ``data_type``.

    Raises:
        ValueError: ``messages`` is empty.
        KeyError: a payload type is not one of the seven.
    """
    if not messages:
        raise ValueError("no messages")
    envelopes = [m.envelope for m in messages]
    columns: dict[str, pa.Array] = {
        "subject": pa.array([m.subject for m in messages], type=pa.string()),
        "msg_id": pa.array([m.msg_id for m in messages], type=pa.string()),
        "stream_sequence": pa.array([m.stream_sequence for m in messages], type=pa.uint64()),
        "stored_at": pa.array([m.stored_at for m in messages], type=TIMESTAMP),
    }
    for key in ("venue", "instrument", "canonical_symbol", "data_type"):
        columns[key] = pa.array([e[key] for e in envelopes], type=pa.string())
    columns["sequence"] = pa.array([e["sequence"] for e in envelopes], type=pa.uint64())
    columns["received_at"] = _timestamp_array([e["received_at"] for e in envelopes])
    columns["exchange_timestamp"] = _timestamp_array([e["exchange_timestamp"] for e in envelopes])
    payloads = [e["payload"] for e in envelopes]
    kinds = PAYLOAD_KINDS[payloads[0]["type"]]
    names = [name for name in payloads[0] if name != "type"]
    for name in names:
        values = [p.get(name) for p in payloads]
        if name in LEVEL_FIELDS:
            columns[name] = _levels_array(values)
        elif name in kinds.decimals:
            kind = decimal_type(values)
            columns[name] = pa.array(_decimal_values(values, kind), type=kind)
        elif name in kinds.times:
            columns[name] = _timestamp_array(values)
        else:
            columns[name] = pa.array(values)
    return pa.table(columns)


def build_tables(messages: Iterable[StoredMessage]) -> dict[str, pa.Table]:
    """Messages grouped by envelope ``data_type`` (in first-seen order), one table each."""
    groups: defaultdict[str, list[StoredMessage]] = defaultdict(list)
    for message in messages:
        groups[message.envelope["data_type"]].append(message)
    return {data_type: build_table(group) for data_type, group in groups.items()}
