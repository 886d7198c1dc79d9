"""The recorded Bitstamp session end to end: the relay's config for it, and JetStream checked
against ``support.bitstamp_reference`` (built from the raw frames, no relay code).

Used by ``tests/e2e/test_end_to_end_bitstamp.py``.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from decimal import Decimal
from typing import Any

from relay.infrastructure.embedded_nats import free_port
from support.bitstamp_reference import bitstamp_books, bitstamp_trades, pairs
from support.e2e import Stored, decode, relay_header, wire_book


def config_text(nats_url: str, simulator: str) -> str:
    """Relay TOML: NATS at ``nats_url``, bitstamp at the simulator ``host:port``, every
    recorded pair (instrument in upper case, as a user may write it) with trade and
    l2_orderbook."""
    parts = [
        relay_header(nats_url, free_port()),
        f"""
[[venues]]
id = "bitstamp"
ws_url = "ws://{simulator}/bitstamp/"
rest_url = "http://{simulator}/bitstamp"
""",
    ]
    for pair in pairs():
        parts.append(f"""
[[venues.subscriptions]]
instrument = "{pair.upper()}"
canonical_symbol = "{pair[:-3].upper()}/{pair[-3:].upper()}"
data_types = ["trade", "l2_orderbook"]
""")
    return "".join(parts)


def verify_bitstamp(messages: Stored) -> Counter[str]:
    """JetStream holds exactly the reference's trades and final books; message ids are
    unique and every stream's sequence has no hole. Returns counts per type."""
    msg_ids = [headers["Nats-Msg-Id"] for _, headers, _ in messages]
    assert len(msg_ids) == len(set(msg_ids))
    streams: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for subject, _, data in messages:
        env = decode(data, "json")
        assert env["venue"] == "bitstamp"
        token = env["canonical_symbol"].lower().replace("/", "-")
        assert subject == f"market.bitstamp.{token}.{env['data_type']}"
        streams[(env["instrument"].lower(), env["data_type"])].append(env)
    for key, envs in streams.items():
        assert [e["sequence"] for e in envs] == list(range(1, len(envs) + 1)), key
    trades = [
        (
            pair,
            e["payload"]["trade_id"],
            Decimal(e["payload"]["price"]),
            Decimal(e["payload"]["quantity"]),
            e["payload"]["side"],
            e["exchange_timestamp"],
        )
        for pair in pairs()
        for e in streams[(pair, "trade")]
    ]
    assert trades == bitstamp_trades()
    reference = bitstamp_books()
    counts: Counter[str] = Counter(trade=len(trades))
    for pair in pairs():
        updates = [e["payload"] for e in streams[(pair, "l2_orderbook")]]
        if pair not in reference:
            assert updates == [], pair
            continue
        assert updates[0]["is_snapshot"] is True
        assert wire_book(updates) == reference[pair], pair
        counts["l2_orderbook"] += len(updates)
        counts["l2_snapshot"] += sum(1 for u in updates if u["is_snapshot"])
    assert len(messages) == counts["trade"] + counts["l2_orderbook"]
    print(f"\nbitstamp: {len(messages)} messages in JetStream: {dict(counts)}")
    return counts
