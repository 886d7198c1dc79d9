"""A server that stops accepting the relay's credentials while it runs, then accepts them again.

nats-server reloads its config on SIGHUP and drops the clients the new
authorization refuses; the publisher's reconnects are then refused. The
refusal is reported once (``on_refused``) with its cause, the attempts are
spaced by the backoff (seen in the server's own log), and once the password is
accepted again the publisher reconnects, the reason is cleared and messages
land again.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import signal
import subprocess
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import nats
import pytest

from relay.application.ports import OutboundMessage
from relay.config.model import NatsConfig, PipelineConfig, StorageType, StreamConfig
from relay.infrastructure.embedded_nats import free_port, nats_server_binary
from relay.infrastructure.metrics import PrometheusMetrics
from relay.infrastructure.nats.publisher import JetStreamPublisher
from relay.infrastructure.nats.security import REFUSED_RETRY_BASE_S

PASSWORD = "pw-right-Qe3"
REASON = 'nats: authorization violation for user "relay"'
REFUSALS_SEEN = 5
LOG_SKEW_S = 0.3


def write_config(path: Path, port: int, password: str) -> None:
    path.write_text(
        f'listen: "127.0.0.1:{port}"\njetstream {{ store_dir: "{path.parent / "js"}" }}\n'
        f'authorization {{ user: "relay", password: "{password}" }}\n'
    )


@contextlib.contextmanager
def nats_server(conf: Path, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as out:
        process = subprocess.Popen([str(nats_server_binary()), "-c", str(conf)], stderr=out)
    try:
        yield process
    finally:
        process.terminate()
        process.wait(10)


async def wait_for(condition: Callable[[], object], timeout_s: float, what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not condition():
        assert loop.time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


def refusal_times(log: Path) -> list[float]:
    times = []
    for line in log.read_text().splitlines():
        if "authentication error" in line:
            stamp = " ".join(line.split(" ")[1:3])
            times.append(datetime.strptime(stamp, "%Y/%m/%d %H:%M:%S.%f").timestamp())
    return times


async def stored(url: str) -> int:
    nc = await nats.connect(url, user="relay", password=PASSWORD)
    try:
        return int((await nc.jetstream().stream_info("MARKET")).state.messages)
    finally:
        await nc.close()


def message(msg_id: str) -> OutboundMessage:
    return OutboundMessage(
        "market.binance-spot.btc-usdt.trade", b'{"x":1}', msg_id, "binance-spot", "trade"
    )


# nats-py 2.16's reconnect loop opens a new socket per attempt without closing the one
# the server refused (TcpTransport.connect overwrites its writer): each refused
# reconnect leaves an unclosed StreamWriter, reported at garbage collection.
# That is nats-py's, not the relay's; the backoff only makes it rarer.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
async def test_credentials_refused_at_a_reconnect_are_reported_backed_off_and_recovered(
    tmp_path: Path,
) -> None:
    port = free_port()
    conf, log = tmp_path / "nats.conf", tmp_path / "nats.log"
    write_config(conf, port, PASSWORD)
    url = f"nats://127.0.0.1:{port}"
    reasons: list[str] = []
    with nats_server(conf, log) as server:
        await wait_for(lambda: "Server is ready" in log.read_text(), 10, "nats-server")
        config = NatsConfig(
            urls=(url,),
            streams=(StreamConfig("MARKET", ("market.>",), StorageType.MEMORY, max_bytes=2**30),),
            user="relay",
            password=PASSWORD,
        )
        publisher = JetStreamPublisher(
            config,
            "application/json",
            PrometheusMetrics(),
            PipelineConfig(),
            on_refused=reasons.append,
        )
        await publisher.connect()
        runner = asyncio.create_task(publisher.run())
        try:
            await publisher.submit(message("before"))
            assert await publisher.drain(5.0) == 0
            write_config(conf, port, "another-password")
            server.send_signal(signal.SIGHUP)
            await wait_for(lambda: len(refusal_times(log)) >= REFUSALS_SEEN, 60, "refusals")
            assert not publisher.connected
            assert reasons[0] == ""
            assert set(reasons[1:]) == {REASON}
            times = refusal_times(log)
            write_config(conf, port, PASSWORD)
            server.send_signal(signal.SIGHUP)
            await wait_for(lambda: publisher.ready, 60, "the publisher to be ready again")
            await publisher.submit(message("after"))
            assert await publisher.drain(5.0) == 0
            assert await stored(url) == 2
        finally:
            runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await runner
            await publisher.close()
    gaps = [round(b - a, 3) for a, b in itertools.pairwise(times)]
    print(f"\nrefused reconnects: {len(times)} seen, gaps {gaps} s; reasons {reasons}")
    assert reasons[-1] == ""
    least_s = sum(REFUSED_RETRY_BASE_S * 2**n / 2 for n in range(REFUSALS_SEEN - 1))
    assert times[REFUSALS_SEEN - 1] - times[0] >= least_s - LOG_SKEW_S, gaps
