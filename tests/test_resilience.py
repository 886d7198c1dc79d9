"""Fault injection against real parts: nats-server killed with SIGKILL mid-session."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import httpx
import nats
import pytest
from e2e_support import (
    config_text,
    expected_counts,
    simulator_process,
    start_relay,
    stop_relay,
    stored_messages,
    verify_jetstream,
)

from relay.infrastructure.embedded_nats import EmbeddedNats, free_port

pytestmark = pytest.mark.integration


async def health_of(client: httpx.AsyncClient, port: int) -> tuple[int, str]:
    response = await client.get(f"http://127.0.0.1:{port}/health", timeout=2)
    return response.status_code, response.json()["status"]


async def test_nats_killed_twice_during_a_realtime_replay_loses_and_duplicates_nothing(
    tmp_path: Path,
) -> None:
    store = tmp_path / "store"
    store.mkdir()
    server = EmbeddedNats(store_dir=store)
    await server.start()
    http_port = free_port()
    health_seen: list[tuple[str, int, str]] = []
    async with simulator_process("binance-usdm.jsonl", speed="realtime") as address:
        config = tmp_path / "relay.toml"
        config.write_text(config_text(server.url, address, http_port, "json", ("binance-usdm",)))
        relay = await start_relay(config)
        try:
            async with httpx.AsyncClient() as client:
                for _ in range(100):
                    try:
                        if (await health_of(client, http_port))[1] == "healthy":
                            break
                    except httpx.HTTPError:
                        pass
                    await asyncio.sleep(0.1)
                for outage in (1, 2):
                    await asyncio.sleep(5.0)
                    await server.kill()
                    await asyncio.sleep(1.5)
                    health_seen.append((f"outage {outage}", *await health_of(client, http_port)))
                    await asyncio.sleep(1.5)
                    await server.start()
                    for _ in range(50):
                        await asyncio.sleep(0.2)
                        if (await health_of(client, http_port))[1] == "healthy":
                            break
                    health_seen.append((f"after {outage}", *await health_of(client, http_port)))
            messages = await stored_messages(server.url, expected_counts(("binance-usdm",)),
                                             polls=600)
        finally:
            stderr = await stop_relay(relay)
            await server.stop()
    assert relay.returncode == 0, stderr[-3000:]
    assert health_seen == [
        ("outage 1", 503, "unhealthy"), ("after 1", 200, "healthy"),
        ("outage 2", 503, "unhealthy"), ("after 2", 200, "healthy"),
    ]
    assert "NATS disconnected; buffering" in stderr
    seen = verify_jetstream(messages, "json", ("binance-usdm",))
    assert dict(seen) == {"trade": 91, "ticker": 613, "candle": 67, "l2_orderbook": 756,
                          "l2_snapshot": 4}


async def test_sigterm_under_load_publishes_every_event_read_and_exits_0(tmp_path: Path) -> None:
    async with EmbeddedNats() as server, simulator_process(
        "binance-usdm.jsonl", "binance-spot.jsonl"
    ) as address:
        config = tmp_path / "relay.toml"
        text = config_text(server.url, address, free_port(), "json")
        # Few publishes in flight, so a backlog is queued when the signal comes.
        config.write_text(text.replace('urls = [', 'max_in_flight = 2\nurls = [', 1))
        relay = await start_relay(config)
        nc = await nats.connect(server.url)
        js = nc.jetstream()
        try:
            for _ in range(300):
                try:
                    if (await js.stream_info("MARKET")).state.messages >= 100:
                        break
                except nats.js.errors.NotFoundError:
                    pass
                await asyncio.sleep(0.02)
            stored_at_signal = (await js.stream_info("MARKET")).state.messages
            signalled = time.monotonic()
            stderr = await stop_relay(relay)
            exit_s = time.monotonic() - signalled
            stored = (await js.stream_info("MARKET")).state.messages
        finally:
            await nc.close()
    assert relay.returncode == 0, stderr[-2000:]
    stopped = next(json.loads(line) for line in stderr.splitlines()
                   if '"msg":"stopped"' in line)
    print(f"\nstored at SIGTERM {stored_at_signal}, after exit {stored}, "
          f"exit took {exit_s:.2f} s, relay: {stopped}")
    assert stored_at_signal < stopped["events_read"]
    assert stopped["not_published"] == 0
    assert stopped["dropped"] == 0
    assert stored == stopped["events_read"] - stopped["duplicates_suppressed"]
    assert stored == stopped["published"]
    assert exit_s < 10.0
