"""A nats-server that hangs, or loses its streams, during a paced replay (real processes).

``relay simulate`` replays the recorded Binance USD-M session (31 s) at
:data:`SPEED` times its recorded pace, ``relay run`` publishes it, and the
nats-server is stopped, killed and restarted under it. JetStream must end up
holding every recorded event exactly once (``verify_jetstream``: values equal
to the recording, per-stream ``sequence`` without holes, message ids unique),
and the relay must count no drop, since nothing was dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import signal
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import nats
import pytest
from support.e2e import (
    config_text,
    expected_counts,
    start_relay,
    stop_relay,
    stored_messages,
    until,
    verify_jetstream,
)
from support.reference_books import CAPTURES

from relay.infrastructure.embedded_nats import EmbeddedNats, free_port

pytestmark = pytest.mark.integration

USDM = ("binance-usdm",)
USDM_EXPECTED = {"trade": 91, "ticker": 613, "candle": 67, "l2_orderbook": 756, "l2_snapshot": 4}
SPEED = "4"
"""Replay pace (times the recorded one): events still flow when a fault starts (150 of
1,527 stored, about 1 s in) and arrive during it."""


@contextlib.asynccontextmanager
async def paced_simulator() -> AsyncIterator[tuple[str, asyncio.subprocess.Process]]:
    """``relay simulate`` on the USD-M capture at :data:`SPEED`; yields (``host:port``, process)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "relay.cli",
        "simulate",
        str(CAPTURES / "binance-usdm.jsonl"),
        "--port",
        "0",
        "--speed",
        SPEED,
        stdout=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    try:
        line = (await asyncio.wait_for(process.stdout.readline(), 30)).decode()
        match = re.search(r"ws://([\d.]+:\d+)", line)
        assert match, line
        yield match.group(1), process
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGCONT)
            process.terminate()
            await process.wait()


async def health(client: httpx.AsyncClient, port: int) -> int | None:
    """``/health``'s HTTP status, None while the relay does not answer."""
    try:
        return (await client.get(f"http://127.0.0.1:{port}/health", timeout=2)).status_code
    except httpx.HTTPError:
        return None


async def stream_count(url: str) -> int:
    nc = await nats.connect(url)
    try:
        return int((await nc.jetstream().stream_info("MARKET")).state.messages)
    except nats.js.errors.NotFoundError:
        return 0
    finally:
        await nc.close()


def summary(stderr: str) -> dict[str, int]:
    """The relay's ``stopped`` line: events read, published, dropped..."""
    return dict(next(json.loads(line) for line in stderr.splitlines() if '"msg":"stopped"' in line))


HUNG_NATS = """ack_timeout_s = 1.0
connect_timeout_s = 1.0
ping_interval_s = 1.0
max_outstanding_pings = 2"""
"""``[nats]`` keys of the hung-server run: a hang is noticed by an overdue ack within
1 s while events flow, by unanswered PINGs within 3 s when idle (the defaults: 5 s
and 15 s), and a reconnect to the stopped server gives up after 1 s."""
HANG_S = 8.0
"""How long the server stays stopped: over twice the 3 s within which the hang is
noticed even when idle (the defaults' 15 s: a 30 s hang), and longer than what is
left of the replay, so the rest of the session arrives during the hang."""


