"""The hot-standby leader lease (relay.infrastructure.nats.lease) on a real nats-server.

Three processes' leases are played by three :class:`LeaderLease` objects on one
server: who wins, when a standby may take over (never before ``lease_ttl_s``
after the last renewal it saw), a clean release, and the fencing of a leader
whose renewal is refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

import nats
import pytest
from nats.js import JetStreamContext

from relay.config.cluster import ClusterConfig, ReplicaMode
from relay.infrastructure.embedded_nats import EmbeddedNats
from relay.infrastructure.nats.lease import LEASE_BUCKET, LeaderLease, lease_key

pytestmark = pytest.mark.integration

CLUSTER = ClusterConfig(group="g", shards=2, shard=1, mode=ReplicaMode.HOT_STANDBY, lease_ttl_s=1.0)


class Replica:
    """One lease and what it was told: when it led, and why it lost the lease."""

    def __init__(self, name: str, cluster: ClusterConfig = CLUSTER) -> None:
        self.led = asyncio.Event()
        self.led_at = 0.0
        self.lost: list[str] = []
        self.lease = LeaderLease(cluster, self._on_leader, self.lost.append, holder=name)
        self.task: asyncio.Task[None] | None = None

    async def _on_leader(self) -> None:
        self.led_at = time.monotonic()
        self.led.set()

    def start(self, js: JetStreamContext) -> None:
        self.task = asyncio.create_task(self.lease.run(js))

    async def crash(self) -> None:
        """Stop renewing without giving the lease back (SIGKILL)."""
        assert self.task is not None
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task


@contextlib.asynccontextmanager
async def jetstream() -> AsyncIterator[JetStreamContext]:
    async with EmbeddedNats() as server:
        nc = await nats.connect(server.url)
        try:
            yield nc.jetstream(timeout=2.0)
        finally:
            await nc.close()


async def test_one_replica_leads_and_a_standby_takes_over_only_a_ttl_after_it_stopped() -> None:
    async with jetstream() as js:
        a, b = Replica("a"), Replica("b")
        a.start(js)
        await asyncio.wait_for(a.led.wait(), 10)
        b.start(js)
        kv = await js.key_value(LEASE_BUCKET)
        assert (await kv.get(lease_key(CLUSTER))).value == b"a"
        assert lease_key(CLUSTER) == "g.1-of-2"
        await a.crash()
        crashed_at = time.monotonic()
        await asyncio.wait_for(b.led.wait(), 10)
        assert b.led_at - crashed_at >= CLUSTER.lease_ttl_s * 0.75
        assert (await kv.get(lease_key(CLUSTER))).value == b"b"
        assert (a.lost, b.lost) == ([], [])
        await b.crash()


async def test_a_released_lease_is_taken_within_a_poll_not_a_ttl() -> None:
    """With a 30 s TTL, only the release lets the standby lead within 10 s."""
    long_ttl = ClusterConfig(group="g", mode=ReplicaMode.HOT_STANDBY, lease_ttl_s=30.0)
    async with jetstream() as js:
        a, c = Replica("a", long_ttl), Replica("c", long_ttl)
        a.start(js)
        await asyncio.wait_for(a.led.wait(), 10)
        c.start(js)
        await a.lease.release()
        await a.crash()
        await asyncio.wait_for(c.led.wait(), 10)
        kv = await js.key_value(LEASE_BUCKET)
        assert (await kv.get(lease_key(long_ttl))).value == b"c"
        await c.crash()


async def test_a_leader_whose_renewal_is_refused_is_told_at_once() -> None:
    async with jetstream() as js:
        a = Replica("a")
        a.start(js)
        await asyncio.wait_for(a.led.wait(), 10)
        kv = await js.key_value(LEASE_BUCKET)
        await kv.put(lease_key(CLUSTER), b"intruder")
        assert a.task is not None
        await asyncio.wait_for(a.task, 10)
        assert a.lost == ["another relay holds the lease"]
        assert not a.lease.leader
