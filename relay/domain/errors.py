"""The error root of the relay and the domain's own errors."""

from __future__ import annotations


class RelayError(Exception):
    """Root of every error the relay raises on purpose."""


class InvalidValueError(RelayError):
    """A value object was built from a value outside its domain.

    Attributes:
        field: the field that was refused (``"price"``).
        value: the refused value, as given.
    """

    def __init__(self, field: str, value: object, reason: str) -> None:
        super().__init__(f"{field}={value!r}: {reason}")
        self.field = field
        self.value = value
        self.reason = reason
