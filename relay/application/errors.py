"""Errors raised by the application layer and the venue protocols it drives."""

from __future__ import annotations

from relay.domain.errors import RelayError


class FrameError(RelayError):
    """A venue frame that cannot be used; it is counted by ``reason`` and skipped.

    Attributes:
        reason: a short label for the metric (``"not_json"``, ``"unknown_event"``,
            ``"missing_field"``, ``"invalid_value"``, ``"bad_snapshot"``).
    """

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail
