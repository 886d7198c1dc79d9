"""End to end on the recorded Deribit session: relay simulate -> relay (in process) -> nats-server.

Starts nats-server on a free port, ``relay simulate deribit.jsonl --speed max`` and a
relay subscribed to the recorded instruments (trade, ticker, l2_orderbook); then reads
every message JetStream stored and compares it with a reference built from the raw
recorded frames by ``deribit_reference`` (no relay code): trades and tickers one for
one with the digits Deribit sent, counts per type, and every book rebuilt from the
published snapshot and deltas equal to the book built from the recorded snapshot and
changes. The recording has no ``change_id`` break and no trade notification.
"""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest
from deribit_reference import deribit_reference, instruments
from e2e_support import Stored, decode, simulator_process, stored_messages
from reference_books import CAPTURES

from relay.bootstrap import Relay
from relay.config.loader import parse_config
from relay.infrastructure.captures import read_capture
from relay.infrastructure.embedded_nats import EmbeddedNats, free_port
from relay.infrastructure.simulator import Faults, Simulator
from relay.infrastructure.venues.deribit import canonical_symbol
from relay.infrastructure.venues.registry import supported_data_types

pytestmark = pytest.mark.integration


@pytest.fixture
async def nats_server() -> AsyncIterator[EmbeddedNats]:
    async with EmbeddedNats() as server:
        yield server


def config_text(nats_url: str, simulator: str) -> str:
    parts = [
        f"""
[nats]
urls = ["{nats_url}"]
[[nats.streams]]
name = "MARKET"
subjects = ["market.>"]
storage = "file"
[serialization]
format = "json"
[http]
listen = "127.0.0.1:{free_port()}"
[logging]
level = "INFO"

[[venues]]
id = "deribit"
ws_url = "ws://{simulator}/deribit/ws/api/v2"
"""
    ]
    for name in instruments():
        parts.append(f"""
[[venues.subscriptions]]
instrument = "{name}"
canonical_symbol = "{canonical_symbol(name, "option", "", "")}"
data_types = ["trade", "ticker", "l2_orderbook"]
""")
    return "".join(parts)


async def test_recorded_deribit_session_arrives_in_jetstream_exactly(
    nats_server: EmbeddedNats,
) -> None:
    ref = deribit_reference()
    expected = sum(len(t) for t in ref.tickers.values()) + sum(ref.book_messages.values())
    async with simulator_process("deribit.jsonl") as simulator:
        relay = Relay(
            parse_config(
                config_text(nats_server.url, simulator),
                source="<test>",
                venues=supported_data_types(),
            )
        )
        stop = asyncio.Event()
        task = asyncio.create_task(relay.run(stop))
        try:
            messages = await stored_messages(nats_server.url, expected)
        finally:
            stop.set()
            assert await task == 0
    resyncs = [
        s
        for metric in relay.metrics.registry.collect()
        for s in metric.samples
        if s.name == "relay_book_resyncs_total"
    ]
    assert sum(s.value for s in resyncs) == 0

    verify_deribit(messages)


