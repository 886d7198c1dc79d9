"""Hot-standby replicas and shards on a 3-node JetStream cluster, end to end.

A real 3-node nats-server cluster (``support.nats_cluster``), ``relay simulate``
and ``relay run`` processes in ``[cluster] mode = "hot_standby"`` publishing to
an R3 stream. The checks are the core end-to-end test's
(``support.e2e.verify_jetstream``: trade, ticker and candle values one for one
with the recording, final books equal to the reference books, ``sequence``
1..n without holes per stream, unique message ids) on what the stream holds
after the failures.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import httpx
import nats
import pytest
import pytest_asyncio
from support.e2e import (
    config_text,
    simulator_process,
    start_relay,
    stop_relay,
    stored_messages,
    until,
    verify_jetstream,
)
from support.nats_cluster import NatsCluster, nats_cluster

from relay.infrastructure.embedded_nats import free_port

K = TypeVar("K")

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]

VENUE = ("binance-usdm",)

RECORDED_USDM = {"trade": 91, "ticker": 613, "candle": 67}
"""Trades, tickers and candles of binance-usdm.jsonl's four instruments."""

SUSPENDED = "leader lease not renewed in time; publishing held until it is renewed or lost"
RENEWED = "leader lease renewed; publishing resumes"
"""The lease's log lines of a leader suspended, and leading again."""

USDM_MESSAGES = 1527
"""Every message of binance-usdm.jsonl's four instruments (one snapshot per book)."""


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def cluster() -> AsyncIterator[NatsCluster]:
    async with nats_cluster() as started:
        yield started


def ha_config(cluster: NatsCluster, sim: str, http_port: int, group: str, extra: str = "") -> str:
    """binance-usdm's four instruments, all three nodes, an R3 stream and R3 buckets, hot
    standby."""
    urls = ", ".join(f'"{url}"' for url in cluster.urls)
    text = config_text("URL", sim, http_port, "json", VENUE)
    text = text.replace('urls = ["URL"]', f"urls = [{urls}]")
    text = text.replace('storage = "file"', 'storage = "file"\nreplicas = 3')
    return (
        text
        + f"""
[consumer_state]
replicas = 3
[control]
replicas = 3
[cluster]
group = "{group}"
mode = "hot_standby"
lease_replicas = 3
{extra}
"""
    )


@contextlib.asynccontextmanager
async def killed_at_exit(
    relays: dict[K, asyncio.subprocess.Process],
) -> AsyncIterator[dict[K, asyncio.subprocess.Process]]:
    """Yields ``relays``; on the way out SIGKILLs those still running (a failed test) and
    prints the log tail of any that had ended on its own with an error."""
    try:
        yield relays
    finally:
        for key, relay in relays.items():
            if relay.returncode is None:
                relay.kill()
                await relay.wait()
            elif relay.returncode not in (0, -9) and relay.stderr is not None:
                tail = (await relay.stderr.read())[-3000:].decode(errors="replace")
                print(f"\nrelay {key} exited with {relay.returncode}:\n{tail}")


async def health(port: int) -> dict[str, object]:
    async with httpx.AsyncClient() as client:
        document: dict[str, object] = (
            await client.get(f"http://127.0.0.1:{port}/health", timeout=2.0)
        ).json()
        return document


async def role(port: int) -> str:
    try:
        cluster = (await health(port))["cluster"]
    except (httpx.HTTPError, OSError):
        return "down"
    assert isinstance(cluster, dict)
    return str(cluster["role"])


async def stream_messages(cluster: NatsCluster) -> int:
    nc = await nats.connect(servers=cluster.urls)
    try:
        return (await nc.jetstream(timeout=2.0).stream_info("MARKET")).state.messages
    except (nats.errors.Error, TimeoutError):
        return -1
    finally:
        await nc.close()


async def stream_replicas(cluster: NatsCluster) -> dict[str, int]:
    """Stream name -> its replicas, for every stream on the cluster."""
    nc = await nats.connect(servers=cluster.urls)
    try:
        infos = await nc.jetstream(timeout=5.0).streams_info()
    finally:
        await nc.close()
    return {info.config.name or "": info.config.num_replicas or 0 for info in infos}


