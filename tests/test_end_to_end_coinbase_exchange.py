"""End to end on the recorded Coinbase Exchange session: relay simulate -> relay run -> JetStream.

Starts nats-server on a free port, ``relay simulate coinbase-exchange.jsonl
--speed max`` and ``relay run`` subscribing the 10 recorded products (trade,
ticker, l2_orderbook); then reads every message JetStream stored and checks it
against a reference built here from the recorded frames, without relay code
(``coinbase_exchange_reference``): trades and tickers one for one, counts per
data type, and each product's book rebuilt from the published snapshot and
deltas equal to the book built from the recorded snapshot and l2updates.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest
from coinbase_exchange_reference import PRODUCTS, books, l2update_count, tickers, trades
from e2e_support import Stored, simulator_process, start_relay, stop_relay, stored_messages

from relay.infrastructure.embedded_nats import EmbeddedNats, free_port

pytestmark = pytest.mark.integration

VENUE = "coinbase-exchange"


def config_text(nats_url: str, simulator: str, http_port: int, depth: int = 0) -> str:
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
listen = "127.0.0.1:{http_port}"
[logging]
level = "WARNING"
[[venues]]
id = "{VENUE}"
ws_url = "ws://{simulator}/{VENUE}"
[venues.stale_after_s]
ticker = 0
l2_orderbook = 0
"""
    ]
    for product, canonical in PRODUCTS.items():
        parts.append(f"""
[[venues.subscriptions]]
instrument = "{product}"
canonical_symbol = "{canonical}"
data_types = ["trade", "ticker", "l2_orderbook"]
depth = {depth}
""")
    return "".join(parts)


@pytest.fixture(params=[0, 16 * 1024], ids=["default-max-payload", "max-payload-16KiB"])
async def nats_server(request: pytest.FixtureRequest) -> AsyncIterator[EmbeddedNats]:
    async with EmbeddedNats(max_payload_bytes=request.param) as server:
        yield server


async def test_recorded_coinbase_exchange_session_arrives_in_jetstream_exactly(
    nats_server: EmbeddedNats, tmp_path: Path
) -> None:
    expected_trades = {p: trades(p) for p in PRODUCTS}
    expected_tickers = {p: tickers(p) for p in PRODUCTS}
    expected_l2 = {p: 1 + l2update_count(p) for p in PRODUCTS}
    expected = (
        sum(map(len, expected_trades.values()))
        + sum(map(len, expected_tickers.values()))
        + sum(expected_l2.values())
    )
    assert expected == 107 + 107 + 9729
    config = tmp_path / "relay.toml"
    async with simulator_process("coinbase-exchange.jsonl") as simulator:
        config.write_text(config_text(nats_server.url, simulator, free_port()))
        relay = await start_relay(config)
        try:
            messages = await stored_messages(nats_server.url, expected)
        finally:
            stderr = await stop_relay(relay)
    assert relay.returncode == 0, stderr[-2000:]
    verify_coinbase_exchange(messages, nats_server.max_payload_bytes)


