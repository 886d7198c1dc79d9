"""The leader lease of a hot-standby shard, kept in the ``relay-leases`` key-value bucket.

One key per shard, ``<group>.<shard>-of-<shards>``, holds the leader's name. Only
compare-and-set writes touch it (``create`` when absent, ``update`` with the
revision last seen), so at most one process wins each revision:

- **Standby.** Polls the key every ``lease_ttl_s / 8``. When it is absent (or
  deleted by a leader that stopped cleanly) it tries to create it. When the
  revision it sees has not changed for ``lease_ttl_s`` by its own clock, it
  tries to update it from that revision. A win makes it the leader.
- **Leader.** Rewrites the key from its revision every ``lease_ttl_s / 4``
  (every 0.25 s while that fails). When no write was acknowledged for
  ``0.75 x lease_ttl_s`` the leader is **suspended**: the ``on_suspended(True)``
  callback stops all publishing at once, before any standby can win the lease
  (a standby waits a full ``lease_ttl_s`` from a revision it saw after the
  leader wrote it, so the quarter TTL left covers the write's round trip and
  clock rate differences). A suspended leader keeps rewriting from the same
  revision: when a write succeeds no other process can have written since
  (compare-and-set), so it leads again (``on_suspended(False)``, publishing
  resumes with what it held). When a write is refused because another process
  wrote the key, the lease is lost: ``on_lost`` ends the process (exit 3,
  fencing). A refused write is not a loss when the key still names this
  process (its own write was stored but its acknowledgement lost): the leader
  takes that revision and goes on.
- On a clean stop the leader deletes the key, so a standby takes over within
  one poll.

JetStream not answering is waited out (logged at a limited rate): by a standby
as it is, by a leader suspended after ``0.75 x lease_ttl_s``. Killing the NATS
server that leads the bucket's Raft group can leave it unwritable for longer
than that (up to 10.9 s measured, docs/high-availability.md); the leader then
holds its events and continues without a standby taking over, unless the
outage outlasts the standby's own ``lease_ttl_s`` wait.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable

import nats.errors
from nats.js import JetStreamContext
from nats.js.api import KeyValueConfig
from nats.js.errors import KeyDeletedError, KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue

from relay.application.log_rate_limit import LogRateLimit
from relay.config.cluster import ClusterConfig
from relay.infrastructure.cancellation import raise_if_cancelled

log = logging.getLogger("relay.lease")

LEASE_BUCKET = "relay-leases"
"""The key-value bucket holding one leader lease per (group, shard)."""

LEAD_FRACTION = 0.75
"""The leader gives the lease up when no renewal was acknowledged for this part of the TTL."""

RENEW_RETRY_S = 0.25
"""Wait between renewal attempts while the bucket does not answer."""

_UNAVAILABLE = (nats.errors.Error, OSError, TimeoutError)


def lease_key(cluster: ClusterConfig) -> str:
    """The shard's key in :data:`LEASE_BUCKET`: ``relay.0-of-1``."""
    return f"{cluster.group}.{cluster.shard}-of-{cluster.shards}"


def holder_name() -> str:
    """This process's name in the lease: ``<hostname>-<pid>-<8 hex>``."""
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


