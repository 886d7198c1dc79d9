"""The protobuf envelope: golden bytes, round trips, presence of optional fields."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import betterproto
import pytest
from support.recorded_events import RecordedEvent

from relay.domain.errors import InvalidValueError
from relay.domain.model import Ticker
from relay.serialization.codec import WireDecodeError
from relay.serialization.formats import codec_for
from relay.serialization.generated import market_data as pb
from relay.serialization.json_codec import decode_json, encode_json
from relay.serialization.protobuf_codec import (
    ProtobufCodec,
    decode_protobuf,
    encode_protobuf,
    parse_protobuf,
)

GOLDEN = Path(__file__).parent / "golden"
UPDATE_GOLDEN = os.environ.get("RELAY_UPDATE_GOLDEN") == "1"


def test_each_recorded_event_encodes_to_its_golden_protobuf_bytes(
    recorded: RecordedEvent,
) -> None:
    path = GOLDEN / f"{recorded.name}.pb.hex"
    data = encode_protobuf(recorded.event, recorded.sequence)
    if UPDATE_GOLDEN:
        path.write_text(data.hex() + "\n")
    assert data == bytes.fromhex(path.read_text())


def test_protobuf_decodes_to_the_same_wire_dict_as_json(recorded: RecordedEvent) -> None:
    from_protobuf = decode_protobuf(encode_protobuf(recorded.event, recorded.sequence))
    from_json = decode_json(encode_json(recorded.event, recorded.sequence))

    assert from_protobuf == from_json
    assert list(from_protobuf) == list(from_json)
    assert list(from_protobuf["payload"]) == list(from_json["payload"])


def test_every_decimal_in_protobuf_is_the_venues_own_string(recorded: RecordedEvent) -> None:
    payload = decode_protobuf(encode_protobuf(recorded.event, recorded.sequence))["payload"]

    for field, venue_text in recorded.venue_decimals.items():
        assert payload[field] == venue_text, field


def test_ctkusdt_agg_trade_parses_into_the_betterproto_classes_with_every_field(
    recorded_by_name: dict[str, RecordedEvent],
) -> None:
    recorded = recorded_by_name["trade_binance_usdm_ctkusdt"]

    message = pb.MarketEvent().parse(encode_protobuf(recorded.event, 1))

    assert message.venue == "binance-usdm"
    assert message.instrument == "CTKUSDT"
    assert message.canonical_symbol == "CTK/USDT"
    assert message.data_type == "trade"
    assert message.received_at == 1626992742289
    assert message.exchange_timestamp == 1626992741421
    assert message.sequence == 1
    assert betterproto.which_one_of(message, "payload") == (
        "trade",
        pb.Trade(trade_id="16599292", price="1.01100", quantity="10", side="BUY"),
    )


def test_order_book_levels_parse_as_price_level_messages(
    recorded_by_name: dict[str, RecordedEvent],
) -> None:
    recorded = recorded_by_name["l2_update_binance_usdm_sushiusdt"]

    message = parse_protobuf(encode_protobuf(recorded.event, recorded.sequence))

    assert message.data_type == "l2_orderbook"
    assert message.l2_update == pb.L2Update(
        bids=[
            pb.PriceLevel("7.5040", "813"),
            pb.PriceLevel("7.6090", "0"),
            pb.PriceLevel("7.6110", "2"),
        ],
        asks=[pb.PriceLevel("7.6150", "1563"), pb.PriceLevel("7.6220", "3284")],
        is_snapshot=False,
        first_update_id=600859599090,
        last_update_id=600859600917,
    )


def test_candle_parses_with_times_in_epoch_ms(
    recorded_by_name: dict[str, RecordedEvent],
) -> None:
    recorded = recorded_by_name["candle_binance_usdm_sushiusdt"]

    message = parse_protobuf(encode_protobuf(recorded.event, recorded.sequence))

    assert message.candle == pb.Candle(
        interval="1m",
        open_time=1626992700000,
        close_time=1626992759999,
        open="7.6080",
        high="7.6180",
        low="7.6070",
        close="7.6170",
        volume="3005",
        is_closed=True,
        quote_volume="22875.8590",
        trade_count=113,
    )


def test_unset_optional_fields_parse_as_none_and_zero_stays_zero(
    recorded_by_name: dict[str, RecordedEvent],
) -> None:
    spot = recorded_by_name["ticker_binance_spot_nknusdt"].event
    assert isinstance(spot.payload, Ticker)
    absent = replace(spot, payload=replace(spot.payload, update_id=None))
    zero = replace(spot, exchange_timestamp_ms=0, payload=replace(spot.payload, update_id=0))

    absent_message = parse_protobuf(encode_protobuf(absent, 9))
    zero_message = parse_protobuf(encode_protobuf(zero, 9))

    assert absent_message.exchange_timestamp is None
    assert absent_message.ticker.update_id is None
    assert zero_message.exchange_timestamp == 0
    assert zero_message.ticker.update_id == 0


def test_sequence_is_carried_as_uint64(recorded_by_name: dict[str, RecordedEvent]) -> None:
    recorded = recorded_by_name["open_interest_binance_usdm_btcusdt"]

    message = parse_protobuf(encode_protobuf(recorded.event, 2**64 - 1))

    assert message.sequence == 2**64 - 1
    assert message.open_interest == pb.OpenInterest(open_interest="10659.509")


def test_negative_sequence_is_refused(recorded_by_name: dict[str, RecordedEvent]) -> None:
    recorded = recorded_by_name["trade_binance_usdm_ctkusdt"]

    with pytest.raises(InvalidValueError) as caught:
        encode_protobuf(recorded.event, -1)

    assert caught.value.field == "sequence"


def test_bytes_that_are_not_a_market_event_are_refused() -> None:
    with pytest.raises(WireDecodeError) as garbage:
        decode_protobuf(b"\xff\xff")
    with pytest.raises(WireDecodeError) as empty:
        decode_protobuf(b"")

    assert garbage.value.content_type == "application/protobuf"
    assert empty.value.reason == "no payload set"


def test_betterproto_serializes_through_the_rust_codec() -> None:
    assert betterproto.Message.__bytes__.__name__ == "__bytes_patch"
    assert betterproto.Message.parse.__name__ == "__parse_patch"


def test_codec_for_protobuf_is_the_protobuf_codec_with_its_content_type(
    recorded_by_name: dict[str, RecordedEvent],
) -> None:
    recorded = recorded_by_name["liquidation_binance_usdm_btcusdt"]
    codec = codec_for("protobuf")

    assert isinstance(codec, ProtobufCodec)
    assert codec.content_type == "application/protobuf"
    assert codec.decode(codec.encode(recorded.event, 5))["payload"] == {
        "type": "liquidation",
        "side": "SELL",
        "price": "9910",
        "quantity": "0.014",
        "order_status": "FILLED",
    }
