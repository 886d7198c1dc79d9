"""The recorded BitMEX session end to end: the relay's config for it, and JetStream checked
against ``bitmex_reference`` (built from the raw frames, no relay code).

Used by ``tests/e2e/test_end_to_end_bitmex.py``.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from decimal import Decimal
from typing import Any

from relay.infrastructure.embedded_nats import free_port
from support.bitmex_frames import SYMBOLS, canonical
from support.bitmex_reference import bitmex_reference
from support.e2e import Stored, decode, relay_header, starts_snapshot, wire_book

Book = tuple[dict[Decimal, Decimal], dict[Decimal, Decimal]]


def config_text(nats_url: str, simulator: str) -> str:
    """Relay TOML: NATS at ``nats_url``, BitMEX at the simulator ``host:port``, all symbols."""
    parts = [
        relay_header(nats_url, free_port()),
        f"""
[[venues]]
id = "bitmex"
ws_url = "ws://{simulator}/bitmex/realtime"
""",
    ]
    for name in SYMBOLS:
        parts.append(f"""
[[venues.subscriptions]]
instrument = "{name}"
canonical_symbol = "{canonical(name)}"
data_types = ["trade", "ticker", "l2_orderbook"]
""")
    return "".join(parts)


def streams_of(messages: Stored) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """(instrument, data type) -> envelopes in stream order; subjects and sequences checked."""
    msg_ids = [headers["Nats-Msg-Id"] for _, headers, _ in messages]
    assert len(msg_ids) == len(set(msg_ids))
    streams: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for subject, _, data in messages:
        env = decode(data, "json")
        assert env["venue"] == "bitmex"
        token = env["canonical_symbol"].lower().replace("/", "-")
        assert subject == f"market.bitmex.{token}.{env['data_type']}"
        streams[(env["instrument"], env["data_type"])].append(env)
    for key, envs in streams.items():
        assert [e["sequence"] for e in envs] == list(range(1, len(envs) + 1)), key
    return streams


def rebuild(updates: list[dict[str, Any]]) -> tuple[Book, int]:
    """The book a consumer builds from published snapshots (parts) and deltas
    (``support.e2e.wire_book``), and how many snapshots it saw (part 1 of each)."""
    return wire_book(updates), sum(starts_snapshot(update) for update in updates)


def verify_bitmex(messages: Stored) -> dict[str, int]:
    """JetStream holds exactly the reference's trades, quote count and final books;
    returns the counts per data type (and ``l2_snapshot`` parts)."""
    ref = bitmex_reference()
    streams = streams_of(messages)
    counts: Counter[str] = Counter()
    for name in SYMBOLS:
        trades = [
            (p["trade_id"], Decimal(p["price"]), Decimal(p["quantity"]), p["side"].capitalize())
            for p in (e["payload"] for e in streams[(name, "trade")])
        ]
        assert trades == ref.trades[name], name
        assert len(streams[(name, "ticker")]) == ref.quotes[name], name
        updates = [e["payload"] for e in streams[(name, "l2_orderbook")]]
        assert updates[0]["is_snapshot"] is True
        book, snapshots = rebuild(updates)
        assert snapshots == 1, name
        assert book == ref.books[name], name
        counts["trade"] += len(trades)
        counts["ticker"] += len(streams[(name, "ticker")])
        counts["l2_orderbook"] += len(updates)
        counts["l2_snapshot_messages"] += sum(1 for u in updates if u["is_snapshot"])
    assert len(messages) == counts["trade"] + counts["ticker"] + counts["l2_orderbook"]
    return dict(counts)