async def test_hot_standby_takes_over_from_a_killed_relay_and_rides_out_a_killed_stream_leader(
    cluster: NatsCluster, tmp_path: Path
) -> None:
    ports = {"a": free_port(), "b": free_port()}
    relays: dict[str, asyncio.subprocess.Process] = {}
    async with (
        # Real time (31 s), the default 10 s lease.
        simulator_process("binance-usdm.jsonl", speed="1") as sim,
        killed_at_exit(relays),
    ):
        for name, port in ports.items():
            (tmp_path / f"{name}.toml").write_text(ha_config(cluster, sim, port, "ha"))
        relays["a"] = await start_relay(tmp_path / "a.toml")
        await until(lambda: _is(ports["a"], "leader"), "relay a leading", 30)
        relays["b"] = await start_relay(tmp_path / "b.toml")
        await until(lambda: _is(ports["b"], "standby"), "relay b standing by", 30)

        await until(_grown(cluster, USDM_MESSAGES // 5), "a fifth of the replay stored", 40)
        relays["a"].kill()
        killed_at = time.monotonic()
        stored_at_kill = await stream_messages(cluster)
        await until(lambda: _is(ports["b"], "leader"), "relay b taking over", 30)
        relay_failover_s = time.monotonic() - killed_at
        await until(_grown(cluster, stored_at_kill + 1), "b publishing", 30)
        first_message_s = time.monotonic() - killed_at
        a_stderr = (await relays["a"].communicate())[1].decode()

        await until(_grown(cluster, 2 * USDM_MESSAGES // 3), "two thirds stored", 40)
        leader = cluster.node(await cluster.stream_leader("MARKET"))
        await cluster.kill(leader)
        nats_killed_at = time.monotonic()
        await until(_answers(cluster), "the stream answering again", 30)
        before = await stream_messages(cluster)
        await until(_grown(cluster, before + 1), "the stream growing again", 30)
        nats_failover_s = time.monotonic() - nats_killed_at
        survivor = next(node for node in cluster.nodes if node.process is not None)
        messages = await stored_messages(survivor.url, USDM_MESSAGES)
        b_role = await role(ports["b"])
        b_stderr = await stop_relay(relays["b"])
        await cluster.start(leader)
    print(
        f"\nrelay SIGKILL -> standby leading: {relay_failover_s:.2f} s,"
        f" -> first message stored by it: {first_message_s:.2f} s;"
        f" stream leader node {leader.name} SIGKILL -> stream growing again:"
        f" {nats_failover_s:.2f} s"
    )
    assert relays["a"].returncode == -9
    assert "leader lease won" in a_stderr
    assert relays["b"].returncode == 0, b_stderr[-2000:]
    assert b_role == "leader"
    takeover = next(line for line in b_stderr.splitlines() if "took over as leader" in line)
    print(takeover)
    # The node kill may stall b's lease renewals past 0.75 x lease_ttl_s: b is then
    # suspended (holding its events) and leads on once a renewal succeeds, never exits.
    suspended = b_stderr.count(f'"msg":"{SUSPENDED}"')
    renewed = b_stderr.count(f'"msg":"{RENEWED}"')
    print(f"relay b suspended {suspended} time(s), renewed after {renewed}")
    assert suspended == renewed
    assert '"streams":{"continued":' in takeover, takeover
    assert '"gap"' not in takeover and '"resync"' not in takeover, takeover
    seen = verify_jetstream(messages, "json", VENUE)
    assert {key: seen[key] for key in RECORDED_USDM} == RECORDED_USDM
    assert seen["l2_orderbook"] >= 4


async def test_a_leader_whose_cluster_hangs_past_its_lease_deadline_holds_then_leads_on(
    cluster: NatsCluster, tmp_path: Path
) -> None:
    """Every node SIGSTOPped until the only relay (a leader, no standby) is suspended: it
    could not renew its lease for 0.75 x lease_ttl_s. It holds what it reads instead of
    exiting; when the nodes run again its renewal succeeds (nobody else wrote the key)
    and it publishes what it held: the stream holds the whole session once."""
    await cluster.wait_ready()
    nc = await nats.connect(servers=cluster.urls)
    with contextlib.suppress(nats.js.errors.NotFoundError):  # left by a test before
        await nc.jetstream(timeout=10.0).delete_stream("MARKET")
    await nc.close()
    port = free_port()
    relays: dict[str, asyncio.subprocess.Process] = {}
    async with simulator_process("binance-usdm.jsonl", speed="1") as sim, killed_at_exit(relays):
        (tmp_path / "a.toml").write_text(ha_config(cluster, sim, port, "hang"))
        relays["a"] = await start_relay(tmp_path / "a.toml")
        await until(lambda: _is(port, "leader"), "relay a leading", 30)
        await until(_grown(cluster, USDM_MESSAGES // 5), "a fifth of the replay stored", 40)
        for node in cluster.nodes:
            assert node.process is not None
            node.process.send_signal(signal.SIGSTOP)
        stopped_at = time.monotonic()
        try:
            await until(lambda: _is(port, "suspended"), "relay a suspended", 30)
            suspended_s = time.monotonic() - stopped_at
        finally:
            for node in cluster.nodes:
                assert node.process is not None
                node.process.send_signal(signal.SIGCONT)
        resumed_at = time.monotonic()
        await until(lambda: _is(port, "leader"), "relay a leading again", 30)
        leading_again_s = time.monotonic() - resumed_at
        # The relay's lease bucket may answer before the stream's Raft group has a leader
        # again after the whole-cluster freeze (a stream_info request timed out in a CI run).
        await until(_answers(cluster), "the stream answering again", 30)
        messages = await stored_messages(cluster.urls[0], USDM_MESSAGES)
        stderr = await stop_relay(relays["a"])
    print(
        f"\ncluster SIGSTOP -> leader suspended: {suspended_s:.2f} s;"
        f" SIGCONT -> leading again: {leading_again_s:.2f} s"
    )
    assert relays["a"].returncode == 0, stderr[-2000:]
    lines = [line for line in stderr.splitlines() if '"logger":"relay.lease"' in line]
    assert (stderr.count(f'"msg":"{SUSPENDED}"'), stderr.count(f'"msg":"{RENEWED}"')) == (1, 1), (
        lines
    )
    seen = verify_jetstream(messages, "json", VENUE)
    assert {key: seen[key] for key in RECORDED_USDM} == RECORDED_USDM


async def events_received(port: int) -> float:
    """``relay_events_received_total`` of the relay on ``port``, every venue and data type."""
    async with httpx.AsyncClient() as client:
        text = (await client.get(f"http://127.0.0.1:{port}/metrics", timeout=2.0)).text
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("relay_events_received_total{")
    )


def _caught_up(port: int, leader_port: int) -> Callable[[], Awaitable[bool]]:
    """The relay on ``port`` has read as many events as the one on ``leader_port``, and
    its count has not moved for a second (its replay has ended: a count can reach the
    leader's with a book resync's extra snapshot while deltas are still arriving)."""
    seen: list[tuple[float, float]] = []  # (count, monotonic time it was first seen)

    async def check() -> bool:
        count = await events_received(port)
        if not seen or seen[-1][0] != count:
            seen.append((count, time.monotonic()))
            return False
        return count >= await events_received(leader_port) and (
            time.monotonic() - seen[-1][1] >= 1.0
        )

    return check


async def _is(port: int, *wanted: str) -> bool:
    return await role(port) in wanted


def _has_role(port: int) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return await _is(port, "leader", "standby")

    return check


def _grown(cluster: NatsCluster, count: int) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return await stream_messages(cluster) >= count

    return check


def _answers(cluster: NatsCluster) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return await stream_messages(cluster) >= 0

    return check


async def test_two_shards_of_two_replicas_store_the_union_of_four_instruments_once(
    cluster: NatsCluster, tmp_path: Path
) -> None:
    # The test before may have frozen the whole cluster: JetStream's meta leader first.
    await cluster.wait_ready()
    nc = await nats.connect(servers=cluster.urls)
    with contextlib.suppress(nats.js.errors.NotFoundError):  # left by the test before
        await nc.jetstream(timeout=10.0).delete_stream("MARKET")
    await nc.close()
    ports = {(shard, replica): free_port() for shard in (0, 1) for replica in "ab"}
    relays: dict[tuple[int, str], asyncio.subprocess.Process] = {}
    async with simulator_process("binance-usdm.jsonl") as sim, killed_at_exit(relays):
        for (shard, replica), port in ports.items():
            config = tmp_path / f"{shard}{replica}.toml"
            config.write_text(
                ha_config(cluster, sim, port, "shards", f"shards = 2\nshard = {shard}")
            )
            relays[(shard, replica)] = await start_relay(config)
        for port in ports.values():
            await until(_has_role(port), "a role", 30)
        messages = await stored_messages(cluster.urls[0], USDM_MESSAGES)
        replicas = await stream_replicas(cluster)
        documents = {key: await health(port) for key, port in ports.items()}
        roles = {key: str(document["cluster"]["role"]) for key, document in documents.items()}  # type: ignore[index]
        # Shard 0's leader stops cleanly (a rollout): it deletes its lease and its standby
        # takes over within one poll, resuming every stream after what is stored.
        leader_0 = next(key for key in relays if key[0] == 0 and roles[key] == "leader")
        standby_0 = next(key for key in relays if key[0] == 0 and roles[key] == "standby")
        # Each relay's simulator connection replays the session from its start: the standby,
        # started later, ends later. A rollout stops a leader whose standby reads the same
        # live frames; here that is a standby that has read the whole session too.
        await until(
            _caught_up(ports[standby_0], ports[leader_0]), "shard 0's standby caught up", 30
        )
        stderr = {leader_0: await stop_relay(relays[leader_0])}
        stopped_at = time.monotonic()
        await until(lambda: _is(ports[standby_0], "leader"), "shard 0's standby leading", 10)
        handover_s = time.monotonic() - stopped_at
        order = sorted(set(relays) - {leader_0}, key=lambda key: roles[key] == "leader")
        stderr.update({key: await stop_relay(relays[key]) for key in order})
        after = await stored_messages(cluster.urls[0], len(messages))
    print(f"\nclean stop of shard 0's leader -> its standby leading: {handover_s:.2f} s")
    assert after == messages
    takeover = next(line for line in stderr[standby_0].splitlines() if "took over" in line)
    assert '"streams":{"continued":8}' in takeover, takeover
    assert {key: relay.returncode for key, relay in relays.items()} == dict.fromkeys(relays, 0)
    covered = {
        key: (document["cluster"]["subscriptions"], document["cluster"]["role"])  # type: ignore[index]
        for key, document in documents.items()
    }
    assert {key: subscriptions for key, (subscriptions, _) in covered.items()} == {
        (0, "a"): ["binance-usdm:AKROUSDT", "binance-usdm:KEEPUSDT"],
        (0, "b"): ["binance-usdm:AKROUSDT", "binance-usdm:KEEPUSDT"],
        (1, "a"): ["binance-usdm:SUSHIUSDT", "binance-usdm:CTKUSDT"],
        (1, "b"): ["binance-usdm:SUSHIUSDT", "binance-usdm:CTKUSDT"],
    }
    for shard in (0, 1):
        assert sorted(covered[(shard, r)][1] for r in "ab") == ["leader", "standby"], covered
    assert sum("took over as leader" in text for text in stderr.values()) == 3
    assert replicas == {
        "MARKET": 3,
        "KV_relay-leases": 3,
        "KV_relay-latest": 3,
        "KV_relay-books": 3,
        "KV_relay-status": 3,
        "KV_relay-control": 3,
    }
    seen = verify_jetstream(messages, "json", VENUE)
    assert {key: seen[key] for key in RECORDED_USDM} == RECORDED_USDM
    assert seen["l2_snapshot"] == 4
