"""End to end on the recorded Coinbase Exchange session: relay simulate -> relay run -> JetStream.

Starts nats-server on a free port, ``relay simulate coinbase-exchange.jsonl
--speed max`` and ``relay run`` subscribing the 10 recorded products (trade,
ticker, l2_orderbook); then reads every message JetStream stored and checks it
against a reference built from the recorded frames, without relay code
(``support.coinbase_exchange_reference``, ``support.coinbase_exchange_e2e``):
trades and tickers one for one, counts per data type, and each product's book
rebuilt from the published snapshot and deltas equal to the book built from the
recorded snapshot and l2updates.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import orjson
import pytest
from support.coinbase_exchange_e2e import config_text, verify_coinbase_exchange
from support.coinbase_exchange_reference import PRODUCTS, books, l2update_count, tickers, trades
from support.e2e import simulator_process, start_relay, stop_relay, stored_messages

from relay.infrastructure.embedded_nats import EmbeddedNats, free_port

pytestmark = pytest.mark.integration


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
