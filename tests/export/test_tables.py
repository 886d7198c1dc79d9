"""Tests of relay.export.tables, relay.export and relay.export.run's pure parts."""

from __future__ import annotations

import datetime
import io
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest

from relay.export import ProgressBar, output_path
from relay.export.jetstream import ExportError
from relay.export.run import parse_time
from relay.export.tables import PAYLOAD_KINDS, StoredMessage, build_tables, decimal_type

STORED_AT = datetime.datetime(2026, 12, 1, 12, 0, 0, 123000, tzinfo=datetime.UTC)


def message(payload: dict[str, object], data_type: str, sequence: int) -> StoredMessage:
    return StoredMessage(
        subject=f"market.binance-usdm.sushi-usdt.{data_type}",
        msg_id=f"id-{sequence}",
        stream_sequence=sequence,
        stored_at=STORED_AT,
        envelope={
            "venue": "binance-usdm",
            "instrument": "SUSHIUSDT",
            "canonical_symbol": "SUSHI/USDT",
            "data_type": data_type,
            "received_at": 1626992741062,
            "exchange_timestamp": None if sequence == 2 else 1626992740995,
            "sequence": sequence,
            "payload": payload,
        },
    )


def test_payload_kinds_come_from_the_domain_classes() -> None:
    assert PAYLOAD_KINDS["trade"].decimals == {"price", "quantity"}
    assert PAYLOAD_KINDS["candle"].decimals == {
        "open",
        "high",
        "low",
        "close",
        "volume",
        "quote_volume",
    }
    assert PAYLOAD_KINDS["candle"].times == {"open_time", "close_time"}
    assert PAYLOAD_KINDS["funding_rate"].times == {"next_funding_time"}
    assert PAYLOAD_KINDS["l2_update"].decimals == set()


@pytest.mark.parametrize(
    ("texts", "expected"),
    [
        (["7.6110", "12.5"], pa.decimal128(6, 4)),
        (["0.00000063"], pa.decimal128(8, 8)),
        (["31000", "0.1"], pa.decimal128(6, 1)),
        (["0"], pa.decimal128(1, 0)),
        ([None, "1.5"], pa.decimal128(2, 1)),
        (["1" * 30 + "." + "2" * 9], pa.string()),
        ([None], pa.string()),
    ],
)
def test_decimal_type_is_the_least_decimal128_or_a_string(
    texts: list[str | None], expected: pa.DataType
) -> None:
    assert decimal_type(texts) == expected


def test_trades_become_one_table_with_decimal_and_time_columns() -> None:
    trades = [
        message(
            {"type": "trade", "trade_id": "1", "price": "7.6110", "quantity": "3", "side": "BUY"},
            "trade",
            1,
        ),
        message(
            {"type": "trade", "trade_id": "2", "price": "7.61", "quantity": "0.5", "side": "SELL"},
            "trade",
            2,
        ),
    ]
    tables = build_tables(trades)
    assert list(tables) == ["trade"]
    table = tables["trade"]
    assert table.schema.field("price").type == pa.decimal128(5, 4)
    assert table.schema.field("quantity").type == pa.decimal128(2, 1)
    assert table.schema.field("received_at").type == pa.timestamp("ms", tz="UTC")
    rows = table.to_pylist()
    assert rows[1] == {
        "subject": "market.binance-usdm.sushi-usdt.trade",
        "msg_id": "id-2",
        "stream_sequence": 2,
        "stored_at": STORED_AT,
        "venue": "binance-usdm",
        "instrument": "SUSHIUSDT",
        "canonical_symbol": "SUSHI/USDT",
        "data_type": "trade",
        "sequence": 2,
        "received_at": datetime.datetime(2021, 7, 22, 22, 25, 41, 62000, tzinfo=datetime.UTC),
        "exchange_timestamp": None,
        "trade_id": "2",
        "price": Decimal("7.6100"),
        "quantity": Decimal("0.5"),
        "side": "SELL",
    }


def test_book_levels_become_lists_of_decimal_structs_and_data_types_separate_tables() -> None:
    book = message(
        {
            "type": "l2_update",
            "bids": [["7.611", "10"], ["7.6", "0"]],
            "asks": [],
            "is_snapshot": True,
            "first_update_id": None,
            "last_update_id": 600859605926,
            "snapshot_part": 1,
            "snapshot_parts": 1,
        },
        "l2_orderbook",
        1,
    )
    huge = message(
        {"type": "open_interest", "open_interest": "9" * 40},
        "open_interest",
        3,
    )
    tables = build_tables([book, huge])
    assert list(tables) == ["l2_orderbook", "open_interest"]
    level = pa.struct([("price", pa.decimal128(4, 3)), ("quantity", pa.decimal128(2, 0))])
    assert tables["l2_orderbook"].schema.field("bids").type == pa.list_(level)
    assert tables["l2_orderbook"].to_pylist()[0]["bids"] == [
        {"price": Decimal("7.611"), "quantity": Decimal("10")},
        {"price": Decimal("7.600"), "quantity": Decimal("0")},
    ]
    assert tables["open_interest"].schema.field("open_interest").type == pa.string()
    assert tables["open_interest"].to_pylist()[0]["open_interest"] == "9" * 40


def test_output_paths_add_the_data_type_before_the_parquet_suffix() -> None:
    assert output_path(Path("/x/trades.parquet"), "trade") == Path("/x/trades.trade.parquet")
    assert output_path(Path("dump"), "candle") == Path("dump.candle.parquet")


def test_times_are_iso_8601_utc_by_default_or_epoch_milliseconds() -> None:
    utc = datetime.UTC
    assert parse_time("2026-12-01T12:00:00Z") == datetime.datetime(2026, 12, 1, 12, tzinfo=utc)
    assert parse_time("2026-12-01T12:00:00") == datetime.datetime(2026, 12, 1, 12, tzinfo=utc)
    assert parse_time("2026-12-01T14:00:00+02:00") == datetime.datetime(2026, 12, 1, 12, tzinfo=utc)
    assert parse_time("1626992741062") == datetime.datetime(
        2021, 7, 22, 22, 25, 41, 62000, tzinfo=utc
    )
    with pytest.raises(ExportError) as raised:
        parse_time("yesterday")
    assert str(raised.value) == (
        "not a time: 'yesterday' (ISO 8601 like 2026-12-01T12:00:00Z, or epoch milliseconds)"
    )


def test_the_progress_bar_redraws_at_most_every_200_ms_and_always_at_the_end() -> None:
    stream = io.StringIO()
    now = [0.0]
    bar = ProgressBar(stream, clock=lambda: now[0])
    bar.update(0, 200)
    now[0] = 0.1
    bar.update(100, 200)  # too soon: not drawn
    now[0] = 0.25
    bar.update(150, 200)
    bar.update(200, 200)  # the end is always drawn
    bar.close()
    assert stream.getvalue() == (
        "\rexport [------------------------------] 0/200 messages   0%"
        "\rexport [######################--------] 150/200 messages  75%"
        "\rexport [##############################] 200/200 messages 100%\n"
    )