async def test_a_server_hung_8_s_then_killed_and_restarted_loses_and_duplicates_nothing(
    tmp_path: Path,
) -> None:
    store = tmp_path / "store"
    store.mkdir()
    server = EmbeddedNats(store_dir=store)
    await server.start()
    http_port = free_port()
    config = tmp_path / "relay.toml"
    try:
        async with paced_simulator() as (address, _), httpx.AsyncClient() as client:
            config.write_text(
                config_text(server.url, address, http_port, "json", USDM, nats=HUNG_NATS)
            )
            relay = await start_relay(config)
            try:

                async def healthy() -> bool:
                    return await health(client, http_port) == 200

                async def some_stored() -> bool:
                    return await stream_count(server.url) >= 150

                await until(healthy, "/health 200")
                await until(some_stored, "150 events stored")
                server.send_signal(signal.SIGSTOP)
                stopped_at = time.monotonic()

                async def unhealthy() -> bool:
                    return await health(client, http_port) == 503

                await until(unhealthy, "/health 503 after SIGSTOP", timeout_s=20)
                to_503_s = time.monotonic() - stopped_at
                # The hang itself: it lasts HANG_S (a duration, not a wait for a condition).
                await asyncio.sleep(HANG_S - (time.monotonic() - stopped_at))
                await server.kill()
                await server.start()
                await until(healthy, "/health 200 after the restart")
                messages = await stored_messages(server.url, expected_counts(USDM))
            finally:
                stderr = await stop_relay(relay)
    finally:
        await server.stop()
    assert relay.returncode == 0, stderr[-3000:]
    stopped = summary(stderr)
    ids = [headers["Nats-Msg-Id"] for _, headers, _ in messages]
    drop_lines = stderr.count('"msg":"event dropped"')
    print(
        f"\nSIGSTOP -> /health 503: {to_503_s:.1f} s; events read {stopped['events_read']}, "
        f"stored {len(messages)}, dropped {stopped['dropped']} ({drop_lines} lines), "
        f"duplicated {len(ids) - len(set(ids))}; relay: {stopped}"
    )
    assert to_503_s <= 15.0
    assert dict(verify_jetstream(messages, "json", USDM)) == USDM_EXPECTED
    assert len(messages) == stopped["events_read"] - stopped["duplicates_suppressed"]
    assert (stopped["published"], stopped["dropped"], stopped["not_published"]) == (
        len(messages),
        0,
        0,
    )
    assert drop_lines == 0
    assert "JetStream not storing; buffering" in stderr


async def test_a_memory_stream_lost_with_its_server_is_created_again_and_the_replay_completes(
    tmp_path: Path,
) -> None:
    first = EmbeddedNats()
    await first.start()
    http_port = free_port()
    config = tmp_path / "relay.toml"
    health_in_gap: list[int | None] = []
    try:
        async with paced_simulator() as (address, simulator), httpx.AsyncClient() as client:
            text = config_text(first.url, address, http_port, "json", USDM)
            config.write_text(text.replace('storage = "file"', 'storage = "memory"'))
            relay = await start_relay(config)
            try:

                async def some_stored() -> bool:
                    return await stream_count(first.url) >= 150

                await until(some_stored, "150 events stored")
                # Pause the venue so that what the first server stored is known exactly.
                simulator.send_signal(signal.SIGSTOP)
                counts: list[int] = []

                async def settled() -> bool:
                    counts.append(await stream_count(first.url))
                    return len(counts) > 10 and len(set(counts[-10:])) == 1

                await until(settled, "stream count settled")
                before = await stored_messages(first.url, counts[-1])
                await first.kill()
                simulator.send_signal(signal.SIGCONT)  # events now arrive with no server

                async def unhealthy() -> bool:
                    return await health(client, http_port) == 503

                await until(unhealthy, "/health 503 with the server gone", timeout_s=10)
                health_in_gap.append(await health(client, http_port))
                second = EmbeddedNats(port=first.port)  # same address, empty store
                await second.start()
                try:

                    async def healthy() -> bool:
                        return await health(client, http_port) == 200

                    await until(healthy, "/health 200 after the restart")
                    after = await stored_messages(second.url, expected_counts(USDM) - len(before))
                finally:
                    stderr = await stop_relay(relay)
                    await second.stop()
            finally:
                if relay.returncode is None:
                    stderr = await stop_relay(relay)
    finally:
        await first.stop()
    assert relay.returncode == 0, stderr[-3000:]
    stopped = summary(stderr)
    print(
        f"\nstored by the first server {len(before)}, by the restarted one {len(after)}; "
        f"/health in the gap: {health_in_gap}; relay: {stopped}"
    )
    buffered = [
        json.loads(line)["buffered"]
        for line in stderr.splitlines()
        if '"msg":"NATS reconnected; checking JetStream"' in line
    ]
    print(f"buffered at the reconnect: {buffered}")
    assert health_in_gap == [503]
    assert len(buffered) == 1 and buffered[0] > 0
    assert '"msg":"stream created"' in stderr
    assert dict(verify_jetstream(before + after, "json", USDM)) == USDM_EXPECTED
    assert (stopped["dropped"], stopped["not_published"]) == (0, 0)
    assert stderr.count('"msg":"event dropped"') == 0
