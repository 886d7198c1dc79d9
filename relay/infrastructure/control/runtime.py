"""Applies a change of desired streams to the running venue connections and the pipeline.

:class:`ConnectionRuntime` is the :class:`~relay.application.control.service.StreamRuntime`
of the relay. It touches only the streams a change names:

- added: on a venue whose protocol subscribes live
  (:attr:`~relay.infrastructure.venues.registry.VenueSpec.live_subscribe`), the
  stream joins a connection of its venue and endpoint with room left (one
  already carrying the instrument first): a subscribe frame, and for a REST
  book its ``initial`` snapshot; otherwise a new connection is opened for it
  (``<venue>#<n>``). No other connection reconnects, no other book resyncs.
- removed: the pipeline drops its events from now on (also those still
  queued), its status record and book image go; the connection unsubscribes
  it (a frame, where the venue can) or is closed when it carried nothing else.
- retuned: ``paused`` and ``depth`` go to the pipeline (a book resumed or given
  another depth is resynced: that book only); ``stale_after_s`` to the
  staleness watchdog of the connections carrying it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, MutableMapping
from dataclasses import replace

from relay.application.consumer_state import ConsumerState
from relay.application.control.desired import Changes, StreamSpec
from relay.application.health import HealthMonitor
from relay.application.pipeline import Pipeline
from relay.application.subscription_manager import SubscriptionManager
from relay.config.model import SubscriptionConfig, VenueConfig
from relay.domain.model import DataType, Instrument
from relay.infrastructure.connection.venue_connection import VenueConnection
from relay.infrastructure.venues.registry import VenueSpec, venue_spec

log = logging.getLogger("relay.control")

NewConnection = Callable[[VenueSpec, str, VenueConfig], VenueConnection]
"""Builds a venue connection: (spec, name, its config) -> connection (not yet running)."""


def _groups(streams: Iterable[StreamSpec]) -> dict[tuple[str, str], list[StreamSpec]]:
    """Streams by (venue, instrument), in order."""
    groups: dict[tuple[str, str], list[StreamSpec]] = {}
    for spec in streams:
        groups.setdefault((spec.venue, spec.instrument), []).append(spec)
    return groups


class ConnectionRuntime:
    """The relay's stream runtime (see the module docstring).

    Args:
        venues: the config's venue sections by id (settings of new connections).
        connections: the relay's connections by name; changed in place.
        manager: runs the connections; new ones are added to it.
        new_connection: builds a connection.
        pipeline: drops, pauses, cuts the streams' events.
        health: reports the connections.
        state: the streams' status records and book images.
        book_connections: (venue, instrument) -> the connection carrying its book
            (where a book resync is sent); changed in place.
        stop_timeout_s: how long a closed connection may take to finish its frame.
    """

    def __init__(
        self,
        venues: MutableMapping[str, VenueConfig],
        connections: MutableMapping[str, VenueConnection],
        manager: SubscriptionManager,
        new_connection: NewConnection,
        pipeline: Pipeline,
        health: HealthMonitor,
        state: ConsumerState,
        book_connections: MutableMapping[tuple[str, str], str],
        stop_timeout_s: float = 5.0,
    ) -> None:
        self.venues = venues
        self.connections = connections
        self.manager = manager
        self.new_connection = new_connection
        self.pipeline = pipeline
        self.health = health
        self.state = state
        self.book_connections = book_connections
        self.stop_timeout_s = stop_timeout_s

    async def apply(self, changes: Changes) -> None:
        """Remove, add, then retune (see the module docstring)."""
        for (venue, instrument), specs in _groups(changes.removed).items():
            await self._remove(venue, instrument, [s.data_type for s in specs])
        for (venue, instrument), specs in _groups(changes.added).items():
            await self._add(venue, instrument, specs)
        for old, new in changes.retuned:
            self._retune(old, new)

    async def _remove(self, venue: str, instrument: str, data_types: list[DataType]) -> None:
        for data_type in data_types:
            self.pipeline.forget(venue, instrument, data_type)
            self.state.remove_stream(venue, instrument, data_type)
        if DataType.L2_ORDERBOOK in data_types:
            self.book_connections.pop((venue, instrument), None)
        for name, connection in list(self.connections.items()):
            if connection.config.id != venue or not connection.carries(instrument):
                continue
            if await connection.unsubscribe(instrument, data_types):
                log.info("closing venue connection: nothing left on it", extra={"venue": name})
                del self.connections[name]
                await self.manager.remove(name, self.stop_timeout_s)
                self.health.remove_connection(name)

    async def _add(self, venue: str, instrument: str, specs: list[StreamSpec]) -> None:
        first = specs[0]
        data_types = tuple(s.data_type for s in specs)
        book = next((s for s in specs if s.data_type is DataType.L2_ORDERBOOK), None)
        candle = next((s for s in specs if s.data_type is DataType.CANDLE), first)
        subscription = SubscriptionConfig(
            instrument=instrument,
            canonical_symbol=first.canonical_symbol,
            data_types=data_types,
            depth=book.depth if book is not None else 0,
            candle_interval=candle.candle_interval,
        )
        for spec in specs:
            self.pipeline.restore(venue, instrument, spec.data_type, spec.depth)
            self.pipeline.set_paused(venue, instrument, spec.data_type, spec.paused)
        stale = {s.data_type: s.stale_after_s for s in specs}
        registered = venue_spec(venue)
        base = self.venues.get(venue) or VenueConfig(id=venue, subscriptions=())
        whole = replace(base, subscriptions=(subscription,))
        parts = (
            list(registered.split_connections(whole)) if registered.split_connections else [whole]
        )
        for part in parts:
            if not part.subscriptions:
                continue
            sub = part.subscriptions[0]
            target = self._joinable(registered, part, instrument)
            if target is not None and await target.subscribe(sub, stale):
                name = target.name
            else:
                name = self._free_name(venue)
                target = self.new_connection(registered, name, part)
                for data_type in sub.data_types:
                    target.set_stale_after(instrument, data_type, stale.get(data_type, 0.0))
                self.connections[name] = target
                self.health.add_connection(name)
                self.manager.add(name, target)
                log.info("opening venue connection for a runtime stream", extra={"venue": name})
            for data_type in sub.data_types:
                self.state.add_stream(
                    Instrument(venue, instrument, first.canonical_symbol), data_type, name
                )
                if data_type is DataType.L2_ORDERBOOK:
                    self.book_connections[(venue, instrument)] = name

    def _joinable(
        self, registered: VenueSpec, part: VenueConfig, instrument: str
    ) -> VenueConnection | None:
        """A connection the stream can join live: same venue and endpoint, room left."""
        if not registered.live_subscribe:
            return None
        size = registered.max_subscriptions_per_connection
        candidates = [
            c
            for c in self.connections.values()
            if c.config.id == part.id
            and c.config.ws_url == part.ws_url
            and (c.carries(instrument) or not size or len(c.config.subscriptions) < size)
        ]
        candidates.sort(key=lambda c: not c.carries(instrument))
        return candidates[0] if candidates else None

    def _free_name(self, venue: str) -> str:
        """``<venue>`` if unused, else the first unused ``<venue>#<n>``."""
        if venue not in self.connections and venue not in self.health.venues:
            return venue
        n = 2
        while f"{venue}#{n}" in self.connections or f"{venue}#{n}" in self.health.venues:
            n += 1
        return f"{venue}#{n}"

    def _retune(self, old: StreamSpec, new: StreamSpec) -> None:
        venue, instrument, data_type = new.key
        if old.paused != new.paused:
            self.pipeline.set_paused(venue, instrument, data_type, new.paused)
        if old.depth != new.depth and data_type is DataType.L2_ORDERBOOK:
            self.pipeline.set_depth(venue, instrument, new.depth)
        if old.stale_after_s != new.stale_after_s:
            for connection in self.connections.values():
                if connection.config.id == venue and any(
                    s.instrument == instrument and data_type in s.data_types
                    for s in connection.config.subscriptions
                ):
                    connection.set_stale_after(instrument, data_type, new.stale_after_s)
