"""The recorded Kraken Futures session end to end: the relay's config for it, and JetStream
checked against ``kraken_futures_reference`` (built from the raw frames, no relay code).

Used by ``tests/e2e/test_end_to_end_kraken_futures.py``.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from support.e2e import Stored, decode, relay_header, wire_book
from support.kraken_futures_reference import kraken_futures_reference

PRODUCTS = (
    "FI_BCHUSD_210730",
    "FI_BCHUSD_210924",
    "FI_ETHUSD_210730",
    "FI_ETHUSD_211231",
    "FI_XBTUSD_210730",
    "FI_XBTUSD_210924",
    "FI_XRPUSD_210924",
    "PI_ETHUSD",
    "PI_LTCUSD",
    "PI_XRPUSD",
)
"""The ten products of ``kraken-futures.jsonl``."""


def canonical(name: str) -> str:
    """``PI_ETHUSD`` -> ``PI-ETHUSD`` (the tests' canonical symbol)."""
    return name.replace("_", "-")


def config_text(nats_url: str, simulator: str, http_port: int) -> str:
    """Relay TOML: NATS at ``nats_url``, Kraken Futures at the simulator ``host:port``,
    trade and l2_orderbook of every recorded product."""
    parts = [
        relay_header(nats_url, http_port),
        f"""
[[venues]]
id = "kraken-futures"
ws_url = "ws://{simulator}/kraken-futures/ws/v1"
""",
    ]
    for name in PRODUCTS:
        parts.append(f"""
[[venues.subscriptions]]
instrument = "{name}"
canonical_symbol = "{canonical(name)}"
data_types = ["trade", "l2_orderbook"]
""")
    return "".join(parts)


def by_stream(messages: Stored) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """Envelopes per (instrument, data type), subjects and per-stream sequences checked."""
    streams: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for subject, _, data in messages:
        env = decode(data, "json")
        assert env["venue"] == "kraken-futures"
        token = env["canonical_symbol"].lower()
        assert subject == f"market.kraken-futures.{token}.{env['data_type']}"
        streams[(env["instrument"], env["data_type"])].append(env)
    for key, envs in streams.items():
        assert [e["sequence"] for e in envs] == list(range(1, len(envs) + 1)), key
    return streams


def verify_kraken_futures(messages: Stored) -> Counter[str]:
    """JetStream holds exactly the reference's trades and every final book; returns counts."""
    ref = kraken_futures_reference()
    msg_ids = [headers["Nats-Msg-Id"] for _, headers, _ in messages]
    assert len(msg_ids) == len(set(msg_ids))
    streams = by_stream(messages)
    counts: Counter[str] = Counter()
    for name in PRODUCTS:
        trades = [
            (p["trade_id"], p["price"], p["quantity"], p["side"])
            for p in (e["payload"] for e in streams[(name, "trade")])
        ]
        assert trades == ref.trades.get(name, []), name
        updates = [e["payload"] for e in streams[(name, "l2_orderbook")]]
        assert updates[0]["is_snapshot"] is True
        assert wire_book(updates) == ref.books[name], name
        assert len(updates) == ref.book_messages[name], name
        counts["trade"] += len(trades)
        counts["l2_orderbook"] += len(updates)
        counts["l2_snapshot"] += sum(1 for u in updates if u["is_snapshot"])
    assert ref.breaks == 0
    assert len(messages) == counts["trade"] + counts["l2_orderbook"]
    assert dict(counts) == {"trade": 3, "l2_orderbook": 7024, "l2_snapshot": 10}
    return counts
