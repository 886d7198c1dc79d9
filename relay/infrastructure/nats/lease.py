"""The leader lease of a hot-standby shard, kept in the ``relay-leases`` key-value bucket.

One key per shard, ``<group>.<shard>-of-<shards>``, holds the leader's name. Only
compare-and-set writes touch it (``create`` when absent, ``update`` with the
revision last seen), so at most one process wins each revision:

- **Standby.** Polls the key every ``lease_ttl_s / 8``. When it is absent (or
  deleted by a leader that stopped cleanly) it tries to create it. When the
  revision it sees has not changed for ``lease_ttl_s`` by its own clock, it
  tries to update it from that revision. A win makes it the leader.
- **Leader.** Rewrites the key from its revision every ``lease_ttl_s / 4``
  (every 0.25 s while that fails). When a write is refused (another process
  owns a newer revision) or no write was acknowledged for ``0.75 x
  lease_ttl_s``, the lease is lost: the ``on_lost`` callback ends the process
  (exit 3) before any standby can win it (a standby waits a full
  ``lease_ttl_s`` from a revision it saw after the leader wrote it, so the
  quarter TTL left covers the write's round trip and clock rate differences).
  On a clean stop the leader deletes the key, so a standby takes over within
  one poll.

JetStream not answering is waited out (logged at a limited rate); the leader
still loses the lease when that lasts ``0.75 x lease_ttl_s``.
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
        on_lost: called when the lease is lost while leading; must stop publishing
            at once (the composition root ends the process).
        holder: this process's name (default :func:`holder_name`).
    """

    def __init__(
        self,
        cluster: ClusterConfig,
        on_leader: Callable[[], Awaitable[None]],
        on_lost: Callable[[str], None],
        holder: str | None = None,
    ) -> None:
        self._cluster = cluster
        self._ttl_s = cluster.lease_ttl_s
        self._key = lease_key(cluster)
        self._on_leader = on_leader
        self._on_lost = on_lost
        self.holder = holder or holder_name()
        self.leader = False
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
        """Renew every quarter TTL; the lease is lost when refused, or not renewed in time.

        Lost at ``LEAD_FRACTION`` x ``lease_ttl_s`` after the last renewal this
        process saw acknowledged: before any standby's full ``lease_ttl_s`` from a
        revision it read (which was written before that acknowledgement).
        """
        renewed_at = time.monotonic()
        wait_s = self._ttl_s / 4
        while True:
            await asyncio.sleep(wait_s)
            left_s = renewed_at + LEAD_FRACTION * self._ttl_s - time.monotonic()
            try:
                if left_s <= 0:
                    raise TimeoutError("no renewal acknowledged in time")
                self._revision = await asyncio.wait_for(
                    kv.update(self._key, self.holder.encode(), last=self._revision),
                    min(left_s, self._ttl_s / 4),
                )
                renewed_at = time.monotonic()
                wait_s = self._ttl_s / 4
                continue
            except KeyWrongLastSequenceError:
                reason = "another relay holds the lease"
            except _UNAVAILABLE as exc:
                if time.monotonic() - renewed_at < LEAD_FRACTION * self._ttl_s:
                    self._unavailable("lease not renewed; retrying", exc)
                    wait_s = RENEW_RETRY_S
                    continue
                reason = f"not renewed for {LEAD_FRACTION * self._ttl_s:g} s: {exc!r}"
            self.leader = False
            self._on_lost(reason)
            return

    async def release(self) -> None:
        """A clean stop: delete the key (from our revision) so a standby takes over at once."""
        if not self.leader or self._kv is None:
            return
        self.leader = False
        try:
            await asyncio.wait_for(self._kv.delete(self._key, last=self._revision), 2.0)
        except (*_UNAVAILABLE, KeyWrongLastSequenceError) as exc:
            log.warning("leader lease not released", extra={"error": repr(exc)})

    def _unavailable(self, message: str, exc: BaseException) -> None:
        suppressed = self._log_limit.allow(message)
        if suppressed is not None:
            log.warning(
                message, extra={"key": self._key, "error": repr(exc), "suppressed": suppressed}
            )
