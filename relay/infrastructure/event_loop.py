"""Which asyncio event loop ``relay run`` uses: the stock one (default) or uvloop.

uvloop is not a dependency: in three alternating pairs of bench runs on the
recorded sessions it did not make the relay faster relative to the same run's
baselines (docs/performance.md, "Event loop"). ``--loop uvloop`` is there to
measure it again, on machines where it is installed.
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
from collections.abc import Callable

from relay.domain.errors import RelayError

LOOPS = ("asyncio", "uvloop")


class EventLoopError(RelayError):
    """The event loop asked for cannot be used (uvloop not installed)."""


def loop_factory(name: str) -> Callable[[], asyncio.AbstractEventLoop] | None:
    """The ``loop_factory`` for :class:`asyncio.Runner`: None for the stock loop.

    Args:
        name: one of :data:`LOOPS`.

    Raises:
        EventLoopError: ``uvloop`` was asked for and is not installed.
        ValueError: ``name`` is not one of :data:`LOOPS`.
    """
    if name not in LOOPS:
        raise ValueError(f"event loop {name!r}: expected one of {', '.join(LOOPS)}")
    if name == "asyncio":
        return None
    if importlib.util.find_spec("uvloop") is None:
        raise EventLoopError("event loop 'uvloop' asked for, but uvloop is not installed")
    factory: Callable[[], asyncio.AbstractEventLoop] = importlib.import_module(
        "uvloop"
    ).new_event_loop
    return factory
