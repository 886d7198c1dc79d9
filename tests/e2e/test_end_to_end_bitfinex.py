"""End to end on the recorded Bitfinex session: relay simulate -> relay run -> nats-server.

``relay simulate bitfinex.jsonl --speed max`` serves the recording as Bitfinex would
answer the relay's ``conf`` (``SEQ_ALL`` + ``OB_CHECKSUM``): sequence numbers renumbered
and a ``cs`` checksum after every book message (1,600), from the simulated side's own
book. ``relay run`` (a child process) subscribes the seven recorded symbols (trades,
ticker, book) and publishes to a real nats-server. Every message JetStream stored is
compared with ``support.bitfinex_reference`` (the raw frames, no relay code): trades
one for one, ticker quotes one for one, each book rebuilt from the published snapshot
and deltas equal to the recorded book; no book is resynced (every checksum and
sequence number verified) and no frame refused.
"""

from __future__ import annotations

import re
import urllib.request
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from support.bitfinex_frames import SYMBOLS, canonical
from support.bitfinex_reference import bitfinex_reference
from support.e2e import (
    decode,
    relay_header,
    simulator_process,
    start_relay,
    stop_relay,
    stored_messages,
    until,
    wire_book,
)

from relay.infrastructure.embedded_nats import EmbeddedNats, free_port

pytestmark = pytest.mark.integration


def config_text(nats_url: str, simulator: str, http_port: int) -> str:
    """Relay TOML: NATS at ``nats_url``, Bitfinex at the simulator, the seven symbols."""
    parts = [
        relay_header(nats_url, http_port),
        f'\n[[venues]]\nid = "bitfinex"\nws_url = "ws://{simulator}/bitfinex/ws/2"\n',
    ]
    for symbol in SYMBOLS:
        parts.append(f"""
[[venues.subscriptions]]
instrument = "{symbol}"
canonical_symbol = "{canonical(symbol)}"
data_types = ["trade", "ticker", "l2_orderbook"]
""")
    return "".join(parts)


def metric_lines(http_port: int, name: str) -> list[str]:
    with urllib.request.urlopen(f"http://127.0.0.1:{http_port}/metrics", timeout=5) as answer:
        text: str = answer.read().decode()
    return [line for line in text.splitlines() if re.match(rf"{name}\{{.*venue=\"bitfinex\"", line)]


async def test_recorded_bitfinex_session_with_checksums_arrives_in_jetstream_exactly(
    tmp_path: Path,
) -> None:
    ref = bitfinex_reference()
    expected = (
        sum(map(len, ref.trades.values()))
        + sum(map(len, ref.tickers.values()))
        + sum(ref.snapshots.values())
        + sum(ref.deltas.values())
    )
    http_port = free_port()
    async with EmbeddedNats() as nats_server, simulator_process("bitfinex.jsonl") as simulator:
        config = tmp_path / "relay.toml"
        config.write_text(config_text(nats_server.url, simulator, http_port))
        relay = await start_relay(config)
        try:
            messages = await stored_messages(nats_server.url, expected)

            async def metrics_up() -> bool:
                try:
                    return bool(metric_lines(http_port, "relay_events_received_total"))
                except OSError:
                    return False

            await until(metrics_up, "the relay's /metrics")
            resyncs = metric_lines(http_port, "relay_book_resyncs_total")
            rejected = metric_lines(http_port, "relay_frames_rejected_total")
        finally:
            stderr = await stop_relay(relay)
    assert relay.returncode == 0, stderr[-2000:]
    assert resyncs == [] and rejected == [], (resyncs, rejected)

    streams: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for subject, _, data in messages:
        env = decode(data, "json")
        token = env["canonical_symbol"].lower().replace("/", "-")
        assert subject == f"market.bitfinex.{token}.{env['data_type']}"
        streams[(env["instrument"], env["data_type"])].append(env)
    assert len({h["Nats-Msg-Id"] for _, h, _ in messages}) == len(messages) == expected == 1831
    for symbol in SYMBOLS:
        trades = [
            (p["trade_id"], Decimal(p["price"]), Decimal(p["quantity"]), p["side"])
            for p in (e["payload"] for e in streams[(symbol, "trade")])
        ]
        assert trades == ref.trades[symbol], symbol
        quotes = [
            tuple(Decimal(p[k]) for k in ("bid_price", "bid_quantity", "ask_price", "ask_quantity"))
            for p in (e["payload"] for e in streams[(symbol, "ticker")])
        ]
        assert quotes == ref.tickers[symbol], symbol
        updates = [e["payload"] for e in streams[(symbol, "l2_orderbook")]]
        assert updates[0]["is_snapshot"] is True
        assert sum(u["is_snapshot"] for u in updates) == 1
        assert len(updates) == 1 + ref.deltas.get(symbol, 0), symbol
        assert wire_book(updates) == ref.books[symbol], symbol
    print(
        f"\nbitfinex: {len(messages)} messages; trades {sum(map(len, ref.trades.values()))}, "
        f"tickers {sum(map(len, ref.tickers.values()))}, deltas {sum(ref.deltas.values())}"
    )
