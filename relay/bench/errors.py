"""The benchmark's one error."""

from __future__ import annotations

from relay.domain.errors import RelayError


class BenchError(RelayError):
    """The benchmark could not run: an unusable capture, a child process that died or stalled."""
