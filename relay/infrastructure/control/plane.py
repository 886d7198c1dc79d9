"""The control plane of one relay: service, runtime, bucket, status and routes, wired.

Built by the composition root from the relay's parts; :meth:`ControlPlane.open`
loads the group's runtime changes from the bucket once NATS is connected
(before the venues start), :meth:`ControlPlane.run` samples rates and follows
the bucket (other replicas' changes) until cancelled.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import MutableMapping

from nats.aio.client import Client
from starlette.routing import Mount

from relay.application.consumer_state import ConsumerState
from relay.application.control.service import ControlService, StoreError
from relay.application.health import HealthMonitor
from relay.application.pipeline import Pipeline
from relay.application.sharding import shard_of
from relay.application.subscription_manager import SubscriptionManager
from relay.config.model import RelayConfig
from relay.infrastructure.connection.venue_connection import VenueConnection
from relay.infrastructure.control.api import PREFIX, ControlApi, control_routes
from relay.infrastructure.control.runtime import ConnectionRuntime, NewConnection
from relay.infrastructure.control.status import NatsView, RelayStatus
from relay.infrastructure.control.store import ControlBucket
from relay.infrastructure.metrics import PrometheusMetrics
from relay.infrastructure.venues.registry import (
    protocol_refusal,
    registered_venues,
    supported_data_types,
)

log = logging.getLogger("relay.control")


class ControlPlane:
    """``/api/v1`` and the desired streams of one relay (see the module docstring).

    Args:
        config: the relay's config (``[control]``, ``[cluster] group``, venues).
        connections, manager, new_connection, pipeline, health, state,
        book_connections: the relay's parts the runtime changes
            (:class:`~relay.infrastructure.control.runtime.ConnectionRuntime`).
        metrics: the latency histogram.
        nats: how the status reads the NATS connection.
    """

    def __init__(
        self,
        config: RelayConfig,
        connections: MutableMapping[str, VenueConnection],
        manager: SubscriptionManager,
        new_connection: NewConnection,
        pipeline: Pipeline,
        health: HealthMonitor,
        state: ConsumerState,
        book_connections: MutableMapping[tuple[str, str], str],
        metrics: PrometheusMetrics,
        nats: NatsView,
    ) -> None:
        self.config = config.control
        self.connections = connections
        self.bucket = ControlBucket(config.control, config.cluster.group)
        self.runtime = ConnectionRuntime(
            {venue.id: venue for venue in config.venues},
            connections,
            manager,
            new_connection,
            pipeline,
            health,
            state,
            book_connections,
            config.pipeline.shutdown_timeout_s / 2,
        )
        supported = supported_data_types()
        cluster = config.cluster
        self.service = ControlService(
            config.venues,
            supported,
            self.runtime,
            self.bucket,
            refusal=protocol_refusal,
            owns=lambda venue, instrument: (
                shard_of(venue, instrument, cluster.shards) == cluster.shard
            ),
        )
        self.status = RelayStatus(
            self.service, state, health, metrics, lambda: pipeline.depth, nats
        )
        self.stopping = asyncio.Event()
        self.loaded = asyncio.Event()
        capabilities = {
            venue: {"data_types": sorted(d.value for d in supported[venue]), "depths": None}
            for venue in registered_venues()
        }
        self.api = ControlApi(
            config=config.control,
            service=self.service,
            streams=self.status.streams,
            status=self.status.status,
            venues=self.status.venues,
            reconnect=self.reconnect,
            capabilities=capabilities,
            stopping=self.stopping,
            loaded=self.loaded,
        )
        self.routes = [Mount(PREFIX, routes=control_routes(self.api))]

    async def reconnect(self, venue: str) -> bool:
        """Reconnect every connection of ``venue``; False when it has none."""
        found = [c for c in self.connections.values() if c.config.id == venue]
        for connection in found:
            await connection.reconnect()
        return bool(found)

    async def open(self, client: Client) -> None:
        """Load the group's runtime changes from the bucket (created if missing).

        A bucket that cannot be opened is logged; the relay runs on its config
        file, and changes are refused (503) until the bucket can be written.
        """
        try:
            document = await self.bucket.open(client.jetstream(timeout=5.0))
        except StoreError as exc:
            log.error(
                "control state not loaded; running on the config file", extra={"error": str(exc)}
            )
            document = None
        if document is not None:
            await self.service.follow(document, "bucket")
        self.loaded.set()

    async def run(self) -> None:
        """Sample stream rates and follow the bucket, until cancelled."""
        async with asyncio.TaskGroup() as group:
            group.create_task(self.status.run(), name="control-rates")
            group.create_task(self.bucket.watch(self._changed), name="control-watch")

    async def _changed(self, document: bytes | None) -> None:
        await self.service.follow(document, "bucket")

    def stop(self) -> None:
        """End the ``/events`` streams (the relay is stopping)."""
        self.stopping.set()
