"""A 3-node nats-server cluster on loopback ports for the high-availability tests.

Each node: JetStream on, its own temporary store, a client port and a cluster
port, routes to the other two, ``server_name`` ``n1``..``n3`` (JetStream
clustering needs names). :meth:`NatsCluster.kill` SIGKILLs one node;
:meth:`NatsCluster.restart` starts it again on the same ports and store.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import nats

from relay.infrastructure.embedded_nats import free_port, nats_server_binary

CLUSTER_NAME = "relay-test"


@dataclass
class Node:
    """One node: its name, client and cluster ports, store, and process (None when down)."""

    name: str
    port: int
    cluster_port: int
    store: Path
    process: asyncio.subprocess.Process | None = field(default=None)

    @property
    def url(self) -> str:
        """``nats://127.0.0.1:<port>``."""
        return f"nats://127.0.0.1:{self.port}"


class NatsCluster:
    """Three JetStream nodes routed to each other (see the module doc).

    Args:
        root: the directory holding the three stores.
    """

    def __init__(self, root: Path, size: int = 3) -> None:
        self.nodes = [
            Node(f"n{i}", free_port(), free_port(), root / f"n{i}") for i in range(1, size + 1)
        ]

    @property
    def urls(self) -> list[str]:
        """Every node's client URL (what a relay's ``[nats] urls`` lists)."""
        return [node.url for node in self.nodes]

    def node(self, name: str) -> Node:
        """The node named ``name`` (``n1``)."""
        return next(node for node in self.nodes if node.name == name)

    async def start(self, node: Node) -> None:
        """Start ``node`` and wait until it accepts connections (at most 10 s)."""
        routes = ",".join(
            f"nats://127.0.0.1:{other.cluster_port}" for other in self.nodes if other is not node
        )
        node.store.mkdir(parents=True, exist_ok=True)
        node.process = await asyncio.create_subprocess_exec(
            str(nats_server_binary()),
            "-a",
            "127.0.0.1",
            "-p",
            str(node.port),
            "-n",
            node.name,
            "-js",
            "-sd",
            str(node.store),
            "--cluster_name",
            CLUSTER_NAME,
            "--cluster",
            f"nats://127.0.0.1:{node.cluster_port}",
            "--routes",
            routes,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 10.0
        while True:
            assert node.process.returncode is None, f"{node.name} exited"
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", node.port)
            except OSError:
                assert loop.time() < deadline, f"{node.name} did not listen"
                await asyncio.sleep(0.05)
                continue
            writer.close()
            await writer.wait_closed()
            return

    async def kill(self, node: Node) -> None:
        """SIGKILL ``node`` (a crash); its store is kept."""
        process, node.process = node.process, None
        if process is not None and process.returncode is None:
            process.kill()
            await process.wait()

    async def wait_ready(self, timeout_s: float = 30.0) -> None:
        """Wait until JetStream answers through the cluster (a meta leader is elected) and
        every stream it holds has a leader (after a freeze each Raft group elects its own)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        nc = await nats.connect(servers=self.urls)
        try:
            while True:
                try:
                    js = nc.jetstream(timeout=1.0)
                    await js.account_info()
                    for listed in await js.streams_info():
                        info = await js.stream_info(listed.config.name or "")
                        if info.cluster is None or info.cluster.leader is None:
                            raise TimeoutError(f"stream {info.config.name}: no leader")
                    return
                except (nats.errors.Error, TimeoutError):
                    assert loop.time() < deadline, "JetStream cluster not ready"
                    await asyncio.sleep(0.2)
        finally:
            await nc.close()

    async def stream_leader(self, stream: str) -> str:
        """The name of the node leading ``stream``'s replicas."""
        nc = await nats.connect(servers=self.urls)
        try:
            info = await nc.jetstream(timeout=5.0).stream_info(stream)
        finally:
            await nc.close()
        assert info.cluster is not None and info.cluster.leader is not None
        return info.cluster.leader

    async def stop(self) -> None:
        """Terminate every node that is up."""
        for node in self.nodes:
            process, node.process = node.process, None
            if process is not None and process.returncode is None:
                process.terminate()
                try:
                    await asyncio.wait_for(process.wait(), 5.0)
                except TimeoutError:
                    process.kill()
                    await process.wait()


@contextlib.asynccontextmanager
async def nats_cluster() -> AsyncIterator[NatsCluster]:
    """A started 3-node cluster with JetStream ready; stopped and its stores removed on exit."""
    with tempfile.TemporaryDirectory(prefix="relay-cluster-") as root:
        cluster = NatsCluster(Path(root))
        try:
            await asyncio.gather(*(cluster.start(node) for node in cluster.nodes))
            await cluster.wait_ready()
            yield cluster
        finally:
            await cluster.stop()
