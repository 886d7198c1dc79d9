"""The JSON envelope: golden bytes, exact field names, venue digits, nulls."""

from __future__ import annotations

import os
from dataclasses import fields, replace
from decimal import Decimal
from pathlib import Path

import orjson
import pytest
from support.recorded_events import RecordedEvent

from relay.domain.errors import InvalidValueError
from relay.domain.model import L2Update
from relay.serialization.codec import (
    ENVELOPE_KEYS,
    PAYLOAD_TYPE,
    UnsupportedPayloadError,
    WireDecodeError,
    decimal_text,
)
from relay.serialization.formats import UnknownFormatError, codec_for
from relay.serialization.json_codec import JsonCodec, decode_json, encode_json
from relay.serialization.protobuf_codec import decode_protobuf
from relay.serialization.protobuf_wire import encode_event

GOLDEN = Path(__file__).parent / "golden"
UPDATE_GOLDEN = os.environ.get("RELAY_UPDATE_GOLDEN") == "1"

PAYLOAD_KEYS = {
    "trade": ["type", "trade_id", "price", "quantity", "side"],
    "ticker": ["type", "bid_price", "bid_quantity", "ask_price", "ask_quantity", "update_id"],
    "l2_update": [
        "type",
        "bids",
        "asks",
        "is_snapshot",
        "first_update_id",
        "last_update_id",
        "snapshot_part",
        "snapshot_parts",
    ],
    "funding_rate": ["type", "rate", "mark_price", "index_price", "next_funding_time"],
    "open_interest": ["type", "open_interest"],
    "liquidation": ["type", "side", "price", "quantity", "order_status"],
    "candle": [
        "type",
        "interval",
        "open_time",
        "close_time",
        "open",
        "high",
        "low",
        "close",
        "volume",
        "is_closed",
        "quote_volume",
        "trade_count",
    ],
}
"""What a consumer reads: each payload type's keys, in wire order (docs/wire-format.md)."""


def test_each_recorded_event_encodes_to_its_golden_json_bytes(recorded: RecordedEvent) -> None:
    path = GOLDEN / f"{recorded.name}.json"
    data = encode_json(recorded.event, recorded.sequence)
    if UPDATE_GOLDEN:
        path.write_bytes(data)
    assert data == path.read_bytes()


def test_ctkusdt_agg_trade_is_published_as_the_documented_json(
    recorded_by_name: dict[str, RecordedEvent],
) -> None:
    recorded = recorded_by_name["trade_binance_usdm_ctkusdt"]

    data = JsonCodec().encode(recorded.event, 1)

    assert data == (
        b'{"venue":"binance-usdm","instrument":"CTKUSDT","canonical_symbol":"CTK/USDT",'
        b'"data_type":"trade","received_at":1626992742289,"exchange_timestamp":1626992741421,'
        b'"sequence":1,"payload":{"type":"trade","trade_id":"16599292","price":"1.01100",'
        b'"quantity":"10","side":"BUY"}}'
    )
    event = recorded.event
    assert event.instrument.subject(event.data_type) == "market.binance-usdm.ctk-usdt.trade"


def test_every_decimal_on_the_wire_is_the_venues_own_string(recorded: RecordedEvent) -> None:
    payload = decode_json(encode_json(recorded.event, recorded.sequence))["payload"]

    for field, venue_text in recorded.venue_decimals.items():
        assert payload[field] == venue_text, field


def test_envelope_keys_are_exactly_the_documented_ones_in_order(recorded: RecordedEvent) -> None:
    document = decode_json(encode_json(recorded.event, recorded.sequence))

    assert list(document) == [
        "venue",
        "instrument",
        "canonical_symbol",
        "data_type",
        "received_at",
        "exchange_timestamp",
        "sequence",
        "payload",
    ]
    assert list(document) == list(ENVELOPE_KEYS)


def test_each_payload_type_has_exactly_its_documented_keys(recorded: RecordedEvent) -> None:
    payload = decode_json(encode_json(recorded.event, recorded.sequence))["payload"]

    assert list(payload) == PAYLOAD_KEYS[payload["type"]]


def test_recorded_events_cover_every_payload_type(
    recorded_by_name: dict[str, RecordedEvent],
) -> None:
    types = {type(r.event.payload) for r in recorded_by_name.values()}

    assert types == set(PAYLOAD_TYPE)
    assert sorted(PAYLOAD_TYPE.values()) == sorted(PAYLOAD_KEYS)


def test_order_book_events_have_data_type_l2_orderbook_and_payload_type_l2_update(
    recorded_by_name: dict[str, RecordedEvent],
) -> None:
    recorded = recorded_by_name["l2_update_binance_usdm_sushiusdt"]

    document = decode_json(encode_json(recorded.event, recorded.sequence))

    assert document["data_type"] == "l2_orderbook"
    assert document["payload"] == {
        "type": "l2_update",
        "bids": [["7.5040", "813"], ["7.6090", "0"], ["7.6110", "2"]],
        "asks": [["7.6150", "1563"], ["7.6220", "3284"]],
        "is_snapshot": False,
        "first_update_id": 600859599090,
        "last_update_id": 600859600917,
        "snapshot_part": None,
        "snapshot_parts": None,
    }


def test_snapshot_has_is_snapshot_true_and_both_update_ids_equal(
    recorded_by_name: dict[str, RecordedEvent],
) -> None:
    recorded = recorded_by_name["l2_snapshot_binance_usdm_sushiusdt"]

    payload = decode_json(encode_json(recorded.event, recorded.sequence))["payload"]

    assert payload["is_snapshot"] is True
    assert payload["first_update_id"] == 600859605926
    assert payload["last_update_id"] == 600859605926
    assert (payload["snapshot_part"], payload["snapshot_parts"]) == (1, 1)


