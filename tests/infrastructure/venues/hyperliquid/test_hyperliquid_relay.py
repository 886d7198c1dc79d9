"""The Hyperliquid adapter inside a running relay: a local WebSocket server speaking
Hyperliquid's protocol (answers from :class:`HyperliquidSimulatedVenue`, data frames
from the documented examples, see test_hyperliquid.py) and a real nats-server.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import orjson
import pytest
from support.e2e import stored_messages
from test_hyperliquid import DOC_BOOK, DOC_CANDLE, DOC_CTX, book_frame, frame
from websockets.asyncio.server import ServerConnection, serve

from relay.bootstrap import Relay
from relay.config.loader import parse_config
from relay.infrastructure.embedded_nats import EmbeddedNats, free_port
from relay.infrastructure.venues.registry import supported_data_types
from relay.sim.venues.hyperliquid import HyperliquidSimulatedVenue

pytestmark = pytest.mark.integration

TRADE = {
    "coin": "BTC",
    "side": "A",
    "px": "64411.0",
    "sz": "0.31377",
    "time": 1781416943647,
    "hash": "0x7f58",
    "tid": 828642708897583,
    "users": ["0xe9be", "0xf910"],
}
BBO = {
    "coin": "BTC",
    "time": 1754450974231,
    "bbo": [
        {"px": "113377.0", "sz": "7.6699", "n": 17},
        {"px": "113397.0", "sz": "0.11543", "n": 3},
    ],
}

DATA_FRAMES = [
    frame("l2Book", DOC_BOOK),
    frame("l2Book", DOC_BOOK),  # repeated: stale, not published
    book_frame(1754450974731, [("113370.0", "1.5")], [("113380.0", "2")]),
    frame("trades", [TRADE]),
    frame("bbo", BBO),
    frame("activeAssetCtx", {"coin": "BTC", "ctx": DOC_CTX}),
    frame("candle", DOC_CANDLE),
]


async def test_documented_frames_reach_jetstream_once_each_as_snapshots(tmp_path: Path) -> None:
    received: list[str] = []

    async def handler(connection: ServerConnection) -> None:
        venue = HyperliquidSimulatedVenue()
        subscribed = 0
        async for message in connection:
            text = message if isinstance(message, str) else message.decode()
            received.append(text)
            for reply in venue.on_client_frame(text):
                await connection.send(reply)
            subscribed += json.loads(text).get("method") == "subscribe"
            if subscribed == 5:
                subscribed += 1
                for data in DATA_FRAMES:
                    venue.on_frame_passed(data)
                    await connection.send(data)

    async with EmbeddedNats() as server, serve(handler, "127.0.0.1", 0) as ws_server:
        port = ws_server.sockets[0].getsockname()[1]
        text = f"""
[nats]
urls = ["{server.url}"]
[[nats.streams]]
name = "MARKET"
subjects = ["market.>"]
[http]
listen = "127.0.0.1:{free_port()}"
[[venues]]
id = "hyperliquid"
ws_url = "ws://127.0.0.1:{port}/ws"
[[venues.subscriptions]]
instrument = "BTC"
canonical_symbol = "BTC/USDC:PERP"
data_types = ["trade", "ticker", "l2_orderbook", "funding_rate", "open_interest", "candle"]
candle_interval = "15m"
"""
        relay = Relay(parse_config(text, source="<test>", venues=supported_data_types()))
        stop = asyncio.Event()
        task = asyncio.create_task(relay.run(stop))
        messages = await stored_messages(server.url, 7)
        stop.set()
        assert await task == 0

    assert [json.loads(r)["subscription"]["type"] for r in received] == [
        "trades",
        "bbo",
        "l2Book",
        "activeAssetCtx",
        "candle",
    ]
    stored: dict[str, Any] = {h["Nats-Msg-Id"]: orjson.loads(d) for _, h, d in messages}
    assert sorted(stored) == sorted(
        [
            "hyperliquid:BTC:l2_orderbook:1754450974231",
            "hyperliquid:BTC:l2_orderbook:1754450974731",
            "hyperliquid:BTC:trade:1781416943647:828642708897583",
            "hyperliquid:BTC:ticker:1754450974231",
            "hyperliquid:BTC:funding_rate:0.0000125:14.3161:14.32:35a2649a91353f52",
            "hyperliquid:BTC:open_interest:688.11:35a2649a91353f52",
            "hyperliquid:BTC:candle:1681923600000:189:0.98639:29258.0:29309.0:29250.0",
        ]
    )
    subjects = sorted({s for s, _, _ in messages})
    assert subjects == [
        f"market.hyperliquid.btc-usdc:perp.{t}"
        for t in ("candle", "funding_rate", "l2_orderbook", "open_interest", "ticker", "trade")
    ]
    assert len(messages) == 7
    assert (
        relay.metrics.registry.get_sample_value(
            "relay_frames_rejected_total", {"venue": "hyperliquid", "reason": "stale_update"}
        )
        == 1
    )
    assert stored["hyperliquid:BTC:l2_orderbook:1754450974231"]["payload"] == {
        "type": "l2_update",
        "bids": [["113377.0", "7.6699"], ["113376.0", "4.13714"]],
        "asks": [["113397.0", "0.11543"]],
        "is_snapshot": True,
        "first_update_id": None,
        "last_update_id": None,
        "snapshot_part": 1,
        "snapshot_parts": 1,
    }
