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


def config_text(nats_url: str, simulator: str, http_port: int) -> str:
    parts = [f"""
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
"""]
    for product, canonical in PRODUCTS.items():
        parts.append(f"""
[[venues.subscriptions]]
instrument = "{product}"
canonical_symbol = "{canonical}"
data_types = ["trade", "ticker", "l2_orderbook"]
""")
    return "".join(parts)


@pytest.fixture
async def nats_server() -> AsyncIterator[EmbeddedNats]:
    async with EmbeddedNats() as server:
        yield server


async def test_recorded_coinbase_exchange_session_arrives_in_jetstream_exactly(
    nats_server: EmbeddedNats, tmp_path: Path
) -> None:
    expected_trades = {p: trades(p) for p in PRODUCTS}
    expected_tickers = {p: tickers(p) for p in PRODUCTS}
    expected_l2 = {p: 1 + l2update_count(p) for p in PRODUCTS}
    expected = (sum(map(len, expected_trades.values())) + sum(map(len, expected_tickers.values()))
                + sum(expected_l2.values()))
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
    verify_coinbase_exchange(messages)


def verify_coinbase_exchange(messages: Stored) -> None:
    """JetStream holds exactly the reference's trades, tickers, book messages and final books."""
    expected_trades = {p: trades(p) for p in PRODUCTS}
    expected_tickers = {p: tickers(p) for p in PRODUCTS}
    expected_books = books()
    expected_l2 = {p: 1 + l2update_count(p) for p in PRODUCTS}
    expected = (sum(map(len, expected_trades.values())) + sum(map(len, expected_tickers.values()))
                + sum(expected_l2.values()))
    msg_ids = [headers["Nats-Msg-Id"] for _, headers, _ in messages]
    assert len(msg_ids) == len(set(msg_ids)) == expected
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

    for product in PRODUCTS:
        got_trades = [(p["trade_id"], p["price"], p["quantity"], p["side"])
                      for p in (e["payload"] for e in streams[(product, "trade")])]
        assert got_trades == expected_trades[product], product
        got_tickers = [(p["bid_price"], p["ask_price"], p["update_id"])
                       for p in (e["payload"] for e in streams[(product, "ticker")])]
        assert got_tickers == expected_tickers[product], product
        assert {(e["payload"]["bid_quantity"], e["payload"]["ask_quantity"])
                for e in streams[(product, "ticker")]} <= {("0", "0")}

        updates = [e["payload"] for e in streams[(product, "l2_orderbook")]]
        assert len(updates) == expected_l2[product], product
        assert [u["is_snapshot"] for u in updates].count(True) == 1
        assert updates[0]["is_snapshot"] is True
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

    counts = {data_type: sum(len(v) for (_, t), v in streams.items() if t == data_type)
              for data_type in ("trade", "ticker", "l2_orderbook")}
    assert counts == {"trade": 107, "ticker": 107, "l2_orderbook": 9729}