def verify_coinbase_exchange(messages: Stored, small: int = 0) -> None:
    """JetStream holds exactly the reference's trades, tickers, book messages and final books.

    ``small``: the server's ``max_payload`` when set below the default: at least two
    books' snapshots must then have come in parts (none otherwise).
    """
    expected_trades = {p: trades(p) for p in PRODUCTS}
    expected_tickers = {p: tickers(p) for p in PRODUCTS}
    expected_books = books()
    expected_l2 = {p: 1 + l2update_count(p) for p in PRODUCTS}
    expected = (
        sum(map(len, expected_trades.values()))
        + sum(map(len, expected_tickers.values()))
        + sum(expected_l2.values())
    )
    msg_ids = [headers["Nats-Msg-Id"] for _, headers, _ in messages]
    assert len(msg_ids) == len(set(msg_ids))
    assert all(len(data) <= (small or 1024 * 1024) for _, _, data in messages)
    streams: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for subject, _, data in messages:
        envelope = orjson.loads(data)
        token = envelope["canonical_symbol"].lower().replace("/", "-")
        assert subject == f"market.{VENUE}.{token}.{envelope['data_type']}"
        assert envelope["venue"] == VENUE
        assert PRODUCTS[envelope["instrument"]] == envelope["canonical_symbol"]
        streams[(envelope["instrument"], envelope["data_type"])].append(envelope)
    for key, envelopes in streams.items():
        assert [e["sequence"] for e in envelopes] == list(range(1, len(envelopes) + 1)), key

    snapshot_parts: dict[str, int] = {}
    for product in PRODUCTS:
        got_trades = [
            (p["trade_id"], p["price"], p["quantity"], p["side"])
            for p in (e["payload"] for e in streams[(product, "trade")])
        ]
        assert got_trades == expected_trades[product], product
        got_tickers = [
            (p["bid_price"], p["ask_price"], p["update_id"])
            for p in (e["payload"] for e in streams[(product, "ticker")])
        ]
        assert got_tickers == expected_tickers[product], product
        assert {
            (e["payload"]["bid_quantity"], e["payload"]["ask_quantity"])
            for e in streams[(product, "ticker")]
        } <= {("0", "0")}

        updates = [e["payload"] for e in streams[(product, "l2_orderbook")]]
        parts = updates[0]["snapshot_parts"]
        snapshot_parts[product] = parts
        assert [(u["is_snapshot"], u["snapshot_part"]) for u in updates[:parts]] == [
            (True, i) for i in range(1, parts + 1)
        ], product
        assert [u["is_snapshot"] for u in updates].count(True) == parts
        assert len(updates) == expected_l2[product] + parts - 1, product
        bids: dict[Decimal, Decimal] = {}
        asks: dict[Decimal, Decimal] = {}
        for update in updates:
            for side, levels in ((bids, update["bids"]), (asks, update["asks"])):
                for price, quantity in levels:
                    if Decimal(quantity) == 0:
                        side.pop(Decimal(price), None)
                    else:
                        side[Decimal(price)] = Decimal(quantity)
        assert (bids, asks) == expected_books[product], product

    counts = {
        data_type: sum(len(v) for (_, t), v in streams.items() if t == data_type)
        for data_type in ("trade", "ticker", "l2_orderbook")
    }
    extra_parts = sum(snapshot_parts.values()) - len(PRODUCTS)
    assert counts == {"trade": 107, "ticker": 107, "l2_orderbook": 9729 + extra_parts}
    assert len(messages) == expected + extra_parts
    in_parts = {p: n for p, n in snapshot_parts.items() if n > 1}
    print(f"\nmax_payload {small or 'default'}: snapshots in parts {in_parts}")
    if small:
        assert len(in_parts) >= 2, in_parts
    else:
        assert in_parts == {}


async def test_depth_10_publishes_books_equal_to_the_top_10_of_the_recorded_books(
    tmp_path: Path,
) -> None:
    depth = 10
    expected_books = books()
    config = tmp_path / "relay.toml"
    async with EmbeddedNats() as server, simulator_process("coinbase-exchange.jsonl") as simulator:
        config.write_text(config_text(server.url, simulator, free_port(), depth))
        relay = await start_relay(config)
        try:
            messages = await stored_messages(server.url, 107 + 107 + len(PRODUCTS))
        finally:
            stderr = await stop_relay(relay)
    assert relay.returncode == 0, stderr[-2000:]

    books_seen: dict[str, tuple[dict[Decimal, Decimal], dict[Decimal, Decimal]]] = {}
    sequences: dict[str, list[int]] = defaultdict(list)
    for subject, _, data in messages:
        envelope = orjson.loads(data)
        if envelope["data_type"] != "l2_orderbook":
            continue
        product = envelope["instrument"]
        sequences[product].append(envelope["sequence"])
        payload = envelope["payload"]
        if payload["is_snapshot"]:
            assert (payload["snapshot_part"], payload["snapshot_parts"]) == (1, 1)
            books_seen[product] = ({}, {})
        for side, levels in zip(
            books_seen[product], (payload["bids"], payload["asks"]), strict=True
        ):
            for price, quantity in levels:
                if Decimal(quantity) == 0:
                    side.pop(Decimal(price), None)
                else:
                    side[Decimal(price)] = Decimal(quantity)
            assert len(side) <= depth, (product, subject)
    for product, (bids, asks) in expected_books.items():
        top_bids = {p: bids[p] for p in sorted(bids, reverse=True)[:depth]}
        top_asks = {p: asks[p] for p in sorted(asks)[:depth]}
        assert books_seen[product] == (top_bids, top_asks), product
        assert len(top_bids) == len(top_asks) == depth, product
        assert sequences[product] == list(range(1, len(sequences[product]) + 1))
    published = sum(map(len, sequences.values()))
    print(
        f"\ndepth {depth}: {published} book messages for {len(PRODUCTS)} books (full depth: 9729)"
    )
    assert published < 9729
