"""parse_decimal and its plain-decimal shortcut."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from relay.domain.errors import InvalidValueError
from relay.domain.model import parse_decimal, plain_decimal_match

BACKTRACKING_PLAIN_DECIMAL = re.compile(r"[0-9]{1,41}(?:\.[0-9]{1,40})?").fullmatch
"""The plain decimal pattern as first written, without possessive quantifiers."""

EDGE_STRINGS = (
    "0",
    "7",
    "7.6110",
    "0.0",
    "00.000",
    "0001",
    "9" * 41,
    "9" * 42,
    "9" * 41 + ".5",
    "1." + "1" * 40,
    "1." + "1" * 41,
    "",
    ".",
    ".5",
    "5.",
    "1.2.3",
    "+1",
    "-1",
    " 1",
    "1 ",
    "1_0",
    "1e3",
    "NaN",
    "Infinity",
    "\u0661",
    "\uff11",
    "1\n",
    "7.6\x00",
)


@pytest.mark.parametrize("text", EDGE_STRINGS)
def test_possessive_plain_decimal_pattern_accepts_the_same_strings(text: str) -> None:
    assert (plain_decimal_match(text) is None) == (BACKTRACKING_PLAIN_DECIMAL(text) is None)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("7.6110", "7.6110"),
        ("0001", "1"),
        ("9" * 41, "9" * 41),
        ("1e3", "1E+3"),
        (" 2.50 ", "2.50"),
        ("-0.5", "-0.5"),
        (12, "12"),
    ],
)
def test_parse_decimal_keeps_the_venue_digits(text: object, expected: str) -> None:
    assert str(parse_decimal("price", text)) == expected
    assert isinstance(parse_decimal("price", text), Decimal)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("NaN", "not finite"),
        ("1e999999", "exponent beyond +-40 (too many digits)"),
        ("9" * 42, "exponent beyond +-40 (too many digits)"),
        ("1." + "1" * 41, "exponent beyond +-40 (too many digits)"),
        ("1.2.3", "not a decimal number"),
        (True, "expected a decimal string"),
        (1.5, "expected a decimal string"),
    ],
)
def test_parse_decimal_refuses_what_it_cannot_bound(text: object, reason: str) -> None:
    with pytest.raises(InvalidValueError) as info:
        parse_decimal("price", text)
    assert (info.value.field, info.value.value, info.value.reason) == ("price", text, reason)
