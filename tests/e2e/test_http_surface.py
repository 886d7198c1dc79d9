"""1,500 HTTP connections held open against a real ``relay run`` whose file descriptor limit
is 1,024 (as on many hosts): once the relay has taken the burst in (shed all but
``max_connections``), each probe answers within 1 s; the recorded replay still arrives
complete in JetStream; the log stays a few lines.

The probe sent during the burst waits behind the 1,500 connections the relay accepts and
sheds first (about 0.7 ms each on a loaded 2-core machine); its time is printed, not bounded.

Real parts: nats-server, ``relay simulate`` on binance-usdm.jsonl and binance-spot.jsonl
(speed 4: about 8 s of replay, during which the connections are held), ``relay run`` as a
child process with ``RLIMIT_NOFILE`` 1,024. The clients are raw sockets: 1,350 connect and
send nothing, 150 send a request head one header line every 0.5 s and never finish it.
Before the connection cap, the same run logged about 620,000 lines (42 MB) in 13 s, asyncio's
``socket.accept() out of system resource`` with a traceback per attempt, and ``/health``
timed out.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import orjson
import pytest
from prometheus_client.parser import text_string_to_metric_families
from support.e2e import (
    config_text,
    expected_counts,
    simulator_process,
    start_relay,
    stored_messages,
    verify_jetstream,
)

from relay.infrastructure.embedded_nats import EmbeddedNats, free_port

pytestmark = pytest.mark.integration

HELD = 1_500
SLOW = 150
"""Of the held connections, those sending an unfinished request head slowly."""
FD_LIMIT = 1_024
PROBE_BOUND_S = 1.0
MAX_CONNECTIONS = 100
"""``[http] max_connections`` by default; under the cap for 1,024 fds (512)."""


@contextlib.asynccontextmanager
async def held_connections(port: int) -> AsyncIterator[list[socket.socket]]:
    """``HELD`` TCP connections to ``port``, the first ``SLOW`` trickling a request head."""
    sockets: list[socket.socket] = []
    for _ in range(HELD):
        sock = socket.socket()
        sock.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            sock.connect(("127.0.0.1", port))
        sockets.append(sock)

    async def trickle() -> None:
        line = 0
        while True:
            for sock in sockets[:SLOW]:
                data = b"GET /health HTTP/1.1\r\n" if line == 0 else b"X-Slow-%d: 1\r\n" % line
                with contextlib.suppress(OSError):
                    sock.send(data)
            line += 1
            await asyncio.sleep(0.5)

    task = asyncio.create_task(trickle())
    try:
        yield sockets
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        for sock in sockets:
            sock.close()


def closed_by_server(sock: socket.socket) -> bool:
    """True when the relay closed this connection (EOF or reset seen)."""
    try:
        while True:
            if sock.recv(65536) == b"":
                return True
    except BlockingIOError:
        return False
    except OSError:
        return True


async def probe(client: httpx.AsyncClient, url: str) -> tuple[int, float]:
    """GET ``url`` on a new connection: (status, seconds taken)."""
    started = time.monotonic()
    response = await client.get(url, headers={"Connection": "close"})
    return response.status_code, time.monotonic() - started


async def test_held_open_connections_starve_neither_the_probes_nor_the_venues(
    tmp_path: Path,
) -> None:
    http_port = free_port()
    base = f"http://127.0.0.1:{http_port}"
    config = tmp_path / "relay.toml"
    lines: list[bytes] = []
    async with (
        EmbeddedNats() as nats,
        simulator_process("binance-usdm.jsonl", "binance-spot.jsonl", speed="4") as simulator,
    ):
        config.write_text(config_text(nats.url, simulator, http_port, "json"))
        relay = await start_relay(config, fd_limit=FD_LIMIT)
        assert relay.stderr is not None
        reader = asyncio.create_task(read_lines(relay.stderr, lines))
        try:
            async with httpx.AsyncClient(timeout=10.0) as client:
                deadline = time.monotonic() + 30
                while True:
                    try:
                        await client.get(f"{base}/livez")
                        break
                    except httpx.TransportError:
                        assert time.monotonic() < deadline, "relay HTTP not up within 30 s"
                        await asyncio.sleep(0.05)
                async with held_connections(http_port) as sockets:
                    # Not bounded: while the burst is being accepted, a probe's new
                    # connection is one of many and may itself be shed before its
                    # request arrives (seen under load); what is bounded comes after.
                    during_burst: tuple[int, float] | None = None
                    with contextlib.suppress(httpx.TransportError):
                        during_burst = await probe(client, f"{base}/readyz")
                    deadline = time.monotonic() + 30
                    while sum(closed_by_server(sock) for sock in sockets) < HELD - MAX_CONNECTIONS:
                        assert time.monotonic() < deadline, "the relay did not shed the excess"
                        await asyncio.sleep(0.05)
                    ready_probes: list[tuple[int, float]] = []
                    deadline = time.monotonic() + 30
                    while not ready_probes or ready_probes[-1][0] != 200:
                        assert time.monotonic() < deadline, ready_probes
                        ready_probes.append(await probe(client, f"{base}/readyz"))
                        await asyncio.sleep(0.1)
                    live = [await probe(client, f"{base}/livez") for _ in range(5)]
                    messages = await stored_messages(nats.url, expected_counts())
                    closed = sum(closed_by_server(sock) for sock in sockets)
                    metrics = (await client.get(f"{base}/metrics")).text
                    after = [await probe(client, f"{base}/readyz") for _ in range(5)]
        finally:
            relay.send_signal(signal.SIGTERM)
            await asyncio.wait_for(relay.wait(), 60)
            await asyncio.wait_for(reader, 10)
    assert relay.returncode == 0, b"".join(lines[-20:]).decode()
    documents = [orjson.loads(line) for line in lines]
    shed_lines = [d for d in documents if d["msg"] == "http connection limit reached"]
    shed = {
        s.labels["action"]: s.value
        for family in text_string_to_metric_families(metrics)
        for s in family.samples
        if s.name == "relay_http_connections_shed_total"
    }
    probes = ready_probes + live + after
    burst_probe = "shed" if during_burst is None else f"{during_burst[1] * 1000:.1f} ms"
    print(
        f"\n{HELD} connections held ({SLOW} slow heads), RLIMIT_NOFILE {FD_LIMIT}: "
        f"first /readyz during the burst {burst_probe} (not bounded); "
        f"{len(ready_probes)} /readyz probes until ready, slowest probe once held "
        f"{max(t for _, t in probes) * 1000:.1f} ms; {closed} held connections closed by the "
        f"relay; shed {shed}; {len(messages)} messages stored; {len(lines)} log lines, "
        f"{len(shed_lines)} about the connection limit, {sum(map(len, lines))} bytes"
    )
    assert all(seconds < PROBE_BOUND_S for _, seconds in probes), probes
    assert [status for status, _ in live + after] == [200] * 10
    seen = verify_jetstream(messages, "json")
    assert dict(seen) == {
        "trade": 93,
        "ticker": 697,
        "candle": 69,
        "l2_orderbook": 932,
        "l2_snapshot": 8,
    }
    assert closed >= HELD - MAX_CONNECTIONS
    assert shed["evicted_idle"] + shed.get("refused", 0) >= HELD - MAX_CONNECTIONS
    assert 1 <= len(shed_lines) < 50
    assert not [d for d in documents if d["logger"] == "asyncio"]
    assert len(lines) < 100


async def read_lines(stream: asyncio.StreamReader, lines: list[bytes]) -> None:
    """Collect ``stream``'s lines until EOF (the pipe never fills while the relay runs)."""
    while line := await stream.readline():
        lines.append(line)
