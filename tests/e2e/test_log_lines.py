"""The log lines of a real ``relay run``: uvicorn's lines go through the relay's formatter,
rate-limited, and ``format = "text"`` shows the structured fields.

A real nats-server and ``relay run`` as a child process; its one venue points
at a closed port, so it logs reconnect warnings; 20 malformed HTTP requests are
sent to its ``/health`` port, each of which uvicorn answers with a warning.
"""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path

import httpx
import orjson
import pytest
from support.e2e import start_relay, stop_relay, until

from relay.infrastructure.embedded_nats import EmbeddedNats, free_port

pytestmark = pytest.mark.integration

BAD_REQUESTS = 20


def config(nats_url: str, http_port: int, fmt: str) -> str:
    return f"""
[nats]
urls = ["{nats_url}"]
[[nats.streams]]
name = "MARKET"
subjects = ["market.>"]
storage = "memory"
[http]
listen = "127.0.0.1:{http_port}"
[logging]
level = "INFO"
format = "{fmt}"
[[venues]]
id = "binance-usdm"
ws_url = "ws://127.0.0.1:{free_port()}/stream"
rest_url = "http://127.0.0.1:1"
reconnect_base_s = 0.2
reconnect_cap_s = 0.5
[[venues.subscriptions]]
instrument = "SUSHIUSDT"
canonical_symbol = "SUSHI/USDT"
data_types = ["trade"]
"""


async def bad_request(port: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"NOT HTTP AT ALL\r\n\r\n")
    await writer.drain()
    await reader.read()  # uvicorn answers 400 and closes
    writer.close()
    await writer.wait_closed()


async def run_relay(tmp_path: Path, fmt: str) -> str:
    """Run the relay until it is up, send the bad requests, stop it; its stderr."""
    http_port = free_port()
    path = tmp_path / "relay.toml"
    async with EmbeddedNats() as nats:
        path.write_text(config(nats.url, http_port, fmt))
        relay = await start_relay(path)
        try:
            deadline = time.monotonic() + 30
            async with httpx.AsyncClient() as client:
                while True:
                    try:
                        await client.get(f"http://127.0.0.1:{http_port}/health")
                        break
                    except httpx.TransportError:
                        assert time.monotonic() < deadline, "relay HTTP not up within 30 s"
                        await asyncio.sleep(0.05)
            for _ in range(BAD_REQUESTS):
                await bad_request(http_port)

            async def reconnected() -> bool:
                async with httpx.AsyncClient() as client:
                    health = (await client.get(f"http://127.0.0.1:{http_port}/health")).json()
                return int(health["venues"]["binance-usdm"]["reconnects"]) >= 1

            # The venue's connection has failed at least once (its warning is logged) before
            # the stop: the relay may answer HTTP before it has tried the venue at all.
            await until(reconnected, "a venue reconnect", 30)
        finally:
            stderr = await stop_relay(relay)
    assert relay.returncode == 0, stderr[-2000:]
    return stderr


async def test_json_lines_include_uvicorns_rate_limited_and_nothing_else(tmp_path: Path) -> None:
    stderr = await run_relay(tmp_path, "json")
    lines = stderr.splitlines()
    documents = [orjson.loads(line) for line in lines]  # every line is JSON
    uvicorn = [d for d in documents if d["logger"].startswith("uvicorn")]
    assert [{k: v for k, v in d.items() if k != "ts"} for d in uvicorn] == [
        {
            "level": "WARNING",
            "logger": "uvicorn.error",
            "msg": "Invalid HTTP request received.",
            "suppressed": 0,
        }
    ]
    print(f"\n{BAD_REQUESTS} bad requests -> {len(uvicorn)} uvicorn line; {len(lines)} lines")


async def test_text_lines_show_the_structured_fields(tmp_path: Path) -> None:
    stderr = await run_relay(tmp_path, "text")
    lines = stderr.splitlines()
    stamp = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"
    assert [line for line in lines if "uvicorn" in line] == [
        line
        for line in lines
        if re.fullmatch(
            stamp + r" WARNING uvicorn\.error Invalid HTTP request received\. "
            r"suppressed=0",
            line,
        )
    ]
    assert len([line for line in lines if "uvicorn" in line]) == 1
    lost = [line for line in lines if "venue connection lost, reconnecting" in line]
    assert lost, stderr[-2000:]
    pattern = (
        stamp + r" WARNING relay\.venue venue connection lost, reconnecting "
        r'venue=binance-usdm error="ConnectionRefusedError\(.*\)" attempt=1 '
        r"wait_s=\d+(\.\d+)?(e-\d+)?"
    )
    assert re.fullmatch(pattern, lost[0]), lost[0]
