"""The ``[cluster]`` section: the relay group a process belongs to, its shard, its replicas.

Relays started with the same ``group`` and the same configuration are one
group: they share the runtime control state (the ``relay-control`` key-value
bucket is keyed by the group name) and cover the same subscriptions.
``shards`` splits the subscriptions by a stable hash of (venue, instrument)
(:mod:`relay.application.sharding`); ``shard`` is the part this process covers.
``mode = "hot_standby"`` runs replicas of a shard with a leader lease
(``docs/high-availability.md``). ``docs/configuration.md`` lists the keys and checks.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from relay.config.reader import Table

_GROUP_NAME: Final = re.compile(r"[A-Za-z0-9_-]{1,64}")
"""A group name: usable as a NATS subject token and in a key-value key."""

MAX_SHARDS: Final = 1024
"""The most shards a group may be split into."""


class ReplicaMode(enum.Enum):
    """How replicas of one shard share the work.

    ``single``: every process publishes (one process per shard, no lease).
    ``hot_standby``: the holder of the shard's leader lease publishes; the
    others follow the venues and keep a bounded ring of recent events per
    stream, and one of them takes over when the lease expires.
    """

    SINGLE = "single"
    HOT_STANDBY = "hot_standby"


@dataclass(frozen=True, slots=True)
class ClusterConfig:
    """``[cluster]``: which relay group, shard and replica mode this process is part of.

    Attributes:
        group: the group's name, 1 to 64 characters from ``A-Z a-z 0-9 _ -``
            (default ``"relay"``).
        shards: how many shards the group's subscriptions are split into (1 to 1024).
        shard: the shard this process covers, 0 to ``shards - 1``.
        mode: :class:`ReplicaMode` (default ``single``).
        lease_ttl_s: ``hot_standby``: a standby takes over when the lease was not
            renewed for this long (by its own clock); the leader renews every
            quarter of it and exits (code 3) when it could not renew for half of it.
        lease_replicas: replicas of the ``relay-leases`` key-value bucket (3 on a
            cluster of three or more servers).
        standby_ring_events: ``hot_standby``: events a standby keeps per stream
            (oldest forgotten) to resume from the leader's last stored event.
        takeover_catchup_s: ``hot_standby``: the longest a stream holds at a
            takeover when this standby is behind the leader's last stored event
            (has not read it yet), so that it continues after it instead of
            leaving a gap or resyncing its book; 0 never holds (>= 0).
    """

    group: str = "relay"
    shards: int = 1
    shard: int = 0
    mode: ReplicaMode = ReplicaMode.SINGLE
    lease_ttl_s: float = 10.0
    lease_replicas: int = 1
    standby_ring_events: int = 10_000
    takeover_catchup_s: float = 2.0


_DEFAULT: Final = ClusterConfig()


def parse_shard(text: str) -> tuple[int, int]:
    """``"K/N"`` (``relay run --shard``) as ``(K, N)``: shard K, 0 to N-1, of N shards.

    Raises:
        ValueError: not two integers with 1 <= N <= 1024 and 0 <= K < N (the message
            says which form is expected).
    """
    shard, _, shards = text.partition("/")
    try:
        k, n = int(shard), int(shards)
    except ValueError:
        raise ValueError(f"expected K/N (shard K of N), got {text!r}") from None
    if not 1 <= n <= MAX_SHARDS or not 0 <= k < n:
        raise ValueError(f"expected K/N with 1 <= N <= {MAX_SHARDS} and 0 <= K < N, got {text!r}")
    return k, n


def _group_problem(text: str) -> str | None:
    if _GROUP_NAME.fullmatch(text):
        return None
    return f"must be 1 to 64 characters from A-Z a-z 0-9 _ -, got {text!r}"


def read_cluster(table: Table) -> ClusterConfig:
    """The ``[cluster]`` table as a :class:`ClusterConfig`; problems go to the loader.

    Args:
        table: the loader's view of ``[cluster]`` (empty when absent).

    Returns:
        The section; a key with a problem keeps its default (the loader raises
        :class:`~relay.config.errors.ConfigError` listing every problem).
        ``shard`` must be below ``shards``.
    """
    shards = table.integer("shards", _DEFAULT.shards, minimum=1, maximum=MAX_SHARDS)
    shard = table.integer("shard", _DEFAULT.shard, minimum=0, maximum=MAX_SHARDS - 1)
    if shard >= shards and not table.failed("shards"):
        table.report("shard", f"must be below shards ({shards}), got {shard}")
        shard = 0
    return ClusterConfig(
        group=table.string("group", _DEFAULT.group, _group_problem),
        shards=shards,
        shard=shard,
        mode=table.choice("mode", _DEFAULT.mode),
        lease_ttl_s=table.seconds("lease_ttl_s", _DEFAULT.lease_ttl_s, positive=True),
        lease_replicas=table.integer(
            "lease_replicas", _DEFAULT.lease_replicas, minimum=1, maximum=5
        ),
        standby_ring_events=table.integer(
            "standby_ring_events", _DEFAULT.standby_ring_events, minimum=1
        ),
        takeover_catchup_s=table.seconds(
            "takeover_catchup_s", _DEFAULT.takeover_catchup_s, positive=False
        ),
    )