class LeaderLease:
    """Wins, keeps and gives back one shard's leader lease (module doc for the rules).

    Args:
        cluster: ``[cluster]`` (group, shard, ``lease_ttl_s``, ``lease_replicas``).
        on_leader: awaited once this process holds the lease (the takeover).
        on_lost: called when another process took the lease while this one led;
            must stop publishing at once (the composition root ends the process).
        on_suspended: called with True when the leader could not renew for
            ``0.75 x lease_ttl_s`` (it must stop publishing at once, holding
            what it reads), with False when a renewal succeeded again.
        holder: this process's name (default :func:`holder_name`).
    """

    def __init__(
        self,
        cluster: ClusterConfig,
        on_leader: Callable[[], Awaitable[None]],
        on_lost: Callable[[str], None],
        on_suspended: Callable[[bool], None] = lambda suspended: None,
        holder: str | None = None,
    ) -> None:
        self._cluster = cluster
        self._ttl_s = cluster.lease_ttl_s
        self._key = lease_key(cluster)
        self._on_leader = on_leader
        self._on_lost = on_lost
        self._on_suspended = on_suspended
        self.holder = holder or holder_name()
        self.leader = False
        self.suspended = False
        """True while leading without a renewal acknowledged in time (publishing held)."""
        self.suspensions = 0
        """Times this process was suspended while leading."""
        self._revision = 0
        self._kv: KeyValue | None = None
        self._log_limit = LogRateLimit(10.0)

    async def run(self, js: JetStreamContext) -> None:
        """Stand by, take over, lead; until cancelled (or the lease is lost)."""
        self._kv = await self._bucket(js)
        await self._stand_by(self._kv)
        self.leader = True
        log.info("leader lease won; taking over", extra={"key": self._key, "holder": self.holder})
        await self._on_leader()
        await self._lead(self._kv)

    async def _bucket(self, js: JetStreamContext) -> KeyValue:
        config = KeyValueConfig(
            bucket=LEASE_BUCKET, history=1, replicas=self._cluster.lease_replicas
        )
        while True:
            raise_if_cancelled()
            try:
                return await js.create_key_value(config)
            except _UNAVAILABLE as exc:
                self._unavailable("lease bucket not reachable; retrying", exc)
                await asyncio.sleep(self._ttl_s / 8)

    async def _stand_by(self, kv: KeyValue) -> None:
        """Poll until this process wins the lease."""
        seen_revision = -1
        seen_at = time.monotonic()
        while True:
            raise_if_cancelled()
            try:
                try:
                    entry = await kv.get(self._key)
                except (KeyNotFoundError, KeyDeletedError):
                    self._revision = await kv.create(self._key, self.holder.encode())
                    return
                revision = entry.revision or 0
                now = time.monotonic()
                if revision != seen_revision:
                    seen_revision, seen_at = revision, now
                elif now - seen_at >= self._ttl_s:
                    self._revision = await kv.update(self._key, self.holder.encode(), last=revision)
                    log.warning(
                        "leader lease expired; taking it over",
                        extra={"key": self._key, "previous": (entry.value or b"").decode()},
                    )
                    return
            except KeyWrongLastSequenceError:
                seen_revision = -1  # another standby won this revision
            except _UNAVAILABLE as exc:
                self._unavailable("lease not readable; standing by", exc)
            await asyncio.sleep(self._ttl_s / 8)

    async def _lead(self, kv: KeyValue) -> None:
        """Renew every quarter TTL; suspended when not renewed in time, lost when refused.

        Suspended at ``LEAD_FRACTION`` x ``lease_ttl_s`` after the last renewal
        this process saw acknowledged: before any standby's full ``lease_ttl_s``
        from a revision it read (which was written before that acknowledgement).
        """
        renewed_at = time.monotonic()
        wait_s = self._ttl_s / 4
        while True:
            raise_if_cancelled()
            deadline_s = renewed_at + LEAD_FRACTION * self._ttl_s
            if not self.suspended:  # wake at the deadline at the latest
                wait_s = min(wait_s, max(0.0, deadline_s - time.monotonic()))
            await asyncio.sleep(wait_s)
            left_s = deadline_s - time.monotonic()
            if left_s <= 0 and not self.suspended:
                self._suspend(time.monotonic() - renewed_at)
            timeout_s = self._ttl_s / 4 if self.suspended else min(left_s, self._ttl_s / 4)
            try:
                async with asyncio.timeout(timeout_s):
                    self._revision = await kv.update(
                        self._key, self.holder.encode(), last=self._revision
                    )
            except KeyWrongLastSequenceError:
                left_s = deadline_s - time.monotonic()
                ours = await self._still_ours(kv, self._ttl_s / 4 if self.suspended else left_s)
                if ours is None:  # not readable now: suspended (in time) until it is
                    wait_s = RENEW_RETRY_S
                    continue
                if ours:  # our own write was stored; renew from its revision
                    wait_s = 0.0
                    continue
                self.leader = False
                self._on_lost("another relay holds the lease")
                return
            except _UNAVAILABLE as exc:
                self._unavailable("lease not renewed; retrying", exc)
                wait_s = RENEW_RETRY_S
                continue
            renewed_at = time.monotonic()
            wait_s = self._ttl_s / 4
            if self.suspended:
                self.suspended = False
                log.warning("leader lease renewed; publishing resumes", extra={"key": self._key})
                self._on_suspended(False)

    def _suspend(self, unrenewed_s: float) -> None:
        self.suspended = True
        self.suspensions += 1
        log.warning(
            "leader lease not renewed in time; publishing held until it is renewed or lost",
            extra={"key": self._key, "unrenewed_s": round(unrenewed_s, 3)},
        )
        self._on_suspended(True)

    async def _still_ours(self, kv: KeyValue, timeout_s: float) -> bool | None:
        """After a refused renewal: True when the key still names this process (its own
        write was stored, the acknowledgement lost; its revision is taken as ours),
        False when it names another or was deleted, None when it cannot be read now."""
        try:
            async with asyncio.timeout(min(timeout_s, self._ttl_s / 4)):
                entry = await kv.get(self._key)
        except (KeyNotFoundError, KeyDeletedError):
            return False
        except _UNAVAILABLE as exc:
            self._unavailable("lease not readable after a refused renewal; retrying", exc)
            return None
        if (entry.value or b"") != self.holder.encode():
            return False
        self._revision = entry.revision or self._revision
        return True

    async def release(self) -> None:
        """A clean stop: delete the key (from our revision) so a standby takes over at once."""
        if not self.leader or self._kv is None:
            return
        self.leader = False
        try:
            async with asyncio.timeout(2.0):
                await self._kv.delete(self._key, last=self._revision)
        except (*_UNAVAILABLE, KeyWrongLastSequenceError) as exc:
            log.warning("leader lease not released", extra={"error": repr(exc)})

    def _unavailable(self, message: str, exc: BaseException) -> None:
        suppressed = self._log_limit.allow(message)
        if suppressed is not None:
            log.warning(
                message, extra={"key": self._key, "error": repr(exc), "suppressed": suppressed}
            )
