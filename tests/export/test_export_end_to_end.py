"""``relay export`` against a real stream: every Parquet row equals the stored message.

A real nats-server, ``relay simulate`` on ``binance-usdm.jsonl``, ``relay run``
(JSON or protobuf); once the stream holds every message, ``relay export`` runs
as a child process and each per-type Parquet file is read back with pyarrow.
The expected rows come from the stream itself, decoded with
``relay.serialization`` (the codec of the message's ``Content-Type``).
"""

from __future__ import annotations

import asyncio
import datetime
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from support.e2e import (
    config_text,
    expected_counts,
    simulator_process,
    start_relay,
    stop_relay,
    stored_messages,
)

from relay.export.tables import PAYLOAD_KINDS
from relay.infrastructure.embedded_nats import EmbeddedNats, free_port
from relay.serialization.formats import codec_for

pytestmark = pytest.mark.integration

VENUE = ("binance-usdm",)
UTC_MS = pa.timestamp("ms", tz="UTC")


def at_ms(ms: int | None) -> datetime.datetime | None:
    return None if ms is None else datetime.datetime.fromtimestamp(ms / 1000, datetime.UTC)


def expected_row(
    subject: str, headers: dict[str, str], envelope: dict[str, Any], stream_sequence: int
) -> dict[str, Any]:
    """The row the export must write for one stored message (``stored_at`` aside)."""
    row: dict[str, Any] = {
        "subject": subject,
        "msg_id": headers["Nats-Msg-Id"],
        "stream_sequence": stream_sequence,
        "venue": envelope["venue"],
        "instrument": envelope["instrument"],
        "canonical_symbol": envelope["canonical_symbol"],
        "data_type": envelope["data_type"],
        "sequence": envelope["sequence"],
        "received_at": at_ms(envelope["received_at"]),
        "exchange_timestamp": at_ms(envelope["exchange_timestamp"]),
    }
    payload = envelope["payload"]
    kinds = PAYLOAD_KINDS[payload["type"]]
    for name, value in payload.items():
        if name == "type":
            continue
        if name in ("bids", "asks"):
            row[name] = [{"price": Decimal(p), "quantity": Decimal(q)} for p, q in value]
        elif name in kinds.decimals:
            row[name] = None if value is None else Decimal(value)
        elif name in kinds.times:
            row[name] = at_ms(value)
        else:
            row[name] = value
    return row


async def run_export(*args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "relay.cli",
        "export",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode is not None
    return process.returncode, stdout.decode(), stderr.decode()


@pytest.mark.parametrize("fmt", ["json", "protobuf"])
async def test_exported_parquet_rows_equal_every_message_jetstream_holds(
    fmt: str, tmp_path: Path
) -> None:
    async with EmbeddedNats() as nats_server, simulator_process("binance-usdm.jsonl") as sim:
        config = tmp_path / "relay.toml"
        config.write_text(config_text(nats_server.url, sim, free_port(), fmt, VENUE))
        relay = await start_relay(config)
        try:
            stored = await stored_messages(nats_server.url, expected_counts(VENUE))
        finally:
            stderr = await stop_relay(relay)
        assert relay.returncode == 0, stderr[-2000:]
        out = tmp_path / "out" / "binance.parquet"
        code, stdout, progress = await run_export(
            "--subject",
            "market.binance-usdm.>",
            "--since",
            "2020-01-01T00:00:00Z",
            "--until",
            "2100-01-01T00:00:00",
            "--out",
            str(out),
            "--nats-url",
            nats_server.url,
            "--progress",
        )
    assert code == 0, progress

    codec = codec_for(fmt)
    expected: dict[str, list[dict[str, Any]]] = {}
    for index, (subject, headers, data) in enumerate(stored, start=1):
        envelope = codec.decode(data)
        row = expected_row(subject, headers, envelope, index)
        expected.setdefault(envelope["data_type"], []).append(row)
    counts = {data_type: len(rows) for data_type, rows in expected.items()}
    assert counts == {"ticker": 613, "l2_orderbook": 756, "trade": 91, "candle": 67}
    assert sorted(stdout.splitlines()) == sorted(
        f"{out.parent}/binance.{data_type}.parquet: {rows} rows ({data_type})"
        for data_type, rows in counts.items()
    )
    assert progress.endswith(f"] {len(stored)}/{len(stored)} messages 100%\n")
    assert sorted(p.name for p in out.parent.iterdir()) == sorted(
        f"binance.{data_type}.parquet" for data_type in counts
    )

    for data_type, rows in expected.items():
        table = pq.read_table(out.parent / f"binance.{data_type}.parquet")
        assert table.num_rows == len(rows)
        schema = table.schema
        assert schema.field("received_at").type == UTC_MS
        assert schema.field("exchange_timestamp").type == UTC_MS
        assert schema.field("stored_at").type == UTC_MS
        got = table.to_pylist()
        for row in got:
            del row["stored_at"]
        # Decimals compare by value: 7.61 in a scale-4 column reads back as 7.6100.
        assert got == rows
        decimals = PAYLOAD_KINDS[stored_payload_type(data_type)].decimals
        for name in decimals & set(schema.names):
            assert pa.types.is_decimal128(schema.field(name).type), name


def stored_payload_type(data_type: str) -> str:
    return "l2_update" if data_type == "l2_orderbook" else data_type


async def test_a_window_with_no_message_writes_nothing(tmp_path: Path) -> None:
    async with EmbeddedNats() as nats_server, simulator_process("binance-usdm.jsonl") as sim:
        config = tmp_path / "relay.toml"
        config.write_text(config_text(nats_server.url, sim, free_port(), "json", VENUE))
        relay = await start_relay(config)
        try:
            await stored_messages(nats_server.url, expected_counts(VENUE))
        finally:
            await stop_relay(relay)
        out = tmp_path / "out" / "later.parquet"
        code, stdout, stderr = await run_export(
            "--subject",
            "market.binance-usdm.>",
            "--since",
            "2100-01-01T00:00:00Z",
            "--out",
            str(out),
            "--nats-url",
            nats_server.url,
        )
        missing = await run_export(
            "--subject", "nothing.here", "--out", str(out), "--nats-url", nats_server.url
        )
    assert (code, stdout, stderr) == (
        0,
        "no messages on market.binance-usdm.> in the window; nothing written\n",
        "",
    )
    assert not out.parent.exists() or list(out.parent.iterdir()) == []
    assert missing == (2, "", "relay export: no JetStream stream holds subject 'nothing.here'\n")
