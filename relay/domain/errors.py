"""The error root of the relay and the domain's own errors."""

from __future__ import annotations

import reprlib

REPR_CHARS = 200
"""Longest text :func:`bounded_repr` returns (an error message must stay a line)."""


class _BoundedRepr(reprlib.Repr):
    def repr_int(self, x: int, level: int) -> str:
        if x.bit_length() > 192:  # repr() of an int over 4,300 digits raises ValueError
            return f"<int of {x.bit_length()} bits>"
        return super().repr_int(x, level)


_REPR = _BoundedRepr()
_REPR.maxlevel = 3
_REPR.maxstring = 80
_REPR.maxlong = 60
_REPR.maxother = 80
_REPR.maxlist = _REPR.maxtuple = _REPR.maxdict = _REPR.maxset = _REPR.maxfrozenset = 6


def bounded_repr(value: object) -> str:
    """``repr(value)`` cut short: at most :data:`REPR_CHARS` characters, whatever the input.

    Containers are shown 3 levels deep and 6 items wide, strings and numbers
    80 characters long (``reprlib``), so a value nested 5,000 deep or a 1 MB
    string costs no recursion and no copy of the whole. For error messages
    built from venue input. Never raises for JSON values (dict, list, str,
    int, float, bool, None, Decimal).
    """
    text = _REPR.repr(value)
    return text if len(text) <= REPR_CHARS else f"{text[: REPR_CHARS - 3]}..."


class RelayError(Exception):
    """Root of every error the relay raises on purpose."""


class InvalidValueError(RelayError):
    """A value object was built from a value outside its domain.

    Attributes:
        field: the field that was refused (``"price"``).
        value: the refused value, as given (the message shows it through
            :func:`bounded_repr`: venue input may be megabytes long or nested
            thousands deep).
    """

    def __init__(self, field: str, value: object, reason: str) -> None:
        super().__init__(f"{field}={bounded_repr(value)}: {reason}")
        self.field = field
        self.value = value
        self.reason = reason