async def test_a_skipped_book_change_breaks_change_id_and_resyncs_that_book_only(
    nats_server: EmbeddedNats,
) -> None:
    """Recorded frame 100 (a change of BTC-24SEP21-8000-P) is never sent.

    The next change's ``prev_change_id`` does not chain: the relay drops that
    book, subscribes its channel again, and the simulated venue's fresh
    snapshot (built from every frame passed) restores it. The final books equal
    the full recording's, and no other book is touched.
    """
    ref = deribit_reference()
    faults = Faults(skip_after_frames=100, skip_frames=1)
    capture = read_capture(CAPTURES / "deribit.jsonl")
    async with Simulator([capture], speed=None, faults=faults) as simulator:
        relay = Relay(
            parse_config(
                config_text(nats_server.url, f"127.0.0.1:{simulator.port}"),
                source="<test>",
                venues=supported_data_types(),
            )
        )
        stop = asyncio.Event()
        task = asyncio.create_task(relay.run(stop))
        try:
            expected = sum(len(t) for t in ref.tickers.values()) + 10 + 1
            # The resync's frames go out paced (0.5 s apart): wait for the fresh snapshot.
            for _ in range(20):
                messages = await stored_messages(nats_server.url, expected)
                if sum(b'"is_snapshot":true' in data for _, _, data in messages) == 11:
                    break
        finally:
            stop.set()
            assert await task == 0
    resyncs = {
        (s.labels["instrument"], s.labels["reason"]): s.value
        for metric in relay.metrics.registry.collect()
        for s in metric.samples
        if s.name == "relay_book_resyncs_total"
    }
    print(f"\nderibit: resyncs after skipping recorded frame 100: {resyncs}")
    assert resyncs == {("BTC-24SEP21-8000-P", "gap"): 1.0}
    books: dict[str, tuple[dict[Decimal, Decimal], dict[Decimal, Decimal]]] = {}
    snapshots: Counter[str] = Counter()
    for _, _, data in messages:
        env = decode(data, "json")
        if env["data_type"] != "l2_orderbook":
            continue
        payload = env["payload"]
        if payload["is_snapshot"]:
            books[env["instrument"]] = ({}, {})
            snapshots[env["instrument"]] += 1
        book = books[env["instrument"]]
        for side, levels in zip(book, (payload["bids"], payload["asks"]), strict=True):
            for price, quantity in levels:
                if Decimal(quantity) == 0:
                    side.pop(Decimal(price), None)
                else:
                    side[Decimal(price)] = Decimal(quantity)
    assert snapshots == {name: 2 if name == "BTC-24SEP21-8000-P" else 1 for name in ref.books}
    assert books == ref.books


def verify_deribit(messages: Stored) -> None:
    """JetStream holds exactly the reference's tickers, trades and final books."""
    ref = deribit_reference()
    msg_ids = [headers["Nats-Msg-Id"] for _, headers, _ in messages]
    assert len(msg_ids) == len(set(msg_ids))
    streams: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for subject, _, data in messages:
        env = decode(data, "json")
        assert env["venue"] == "deribit"
        token = env["canonical_symbol"].lower().replace("/", "-")
        assert subject == f"market.deribit.{token}.{env['data_type']}"
        streams[(env["instrument"], env["data_type"])].append(env)
    for key, envs in streams.items():
        assert [e["sequence"] for e in envs] == list(range(1, len(envs) + 1)), key

    stream_count = len(streams)
    counts: Counter[str] = Counter()
    for name in instruments():
        trades = [
            (p["trade_id"], p["price"], p["quantity"], p["side"])
            for p in (e["payload"] for e in streams[(name, "trade")])
        ]
        assert trades == ref.trades.get(name, [])
        tickers = [
            (p["bid_price"], p["bid_quantity"], p["ask_price"], p["ask_quantity"])
            for p in (e["payload"] for e in streams[(name, "ticker")])
        ]
        assert tickers == ref.tickers.get(name, []), name
        updates = [e["payload"] for e in streams[(name, "l2_orderbook")]]
        assert updates[0]["is_snapshot"] is True
        book: tuple[dict[Decimal, Decimal], dict[Decimal, Decimal]] = ({}, {})
        for update in updates:
            if update["is_snapshot"]:
                book = ({}, {})
            for side, levels in zip(book, (update["bids"], update["asks"]), strict=True):
                for price, quantity in levels:
                    if Decimal(quantity) == 0:
                        side.pop(Decimal(price), None)
                    else:
                        side[Decimal(price)] = Decimal(quantity)
        assert book == ref.books[name], name
        counts["trade"] += len(trades)
        counts["ticker"] += len(tickers)
        counts["l2_orderbook"] += len(updates)
        counts["l2_snapshot"] += sum(1 for u in updates if u["is_snapshot"])
    assert ref.breaks == 0
    assert len(messages) == counts["trade"] + counts["ticker"] + counts["l2_orderbook"]
    assert dict(counts) == {"trade": 0, "ticker": 89, "l2_orderbook": 46, "l2_snapshot": 10}
    print(
        f"\nderibit: {len(messages)} messages in JetStream: {dict(counts)}; "
        f"{stream_count} streams; change_id breaks in the recording: {ref.breaks}"
    )
