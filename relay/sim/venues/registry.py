"""The simulator's venue registry: each venue's simulated side, by venue id.

The production registry (:mod:`relay.infrastructure.venues.registry`) knows
nothing of the simulator; a module under ``relay.sim.venues`` registers, for
each venue id it covers, the venue side answering what a client sends and/or
the builder of book-accurate REST snapshots. The simulator looks sides up here
by id and never tests a venue name.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from relay.application.registry import Registry
from relay.infrastructure.venues.registry import VENUE_MODULES
from relay.sim.books import SnapshotBuilder, SnapshotBuilderFactory
from relay.sim.rest_answers import RestAnswers, RestAnswersFactory


class SimulatedVenue(Protocol):
    """The venue's side of one connection served by ``relay simulate``.

    The simulator replays recorded frames; this object answers what the client
    sends the way the venue would (pongs, subscribe acknowledgements, a fresh
    book snapshot when a book channel is subscribed again).
    """

    def on_frame_passed(self, frame: str) -> Sequence[str] | None:
        """A recorded venue frame the replay passed (sent, or skipped by a fault).

        Returns:
            None: the recorded frame is sent as it is (every side but Bitfinex's);
            else the frames to send in its place, in order (none: the frame is
            not sent, as a venue stops sending a channel once unsubscribed). A
            skipped frame sends nothing either way.
        """
        ...

    def on_client_frame(self, frame: str) -> Sequence[str]:
        """Text frames to send back for a frame the client sent (may be empty)."""
        ...


@dataclass(frozen=True, slots=True)
class SimulatedSide:
    """What the simulator adds to the recorded frames of one venue id.

    Attributes:
        venue_id: the venue id, as in the capture header (``"okx"``).
        venue: builds the venue side of one simulated connection (None:
            recorded frames only, client frames ignored).
        snapshot_builder: builds, from the ``recv`` frame texts of each recorded
            connection, the REST book snapshots as of the replay's position
            (None: recorded snapshots are served as they are).
        rest_answers: builds, from the same frame texts, the answers to REST
            requests the recording holds no answer for (open interest, recent
            trades, book tickers; :mod:`relay.sim.rest_answers`); None: 404.
    """

    venue_id: str
    venue: Callable[[], SimulatedVenue] | None = None
    snapshot_builder: SnapshotBuilderFactory | None = None
    rest_answers: RestAnswersFactory | None = None


_REGISTRY: Registry[SimulatedSide] = Registry(f"relay.sim.venues.{name}" for name in VENUE_MODULES)
"""Each venue package's simulated side is the module of the same name under ``relay.sim.venues``."""


def register_simulated(side: SimulatedSide) -> SimulatedSide:
    """Add a venue id's simulated side; a second registration of the id replaces the first."""
    return _REGISTRY.register(side.venue_id, side)


def simulated_side(venue_id: str) -> SimulatedSide | None:
    """The simulated side registered for ``venue_id``, or None (recorded frames only)."""
    return _REGISTRY.entries().get(venue_id)


def simulated_venue_ids() -> tuple[str, ...]:
    """Every venue id with a registered simulated side, sorted."""
    return tuple(sorted(_REGISTRY.entries()))


def simulated_venue(venue_id: str) -> Callable[[], SimulatedVenue] | None:
    """The factory of ``venue_id``'s venue side, or None if it answers nothing."""
    side = simulated_side(venue_id)
    return None if side is None else side.venue


def snapshot_builder_for(
    venue_id: str, connections: Sequence[Sequence[str]]
) -> SnapshotBuilder | None:
    """The snapshot builder for a capture's venue, if one is registered.

    Args:
        venue_id: the capture header's venue, e.g. ``"binance-usdm"``.
        connections: the ``recv`` frame texts of each recorded connection.

    Returns:
        A builder from the venue's :attr:`SimulatedSide.snapshot_builder`, or
        ``None`` (the recorded snapshots are served as they are).
    """
    side = simulated_side(venue_id)
    if side is None or side.snapshot_builder is None:
        return None
    return side.snapshot_builder(connections)


def rest_answers_for(venue_id: str, connections: Sequence[Sequence[str]]) -> RestAnswers | None:
    """The derived REST answers for a capture's venue, if its side registers them.

    Args:
        venue_id: the capture header's venue, e.g. ``"binance-usdm"``.
        connections: the ``recv`` frame texts of each recorded connection.
    """
    side = simulated_side(venue_id)
    if side is None or side.rest_answers is None:
        return None
    return side.rest_answers(connections)
