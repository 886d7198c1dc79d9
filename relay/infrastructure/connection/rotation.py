"""Planned rotation of a venue connection before the venue's own age limit (Binance: 24 h).

The new connection is opened and its events held; the old one keeps publishing
until it has caught up with the new one (it published an event the new one
holds, or :data:`CATCH_UP_TIMEOUT_S` passed), so frames it had not yet read when
the new one started are not lost. Then it is closed, and the held events the
old one already published are suppressed by the pipeline: nothing is missed
and nothing is published twice. The overlap itself is a
:class:`~relay.infrastructure.connection.session.Handover`.
"""

from __future__ import annotations

import asyncio
import logging

from relay.config.model import VenueConfig
from relay.infrastructure.connection.session import Handover, Session

log = logging.getLogger("relay.venue")

ROTATION_MARGIN_S = 600.0
"""A connection is rotated this long before the venue's own age limit."""

HANDOVER_TIMEOUT_S = 30.0
"""How long a rotation waits for the new connection's first frame before it gives up."""

CATCH_UP_TIMEOUT_S = 10.0
"""How long, after that first frame, the old connection may take to catch up with the new one.

Past it the old connection is closed anyway (and a warning logged): what it had
not read by then is lost, which is what a connection behind by that much risks.
"""


def rotate_after_s(config: VenueConfig, max_connection_age_s: float) -> float:
    """Seconds after which a connection is rotated; 0 means never.

    ``rotate_after_s`` from the config if set, else :data:`ROTATION_MARGIN_S`
    before the venue's ``max_connection_age_s`` (at least half of it), else 0
    when the venue has no age limit.
    """
    age_limit = max_connection_age_s
    return config.rotate_after_s or (
        max(age_limit - ROTATION_MARGIN_S, age_limit / 2) if age_limit else 0.0
    )


async def first_done(event: asyncio.Event, task: asyncio.Task[object], timeout_s: float) -> bool:
    """Wait until ``event`` is set, ``task`` ends or ``timeout_s`` passes; True if it was set."""
    waiter = asyncio.ensure_future(event.wait())
    try:
        await asyncio.wait((waiter, task), timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED)
    finally:
        waiter.cancel()
    return event.is_set()


async def hand_over(old: Session, new: Session, task: asyncio.Task[object], venue: str) -> bool:
    """Run the overlap of ``old`` (publishing) and ``new`` (holding, run by ``task``).

    Returns True once ``new`` got its first frame and ``old`` caught up with it
    (or :data:`CATCH_UP_TIMEOUT_S` passed): the caller then closes ``old`` and
    releases ``new``. Returns False, with ``old`` left as it was, when ``new``
    gave no frame within :data:`HANDOVER_TIMEOUT_S` (``new`` is closed and
    ``task`` cancelled) or ``task`` ended during the handover.
    """
    handover = old.handover = new.handover = Handover()
    if not await first_done(new.first_frame, task, HANDOVER_TIMEOUT_S):
        log.warning(
            "rotation: new connection gave no frame; keeping the old one", extra={"venue": venue}
        )
        old.handover = None
        await new.close()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return False
    if not await first_done(handover.caught_up, task, CATCH_UP_TIMEOUT_S):
        log.warning(
            "rotation: old connection did not catch up with the new one; closing it anyway",
            extra={"venue": venue},
        )
    old.handover = None
    if task.done():
        log.warning(
            "rotation: new connection ended during the handover; keeping the old one",
            extra={"venue": venue},
        )
        await asyncio.gather(task, return_exceptions=True)
        return False
    return True