def test_a_snapshot_part_says_which_part_of_how_many_in_json_and_protobuf(
    recorded_by_name: dict[str, RecordedEvent],
) -> None:
    recorded = recorded_by_name["l2_snapshot_binance_usdm_sushiusdt"]
    book = recorded.event.payload
    assert isinstance(book, L2Update)
    part = replace(recorded.event, payload=replace(book, snapshot_part=2, snapshot_parts=3))

    as_json = decode_json(encode_json(part, recorded.sequence))
    as_protobuf = decode_protobuf(encode_event(part, recorded.sequence))

    assert (as_json["payload"]["snapshot_part"], as_json["payload"]["snapshot_parts"]) == (2, 3)
    assert as_protobuf == as_json


def test_missing_exchange_time_and_update_id_are_json_null(
    recorded_by_name: dict[str, RecordedEvent],
) -> None:
    spot = recorded_by_name["ticker_binance_spot_nknusdt"]
    okx = recorded_by_name["ticker_okx_btc_usdt"]

    spot_document = decode_json(encode_json(spot.event, spot.sequence))
    okx_document = decode_json(encode_json(okx.event, okx.sequence))

    assert spot_document["exchange_timestamp"] is None
    assert spot_document["payload"]["update_id"] == 499869768
    assert okx_document["exchange_timestamp"] == 1652459224956
    assert okx_document["payload"]["update_id"] is None
    assert b'"update_id":null' in encode_json(okx.event, okx.sequence)


def test_tiny_gate_prices_are_written_without_exponent(
    recorded_by_name: dict[str, RecordedEvent],
) -> None:
    recorded = recorded_by_name["l2_update_gate_spot_hai_eth"]

    data = encode_json(recorded.event, recorded.sequence)

    assert str(Decimal("0.00000063")) == "6.3E-7"
    assert b'["0.00000063","15873.015"]' in data
    assert b'["0.0000001","100000"]' in data
    assert b"E-" not in data
    assert b"E+" not in data


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Decimal("7.6110"), "7.6110"),
        (Decimal("0.00000637"), "0.00000637"),
        (Decimal("0.00000063"), "0.00000063"),
        (Decimal("0.00000010"), "0.00000010"),
        (Decimal("1E+1"), "10"),
        (Decimal("3005"), "3005"),
        (Decimal("-0.00038167"), "-0.00038167"),
    ],
)
def test_decimal_text_keeps_the_digits_and_never_uses_exponent(value: Decimal, text: str) -> None:
    assert decimal_text(value) == text


def test_json_output_is_compact_utf8(recorded: RecordedEvent) -> None:
    data = encode_json(recorded.event, recorded.sequence)

    assert b", " not in data
    assert b": " not in data
    assert b"\n" not in data
    assert orjson.loads(data) == decode_json(data)


def test_sequence_is_written_as_given(recorded_by_name: dict[str, RecordedEvent]) -> None:
    recorded = recorded_by_name["candle_binance_usdm_sushiusdt"]

    assert decode_json(encode_json(recorded.event, 0))["sequence"] == 0
    assert decode_json(encode_json(recorded.event, 2**63))["sequence"] == 2**63


def test_negative_sequence_is_refused(recorded_by_name: dict[str, RecordedEvent]) -> None:
    recorded = recorded_by_name["trade_binance_usdm_ctkusdt"]

    with pytest.raises(InvalidValueError) as caught:
        encode_json(recorded.event, -1)

    assert caught.value.field == "sequence"
    assert caught.value.value == -1


def test_payload_that_is_not_a_payload_class_is_refused(
    recorded_by_name: dict[str, RecordedEvent],
) -> None:
    recorded = recorded_by_name["trade_binance_usdm_ctkusdt"]
    event = replace(recorded.event, payload="not a payload")  # type: ignore[arg-type]

    with pytest.raises(UnsupportedPayloadError) as caught:
        encode_json(event, 1)

    assert caught.value.payload_type is str


def test_decode_json_refuses_bytes_that_are_not_a_json_object() -> None:
    with pytest.raises(WireDecodeError) as not_json:
        decode_json(b"{not json")
    with pytest.raises(WireDecodeError) as not_object:
        decode_json(b'["trade"]')

    assert not_json.value.content_type == "application/json"
    assert not_object.value.reason == "expected an object, got list"


def test_codec_for_json_is_the_json_codec_with_its_content_type(
    recorded_by_name: dict[str, RecordedEvent],
) -> None:
    recorded = recorded_by_name["trade_binance_usdm_ctkusdt"]
    codec = codec_for("json")

    assert isinstance(codec, JsonCodec)
    assert codec.content_type == "application/json"
    assert codec.decode(codec.encode(recorded.event, 1))["payload"]["trade_id"] == "16599292"


def test_codec_for_an_unknown_format_raises_with_the_name() -> None:
    with pytest.raises(UnknownFormatError) as caught:
        codec_for("msgpack")

    assert caught.value.format_name == "msgpack"


def test_payload_keys_are_the_domain_field_names_without_ms_suffix() -> None:
    for payload_class, word in PAYLOAD_TYPE.items():
        names = [field.name.removesuffix("_ms") for field in fields(payload_class)]

        assert names == PAYLOAD_KEYS[word][1:], word
