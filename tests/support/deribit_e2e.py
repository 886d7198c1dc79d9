"""The recorded Deribit session end to end: the relay's config for it, and JetStream checked
against ``deribit_reference`` (built from the raw frames, no relay code).

Used by ``tests/e2e/test_end_to_end_deribit.py`` and ``tests/e2e/test_end_to_end_poison.py``.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from relay.infrastructure.embedded_nats import free_port
from relay.infrastructure.venues.deribit.listing import canonical_symbol
from support.deribit_reference import deribit_reference, instruments
from support.e2e import Stored, decode, relay_header, wire_book


def config_text(nats_url: str, simulator: str) -> str:
    """Relay TOML: NATS at ``nats_url``, Deribit at the simulator ``host:port``, all instruments."""
    parts = [
        relay_header(nats_url, free_port()),
        f"""
[[venues]]
id = "deribit"
ws_url = "ws://{simulator}/deribit/ws/api/v2"
""",
    ]
    for name in instruments():
        parts.append(f"""
[[venues.subscriptions]]
instrument = "{name}"
canonical_symbol = "{canonical_symbol(name, "option", "", "")}"
data_types = ["trade", "ticker", "l2_orderbook"]
""")
    return "".join(parts)


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
        assert wire_book(updates) == ref.books[name], name
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
