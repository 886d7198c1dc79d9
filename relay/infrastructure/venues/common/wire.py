"""Venue frames in: the one JSON decoder path of every venue, and readers of wire fields.

Decoding: :func:`frame_object` (orjson; numbers as int / float) and
:func:`exact_object` (numbers with a fraction or exponent as Decimal of the
digits sent, for venues whose checksums or prices are JSON numbers) are the
only ways a venue module reads a frame; both refuse, as ``FrameError("not_json")``,
everything that is not UTF-8 JSON text: invalid UTF-8, lone surrogates, NaN and
Infinity, truncated text, nesting deeper than about 1,000 levels. The simulated
venue sides read frames through :func:`parse_object`, which answers None instead.

Field readers: each raises :class:`relay.domain.errors.InvalidValueError` naming
the field; venue modules turn it into a ``FrameError("invalid_value", ...)``.
Error details show venue values through :func:`brief` only (bounded, recursion-free).
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from itertools import chain
from typing import Any

import orjson

from relay.application import errors
from relay.application.errors import FrameError
from relay.domain.errors import InvalidValueError, bounded_repr
from relay.domain.model import (
    PLAIN_DECIMAL_PATTERN,
    PriceLevel,
    parse_decimal,
    plain_decimal_match,
)

MAX_ID = 2**63 - 1
"""Largest update id, trade id or epoch ms accepted (the wire's int64); larger ones are refused."""

DETAIL_CHARS = errors.DETAIL_CHARS
"""FrameError details are cut to this many characters (a frame may be megabytes long)."""

_PLAIN = PLAIN_DECIMAL_PATTERN.encode()
_PLAIN_LEVEL = rb'\["(?![0.]*+")' + _PLAIN + rb'","' + _PLAIN + rb'"\]'
_plain_levels_json = re.compile(
    rb"\[(?:" + _PLAIN_LEVEL + rb"(?:," + _PLAIN_LEVEL + rb")*+)?+\]"
).fullmatch
"""Matches the JSON text of a list of ``[price, quantity]`` lists of plain decimal
strings whose prices are not zero (the lookahead refuses a price of only ``0`` and ``.``)."""

_list_iter = list.__iter__
"""Iterates a list; raises TypeError for anything else (a tuple writes the same JSON)."""


def clip(text: str) -> str:
    """``text`` cut to :data:`DETAIL_CHARS` characters (with ``...`` when cut)."""
    return text if len(text) <= DETAIL_CHARS else f"{text[:DETAIL_CHARS]}..."


def brief(value: object) -> str:
    """A venue value as error-message text: its repr, at most :data:`DETAIL_CHARS` long.

    See :func:`relay.domain.errors.bounded_repr`: a value nested thousands deep
    or megabytes long costs neither recursion nor a copy.
    """
    return bounded_repr(value)


def label(value: object) -> str:
    """A venue word for an error message: a str as is, anything else through :func:`brief`
    (a channel name that is a list nested 5,000 deep must not cost a recursive repr)."""
    return value if type(value) is str else bounded_repr(value)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number")


def exact_json(frame: str | bytes) -> Any:
    """JSON text (str, or UTF-8 bytes) -> its value, with every number that has a
    fraction or an exponent as the Decimal of the digits sent (``json`` with
    ``parse_float=Decimal``): ``"0.10000000"`` stays ``Decimal("0.10000000")``.

    Refuses what :func:`frame_object` (orjson) refuses, so both paths accept the
    same texts: bytes that are not UTF-8, lone surrogates in a str, NaN /
    Infinity, and nesting too deep for the interpreter's recursion limit.

    Raises:
        FrameError: ``not_json``.
    """
    try:
        text = frame.decode() if isinstance(frame, bytes) else frame
        if not text.isascii():
            text.encode()  # a lone surrogate raises UnicodeEncodeError, as orjson refuses it
        return json.loads(text, parse_float=Decimal, parse_constant=_refuse_constant)
    except (RecursionError, ValueError) as exc:  # UnicodeError and JSONDecodeError included
        raise FrameError("not_json", clip(f"{type(exc).__name__}: {exc}")) from None


def _object(frame: str | bytes, message: Any) -> dict[str, Any]:
    if not isinstance(message, dict):
        raise FrameError("unknown_event", f"not an object: {brief(frame[:80])}")
    return message


def frame_object(frame: str | bytes) -> dict[str, Any]:
    """A frame of a venue whose messages are JSON objects, decoded with orjson
    (numbers as int or float; depth limit 1,024).

    Raises:
        FrameError: ``not_json`` (not JSON) or ``unknown_event`` (JSON, but not an object).
    """
    try:
        message = orjson.loads(frame)
    except orjson.JSONDecodeError as exc:
        raise FrameError("not_json", clip(str(exc))) from None
    return _object(frame, message)


def exact_object(frame: str | bytes) -> dict[str, Any]:
    """A frame that is a JSON object, decoded by :func:`exact_json` (Decimal numbers).

    Raises:
        FrameError: ``not_json`` (not JSON) or ``unknown_event`` (JSON, but not an object).
    """
    return _object(frame, exact_json(frame))


def parse_object(frame: str | bytes, *, exact: bool = False) -> dict[str, Any] | None:
    """A frame as a JSON object, or None when it is not one (simulated venues ignore
    those); ``exact``: decoded by :func:`exact_json` instead of orjson. Never raises."""
    try:
        return exact_object(frame) if exact else frame_object(frame)
    except FrameError:
        return None


def simulated_levels(raw: Any, width: int = 2) -> list[list[Any]] | None:
    """Book levels a simulated venue side may follow, or None when any is unreadable.

    ``raw`` must be a list of lists of at least ``width`` items whose items
    ``width - 2`` and ``width - 1`` (price, size) are plain unsigned decimal strings
    (``"7.6110"``); the levels come back as they are. Simulated sides
    (``relay simulate``) skip a recorded book message whose levels are None, as
    the venue would never have sent it. Never raises.
    """
    if not isinstance(raw, list):
        return None
    levels: list[list[Any]] = []
    for level in raw:
        if not isinstance(level, list) or len(level) < width:
            return None
        price, size = level[width - 2], level[width - 1]
        if not (
            isinstance(price, str)
            and isinstance(size, str)
            and plain_decimal_match(price)
            and plain_decimal_match(size)
        ):
            return None
        levels.append(level)
    return levels


def reply_json(value: Any) -> str | None:
    """JSON text of a simulated side's reply that echoes client values, or None when
    orjson cannot write it (nested deeper than 255, an int past 64 bits, a Decimal).
    Never raises."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        return None


def json_object(field: str, raw: Any) -> dict[str, Any]:
    """``raw`` if it is a JSON object."""
    if not isinstance(raw, dict):
        raise InvalidValueError(field, raw, "expected an object")
    return raw


def json_list(field: str, raw: Any) -> list[Any]:
    """``raw`` if it is a JSON list.

    Raises:
        InvalidValueError: anything else.
    """
    if not isinstance(raw, list):
        raise InvalidValueError(field, raw, "expected a list")
    return raw


def integer(field: str, raw: Any) -> int:
    """An id or epoch-ms time: a JSON integer in 0..MAX_ID; bools, floats, strings refused."""
    if (
        type(raw) is not int  # a JSON integer skips the two isinstance calls
        and (isinstance(raw, bool) or not isinstance(raw, int))
    ) or not 0 <= raw <= MAX_ID:
        raise InvalidValueError(field, raw, "expected an integer in 0..2**63-1")
    return raw


def text(field: str, raw: Any) -> str:
    """``raw`` if it is a JSON string."""
    if not isinstance(raw, str):
        raise InvalidValueError(field, raw, "expected a string")
    return raw


def decimal(field: str, raw: Any) -> Decimal:
    """A venue number as a bounded Decimal: a decimal string, an int, or a Decimal
    (a JSON number the venue module decoded with ``parse_float=Decimal``).

    Raises:
        InvalidValueError: not a number, or refused by
            :func:`~relay.domain.model.parse_decimal` (NaN, infinite, too many digits).
    """
    return parse_decimal(field, str(raw) if isinstance(raw, Decimal) else raw)


def price(field: str, raw: Any) -> Decimal:
    """A venue number (see :func:`decimal`) > 0; a plain decimal string takes a shortcut."""
    if type(raw) is str and plain_decimal_match(raw) is not None:
        value = Decimal(raw)
    else:
        value = decimal(field, raw)
    if value <= 0:
        raise InvalidValueError(field, raw, "expected a price > 0")
    return value


def quantity(field: str, raw: Any) -> Decimal:
    """A venue number (see :func:`decimal`) >= 0; a plain decimal string takes a shortcut."""
    if type(raw) is str and plain_decimal_match(raw) is not None:
        value = Decimal(raw)
    else:
        value = decimal(field, raw)
    if value < 0:
        raise InvalidValueError(field, raw, "expected a quantity >= 0")
    return value


def levels(field: str, raw: Any) -> tuple[PriceLevel, ...]:
    """``[["7.6110", "2"], ...]`` -> ((price > 0, quantity >= 0), ...).

    A list of ``[str, str]`` lists of plain decimals (prices not zero) is
    checked in one pass: orjson writes it back as JSON text and one match
    reads every level. Anything else goes level by level through
    :func:`price` and :func:`quantity`, which raise the errors.
    """
    if type(raw) is list:
        try:
            if (
                _plain_levels_json(orjson.dumps(raw, option=orjson.OPT_PASSTHROUGH_SUBCLASS))
                is not None
            ):
                values = map(Decimal, chain.from_iterable(map(_list_iter, raw)))
                return tuple(zip(values, values, strict=True))  # (price, quantity) pairs
        except TypeError:
            pass  # from dumps (a subclass, a non-JSON value), a tuple level, Decimal(an Enum)
    if not isinstance(raw, list):
        raise InvalidValueError(field, raw, "expected a list of [price, quantity]")
    result: list[PriceLevel] = []
    for level in raw:
        if type(level) is not list or len(level) != 2:
            raise InvalidValueError(field, level, "expected [price, quantity]")
        result.append((price("price", level[0]), quantity("quantity", level[1])))
    return tuple(result)
