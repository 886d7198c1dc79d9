"""The hot-standby leader lease (relay.infrastructure.nats.lease) on a real nats-server.

Three processes' leases are played by three :class:`LeaderLease` objects on one
server: who wins, when a standby may take over (never before ``lease_ttl_s``
after the last renewal it saw), a clean release, and the fencing of a leader
whose renewal is refused. The faults of a leader's renewals: the server hung
(SIGSTOP), and one leader's network path stalled (``support.tcp_proxy``) in one or
both directions, with or without a standby taking the lease meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import AsyncIterator, Callable

import nats
import pytest
from nats.js import JetStreamContext
from support.tcp_proxy import StallingProxy

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
        self.suspended: list[tuple[bool, float]] = []
        """(suspended, monotonic time) of each ``on_suspended`` call."""
        self.lease = LeaderLease(
            cluster, self._on_leader, self.lost.append, self._on_suspended, holder=name
        )
        self.task: asyncio.Task[None] | None = None

    def _on_suspended(self, suspended: bool) -> None:
        self.suspended.append((suspended, time.monotonic()))

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


async def until(condition: Callable[[], bool], what: str, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)


async def test_a_leader_on_a_hung_server_is_suspended_then_leads_again_when_it_answers() -> None:
    """No renewal acknowledged for 0.75 x TTL: suspended (publishing held), not lost. The
    server answers again and nobody else wrote the key: the same revision's
    compare-and-set succeeds and the leader leads on."""
    async with EmbeddedNats() as server:
        nc = await nats.connect(server.url)
        try:
            a = Replica("a")
            a.start(nc.jetstream(timeout=2.0))
            await asyncio.wait_for(a.led.wait(), 10)
            server.send_signal(signal.SIGSTOP)
            stopped_at = time.monotonic()
            await until(lambda: len(a.suspended) == 1, "a suspended")
            suspended_after_s = a.suspended[0][1] - stopped_at
            server.send_signal(signal.SIGCONT)
            await until(lambda: len(a.suspended) == 2, "a renewing again")
            kv = await nc.jetstream(timeout=2.0).key_value(LEASE_BUCKET)
            holder = (await kv.get(lease_key(CLUSTER))).value
            await a.crash()
        finally:
            await nc.close()
    print(f"\nhung server -> suspended after {suspended_after_s:.3f} s")
    assert [flag for flag, _ in a.suspended] == [True, False]
    assert (a.lost, a.lease.leader, a.lease.suspended, holder) == ([], True, False, b"a")


@pytest.mark.parametrize("stalled", [("up", "down"), ("down",)], ids=["both", "answers only"])
async def test_a_leader_cut_off_is_suspended_before_a_standby_leads_and_then_lost(
    stalled: tuple[str, ...],
) -> None:
    """Leader a reaches the server through a proxy that stalls (both directions: nothing
    gets through; answers only: its renewals are stored but never acknowledged, and
    then refused); standby b is connected directly. a is suspended before b takes the
    lease (the fencing order); when a's path flows again its renewal is refused and
    the key names b: the lease is lost."""
    async with EmbeddedNats() as server, StallingProxy(server.port).running() as proxy:
        via_proxy = await nats.connect(proxy.url)
        direct = await nats.connect(server.url)
        try:
            a, b = Replica("a"), Replica("b")
            a.start(via_proxy.jetstream(timeout=2.0))
            await asyncio.wait_for(a.led.wait(), 10)
            b.start(direct.jetstream(timeout=2.0))
            proxy.stall(*stalled)
            await asyncio.wait_for(b.led.wait(), 10)
            proxy.flow()
            assert a.task is not None
            await asyncio.wait_for(a.task, 10)
            await b.crash()
        finally:
            await via_proxy.close()
            await direct.close()
    assert [flag for flag, _ in a.suspended] == [True]
    assert a.suspended[0][1] < b.led_at
    assert (a.lost, a.lease.leader, b.lost) == (["another relay holds the lease"], False, [])


async def test_a_renewal_stored_but_not_acknowledged_is_recognised_as_the_leaders_own(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """a's answers stall past its renewal's timeout, with no standby: the renewal is
    stored, its acknowledgement lost; a's next compare-and-set (from the old revision)
    is refused, and the key still names a: a takes the stored revision and leads on,
    never suspended or lost (the stall ends well within 0.75 x TTL)."""
    slow = ClusterConfig(group="g", mode=ReplicaMode.HOT_STANDBY, lease_ttl_s=8.0)
    caplog.set_level(logging.WARNING, "relay.lease")
    async with EmbeddedNats() as server, StallingProxy(server.port).running() as proxy:
        via_proxy = await nats.connect(proxy.url)
        direct = await nats.connect(server.url)
        try:
            a = Replica("a", slow)
            a.start(via_proxy.jetstream(timeout=2.0))
            await asyncio.wait_for(a.led.wait(), 10)
            kv = await direct.jetstream(timeout=2.0).key_value(LEASE_BUCKET)
            before = (await kv.get(lease_key(slow))).revision or 0
            proxy.stall("down")
            # Renewals every TTL/4 = 2 s, each waiting up to 2 s for its ack.
            await until(
                lambda: any(r.msg == "lease not renewed; retrying" for r in caplog.records),
                "a renewal timing out",
            )
            stored = (await kv.get(lease_key(slow))).revision or 0
            proxy.flow()
            await until(lambda: a.lease._revision > stored, "a renewing from the new revision")
            await a.crash()
        finally:
            await via_proxy.close()
            await direct.close()
    assert stored == before + 1
    assert (a.lost, a.suspended, a.lease.leader) == ([], [], True)
