"""The recorded Gate.io sessions end to end: the relay's config for them, and JetStream
checked against ``support.gate_reference`` (built from the raw frames, no relay code).

Used by ``tests/e2e/test_end_to_end_gate.py``.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from decimal import Decimal
from typing import Any

from relay.infrastructure.embedded_nats import free_port
from support.e2e import Stored, decode, relay_header, wire_book
from support.gate_reference import SYMBOL_QUERY, gate_books, gate_candles, gate_tickers, gate_trades
from support.reference_books import records

WS_PATH = {"gate-spot": "/ws/v4/", "gate-futures": "/v4/ws/usdt"}
"""The recorded connect URL's path of each capture."""


def instruments(venue: str) -> list[str]:
    """The instruments whose books the recording fetched (every instrument it subscribed)."""
    query = SYMBOL_QUERY[f"{venue}.jsonl"]
    return [
        r["url"].split(query + "=")[1].split("&")[0]
        for r in records(f"{venue}.jsonl")
        if r["kind"] == "http"
    ]


def config_text(nats_url: str, simulator: str, venue: str) -> str:
    """Relay TOML: NATS at ``nats_url``, ``venue`` at the simulator ``host:port``, every
    recorded instrument with trade, ticker, l2_orderbook and 1m candles."""
    parts = [
        relay_header(nats_url, free_port()),
        f"""
[[venues]]
id = "{venue}"
ws_url = "ws://{simulator}/{venue}{WS_PATH[venue]}"
rest_url = "http://{simulator}/{venue}"
""",
    ]
    for name in instruments(venue):
        parts.append(f"""
[[venues.subscriptions]]
instrument = "{name}"
canonical_symbol = "{name.replace("_", "/")}"
data_types = ["trade", "ticker", "l2_orderbook", "candle"]
""")
    return "".join(parts)


def verify_gate(venue: str, messages: Stored) -> Counter[str]:
    """JetStream holds exactly the reference's trades, tickers, candles and final books;
    message ids are unique and every stream's sequence has no hole. Returns counts per type."""
    capture = f"{venue}.jsonl"
    msg_ids = [headers["Nats-Msg-Id"] for _, headers, _ in messages]
    assert len(msg_ids) == len(set(msg_ids))
    streams: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for subject, _, data in messages:
        env = decode(data, "json")
        assert env["venue"] == venue
        token = env["canonical_symbol"].lower().replace("/", "-")
        assert subject == f"market.{venue}.{token}.{env['data_type']}"
        streams[(env["instrument"], env["data_type"])].append(env)
    for key, envs in streams.items():
        assert [e["sequence"] for e in envs] == list(range(1, len(envs) + 1)), key

    def of(data_type: str) -> list[tuple[str, dict[str, Any]]]:
        return [
            (name, e["payload"]) for name in instruments(venue) for e in streams[(name, data_type)]
        ]

    def by_symbol(rows: list[Any]) -> list[Any]:
        order = {name: i for i, name in enumerate(instruments(venue))}
        return sorted(rows, key=lambda row: order[row[0]])  # stable: per-symbol order kept

    trades = [
        (n, p["trade_id"], Decimal(p["price"]), Decimal(p["quantity"]), p["side"].lower())
        for n, p in of("trade")
    ]
    assert trades == by_symbol(gate_trades(capture))
    tickers = [
        (n, p["bid_price"], p["bid_quantity"], p["ask_price"], p["ask_quantity"])
        for n, p in of("ticker")
    ]
    reference_tickers = [
        (s, *(str(Decimal(v)) for v in rest)) for s, *rest in by_symbol(gate_tickers(capture))
    ]
    assert [(s, *(str(Decimal(v)) for v in rest)) for s, *rest in tickers] == reference_tickers
    candles = [
        (n, p["open_time"], p["open"], p["high"], p["low"], p["close"], p["volume"])
        for n, p in of("candle")
    ]
    assert [(s, t, *(Decimal(v) for v in rest)) for s, t, *rest in candles] == [
        (s, t, *(Decimal(v) for v in rest)) for s, t, *rest in by_symbol(gate_candles(capture))
    ]

    reference = gate_books(capture)
    counts: Counter[str] = Counter(trade=len(trades), ticker=len(tickers), candle=len(candles))
    for name in instruments(venue):
        updates = [e["payload"] for e in streams[(name, "l2_orderbook")]]
        if name not in reference:
            assert updates == [], name
            continue
        assert updates[0]["is_snapshot"] is True
        assert wire_book(updates) == reference[name], name
        counts["l2_orderbook"] += len(updates)
        counts["l2_snapshot"] += sum(1 for u in updates if u["is_snapshot"])
    assert (
        len(messages)
        == counts["trade"] + counts["ticker"] + counts["candle"] + counts["l2_orderbook"]
    )
    print(f"\n{venue}: {len(messages)} messages in JetStream: {dict(counts)}")
    return counts
