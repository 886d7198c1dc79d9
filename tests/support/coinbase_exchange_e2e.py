"""The recorded Coinbase Exchange session end to end: the relay's config for it, and JetStream
checked against ``coinbase_exchange_reference`` (built from the raw frames, no relay code).

Used by ``tests/e2e/test_end_to_end_coinbase_exchange.py`` and
``tests/e2e/test_end_to_end_poison.py``.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

import orjson

from support.coinbase_exchange_reference import PRODUCTS, books, l2update_count, tickers, trades
from support.e2e import Stored, relay_header

VENUE = "coinbase-exchange"


def config_text(nats_url: str, simulator: str, http_port: int, depth: int = 0) -> str:
    """Relay TOML: NATS at ``nats_url``, the venue at the simulator ``host:port``, 10 products.

    ``depth``: each subscription's book depth (0: full book).
    """
    parts = [
        relay_header(nats_url, http_port, log_level="WARNING"),
        f"""
[[venues]]
id = "{VENUE}"
ws_url = "ws://{simulator}/{VENUE}"
[venues.stale_after_s]
ticker = 0
l2_orderbook = 0
""",
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
