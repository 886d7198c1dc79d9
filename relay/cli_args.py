"""Flag value types shared by the ``relay`` subcommands (``argparse`` reports a ``ValueError``)."""

from __future__ import annotations

import math


def count(text: str) -> int:
    """A non-negative integer flag value (``argparse`` reports a ``ValueError``)."""
    value = int(text)
    if value < 0:
        raise ValueError(text)
    return value


def positive_count(text: str) -> int:
    """An integer flag value of at least 1."""
    value = int(text)
    if value < 1:
        raise ValueError(text)
    return value


def seconds(text: str) -> float:
    """A non-negative, finite number of seconds."""
    value = float(text)
    if not math.isfinite(value) or value < 0.0:
        raise ValueError(text)
    return value
