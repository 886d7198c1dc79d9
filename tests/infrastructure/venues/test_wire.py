"""wire.levels: the one-pass check of plain levels and the level-by-level path agree."""

from __future__ import annotations

import enum
from decimal import Decimal
from typing import Any

import pytest

from relay.domain.errors import InvalidValueError
from relay.infrastructure.venues.common import wire


class Word(enum.Enum):
    PRICE = "7.5"


class Text(str):
    pass


def outcome(raw: Any) -> tuple[Any, ...]:
    try:
        return ("ok", wire.levels("b", raw))
    except InvalidValueError as exc:
        return ("refused", exc.field, exc.value, exc.reason)


def level_by_level(raw: Any) -> tuple[Any, ...]:
    """What wire.levels answers, computed with wire.price and wire.quantity only."""
    try:
        if not isinstance(raw, list):
            raise InvalidValueError("b", raw, "expected a list of [price, quantity]")
        result = []
        for level in raw:
            if type(level) is not list or len(level) != 2:
                raise InvalidValueError("b", level, "expected [price, quantity]")
            result.append((wire.price("price", level[0]), wire.quantity("quantity", level[1])))
        return ("ok", tuple(result))
    except InvalidValueError as exc:
        return ("refused", exc.field, exc.value, exc.reason)


def test_plain_levels_become_decimal_pairs_with_the_venue_digits() -> None:
    assert wire.levels("b", [["7.6110", "2"], ["0.00010", "0"]]) == (
        (Decimal("7.6110"), Decimal("2")),
        (Decimal("0.00010"), Decimal("0")),
    )
    assert str(wire.levels("b", [["7.6110", "2.50"]])[0][1]) == "2.50"
    assert wire.levels("b", []) == ()


@pytest.mark.parametrize(
    "raw",
    [
        [["7.5", "1"], ["0.000", "2"]],
        [["7.5", "1"], ["0", "2"], ["-1", "2"]],
        [["7.5", "1"], ["1", "-2"]],
        [["7.5", "1"], ("7.5", "1")],
        [["7.5", "1"], ["7.5"]],
        [["7.5", "1", "2"]],
        [[Text("7.5"), "1"]],
        [[Word.PRICE, "1"]],
        [["7.5", 1]],
        [[7.5, "1"]],
        [["1e3", "1"]],
        [[" 7.5", "1"]],
        [["9" * 42, "1"]],
        [["7.5", "1." + "1" * 41]],
        [["\u0661", "1"]],
        [["7.5", True]],
        [["7.5", None]],
        ["12"],
        [{"7.5": "1"}],
        ("7.5", "1"),
        "7.5",
        None,
    ],
)
def test_levels_refuse_and_accept_exactly_as_level_by_level_checks(raw: Any) -> None:
    assert outcome(raw) == level_by_level(raw)


def test_zero_price_is_refused_with_the_venue_string() -> None:
    with pytest.raises(InvalidValueError) as info:
        wire.levels("b", [["7.5", "1"], ["0.00", "2"]])
    assert (info.value.field, info.value.value, info.value.reason) == (
        "price",
        "0.00",
        "expected a price > 0",
    )


def test_tuple_level_is_refused_though_it_writes_the_same_json() -> None:
    with pytest.raises(InvalidValueError) as info:
        wire.levels("b", [["7.5", "1"], ("7.6", "1")])
    assert (info.value.field, info.value.value) == ("b", ("7.6", "1"))


class Count(int):
    pass


@pytest.mark.parametrize(
    ("raw", "accepted"),
    [
        (0, True),
        (2**63 - 1, True),
        (Count(5), True),
        (2**63, False),
        (-1, False),
        (Count(-1), False),
        (True, False),
        (False, False),
        (1.0, False),
        ("1", False),
        (None, False),
    ],
)
def test_integer_takes_ints_in_range_and_refuses_bools_floats_and_strings(
    raw: Any, accepted: bool
) -> None:
    if accepted:
        assert wire.integer("u", raw) == raw
    else:
        with pytest.raises(InvalidValueError, match=r": expected an integer in 0\.\.2\*\*63-1$"):
            wire.integer("u", raw)


def read(fn: Any, raw: Any) -> str:
    try:
        return str(fn("p", raw))
    except InvalidValueError as exc:
        return exc.reason


@pytest.mark.parametrize(
    ("raw", "as_price", "as_quantity"),
    [
        ("7.6110", "7.6110", "7.6110"),
        ("0.000", "expected a price > 0", "0.000"),
        ("-1", "expected a price > 0", "expected a quantity >= 0"),
        ("1e3", "1E+3", "1E+3"),
        (" 1", "1", "1"),
        ("NaN", "not finite", "not finite"),
        (
            "9" * 42,
            "exponent beyond +-40 (too many digits)",
            "exponent beyond +-40 (too many digits)",
        ),
        (Text("2.5"), "2.5", "2.5"),
        (3, "3", "3"),
        (True, "expected a decimal string", "expected a decimal string"),
    ],
)
def test_price_and_quantity_read_plain_strings_and_the_rest_alike(
    raw: Any, as_price: str, as_quantity: str
) -> None:
    assert (read(wire.price, raw), read(wire.quantity, raw)) == (as_price, as_quantity)
