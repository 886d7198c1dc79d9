"""The simulator's errors."""

from __future__ import annotations

from relay.domain.errors import RelayError


class SimulatorError(RelayError):
    """The simulator was configured or used wrongly (duplicate venue, not started...)."""


class InvalidSpeedError(SimulatorError, ValueError):
    """A ``--speed`` value is neither ``realtime``, ``max`` nor a positive number.

    Also a :class:`ValueError`, so ``argparse`` reports it as a bad argument.

    Attributes:
        text: the refused value, as given.
    """

    def __init__(self, text: str) -> None:
        super().__init__(
            f"invalid speed {text!r}: expected 'realtime', 'max' or a positive number"
            " (2 = twice as fast)"
        )
        self.text = text
