"""Fault injection against real parts: nats-server killed with SIGKILL mid-session."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
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
    assert dict(seen) == {"trade": 91, "ticker": 613, "candle": 67, "l2_orderbook": 756}
