"""Errors raised by the application layer and the venue protocols it drives."""

from __future__ import annotations

from relay.domain.errors import RelayError

DETAIL_CHARS = 200
"""A FrameError's detail is cut to this many characters (with ``...``): it is built
from venue input, which may be megabytes long."""


class FrameError(RelayError):
    """A venue frame that cannot be used; it is counted by ``reason`` and skipped.

    Attributes:
        reason: a short label for the metric (``"not_json"``, ``"unknown_event"``,
            ``"missing_field"``, ``"invalid_value"``, ``"bad_snapshot"``).
        detail: what was wrong, at most :data:`DETAIL_CHARS` characters (+ ``...``).
    """

    def __init__(self, reason: str, detail: str) -> None:
        if len(detail) > DETAIL_CHARS:
            detail = f"{detail[:DETAIL_CHARS]}..."
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail
