"""The hand-written protobuf encoder writes exactly the bytes betterproto writes.

Every comparison is against ``bytes(event_to_message(event, sequence))``: the
betterproto message of the typed API, serialized by betterproto (through its
Rust codec, as installed). Covered: every recorded event, every payload type
with its optional fields unset, set to zero or empty, and set; integer edges
(0, 127/128, 2**63-1, 2**64-1, negative int64); empty and long strings,
unicode; empty, long and 1000-level books; and random events of every
payload type (hypothesis), which must also parse back to the same message.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support.recorded_events import RECORDED_BY_NAME, RecordedEvent

from relay.domain.errors import InvalidValueError
from relay.domain.model import (
    PAYLOAD_DATA_TYPE,
    Candle,
    FundingRate,
    Instrument,
    L2Update,
    Liquidation,
    MarketEvent,
    OpenInterest,
    Payload,
    PriceLevel,
    Side,
    Ticker,
    Trade,
)
from relay.serialization.codec import UnsupportedPayloadError
from relay.serialization.json_codec import event_to_dict
from relay.serialization.protobuf_codec import (
    ProtobufCodec,
    decode_protobuf,
    encode_protobuf,
    event_to_message,
    parse_protobuf,
)
from relay.serialization.protobuf_wire import encode_event, int64_varint, uint64_varint

BTCUSDT = Instrument("binance-usdm", "BTCUSDT", "BTC/USDT")
RECEIVED_AT_MS = 1626992742289
EXCHANGE_TIMESTAMP_MS = 1626992741421


def betterproto_bytes(event: MarketEvent, sequence: int) -> bytes:
    """What betterproto serializes the typed message of ``event`` to."""
    return bytes(event_to_message(event, sequence))


def event_of(
    payload: Payload,
    *,
    instrument: Instrument = BTCUSDT,
    received_at_ms: int = RECEIVED_AT_MS,
    exchange_timestamp_ms: int | None = EXCHANGE_TIMESTAMP_MS,
) -> MarketEvent:
    """An event carrying ``payload`` under its own data type."""
    return MarketEvent(
        instrument,
        PAYLOAD_DATA_TYPE[type(payload)],
        received_at_ms,
        exchange_timestamp_ms,
        payload,
        "dedup",
    )


def levels(count: int, first_price: str, step: str) -> tuple[PriceLevel, ...]:
    """``count`` levels from ``first_price`` moving by ``step``, sizes 1, 2, 3, ..."""
    price, tick = Decimal(first_price), Decimal(step)
    return tuple((price + tick * i, Decimal(i + 1)) for i in range(count))


TRADE = Trade("16599292", Decimal("1.01100"), Decimal("10"), Side.BUY)
TICKER = Ticker(Decimal("7.6110"), Decimal("2"), Decimal("7.6120"), Decimal("297"), 600859600576)
L2_DELTA = L2Update(levels(10, "7.6110", "-0.0010"), levels(10, "7.6120", "0.0010"), False, 7, 9)
FUNDING = FundingRate(
    Decimal("0.00038167"), Decimal("11794.15000000"), Decimal("11784.62659091"), 1562306400000
)
OPEN_INTEREST = OpenInterest(Decimal("10659.509"))
LIQUIDATION = Liquidation(Side.SELL, Decimal("9910"), Decimal("0.014"), "FILLED")
CANDLE = Candle(
    "1m",
    1626992700000,
    1626992759999,
    Decimal("7.6080"),
    Decimal("7.6180"),
    Decimal("7.6070"),
    Decimal("7.6170"),
    Decimal("3005"),
    True,
    Decimal("22875.8590"),
    113,
)

PAYLOAD_CASES: dict[str, Payload] = {
    "trade": TRADE,
    "trade_sell": replace(TRADE, side=Side.SELL),
    "trade_empty_id": replace(TRADE, trade_id=""),
    "trade_unicode_id": replace(TRADE, trade_id="成交-№42-😀"),
    "trade_long_id": replace(TRADE, trade_id="t" * 300),
    "trade_tiny_price": replace(TRADE, price=Decimal("0.00000001"), quantity=Decimal("1E+3")),
    "trade_zero_quantity": replace(TRADE, quantity=Decimal("0")),
    "trade_exponent_zero": replace(TRADE, quantity=Decimal("0E-8")),
    "ticker": TICKER,
    "ticker_update_id_unset": replace(TICKER, update_id=None),
    "ticker_update_id_zero": replace(TICKER, update_id=0),
    "ticker_update_id_127": replace(TICKER, update_id=127),
    "ticker_update_id_128": replace(TICKER, update_id=128),
    "ticker_update_id_max": replace(TICKER, update_id=2**64 - 1),
    "l2_delta": L2_DELTA,
    "l2_empty_delta": L2Update((), (), False),
    "l2_empty_snapshot": L2Update((), (), True, 0, 0),
    "l2_only_bids": L2Update(levels(3, "100", "-1"), (), False, None, 5),
    "l2_only_asks": L2Update((), levels(3, "100", "1"), False, 5, None),
    "l2_ids_large": replace(L2_DELTA, first_update_id=2**63 - 1, last_update_id=2**64 - 1),
    "l2_removal_and_tiny_prices": L2Update(
        ((Decimal("0.00000001"), Decimal("0")), (Decimal("6.3E-7"), Decimal("15873.015"))),
        ((Decimal("1E+2"), Decimal("0.5")),),
        False,
        2691446,
        2691446,
    ),
    "l2_level_over_127_bytes": L2Update(
        ((Decimal("1" * 40 + "." + "2" * 40), Decimal("3" * 40 + "." + "4" * 40)),),
        ((Decimal("5" * 60), Decimal("6" * 60)),),
        False,
    ),
    "l2_snapshot_1000_levels": L2Update(
        levels(500, "29999.9", "-0.1"),
        levels(500, "30000.0", "0.1"),
        True,
        600859605926,
        600859605926,
    ),
    "funding_rate": FUNDING,
    "funding_rate_negative": replace(FUNDING, rate=Decimal("-0.00012345")),
    "funding_rate_only_rate": FundingRate(Decimal("0.0001")),
    "funding_rate_zeros": FundingRate(Decimal("0"), Decimal("0"), Decimal("0"), 0),
    "funding_rate_negative_time": replace(FUNDING, next_funding_time_ms=-1),
    "open_interest": OPEN_INTEREST,
    "open_interest_zero": OpenInterest(Decimal("0")),
    "open_interest_large": OpenInterest(Decimal("123456789012345678901234567890.123456789")),
    "liquidation": LIQUIDATION,
    "liquidation_buy": replace(LIQUIDATION, side=Side.BUY),
    "liquidation_status_unset": replace(LIQUIDATION, order_status=None),
    "liquidation_status_empty": replace(LIQUIDATION, order_status=""),
    "liquidation_status_unicode": replace(LIQUIDATION, order_status="已成交"),
    "candle": CANDLE,
    "candle_open": replace(CANDLE, is_closed=False),
    "candle_optionals_unset": replace(CANDLE, quote_volume=None, trade_count=None),
    "candle_optionals_zero": replace(CANDLE, quote_volume=Decimal("0"), trade_count=0),
    "candle_times_zero": replace(CANDLE, open_time_ms=0, close_time_ms=0),
    "candle_empty_interval": replace(CANDLE, interval=""),
}


def test_payload_cases_cover_every_payload_type() -> None:
    assert {type(payload) for payload in PAYLOAD_CASES.values()} == set(PAYLOAD_DATA_TYPE)


def test_each_recorded_event_encodes_to_betterprotos_bytes(recorded: RecordedEvent) -> None:
    expected = betterproto_bytes(recorded.event, recorded.sequence)

    assert encode_event(recorded.event, recorded.sequence) == expected
    assert encode_protobuf(recorded.event, recorded.sequence) == expected
    assert ProtobufCodec().encode(recorded.event, recorded.sequence) == expected


@pytest.mark.parametrize("payload", PAYLOAD_CASES.values(), ids=PAYLOAD_CASES.keys())
def test_each_payload_case_encodes_to_betterprotos_bytes(payload: Payload) -> None:
    event = event_of(payload)

    assert encode_event(event, 42) == betterproto_bytes(event, 42)


@pytest.mark.parametrize("payload", PAYLOAD_CASES.values(), ids=PAYLOAD_CASES.keys())
def test_each_payload_case_parses_back_to_the_typed_message(payload: Payload) -> None:
    event = event_of(payload)

    assert parse_protobuf(encode_event(event, 42)) == event_to_message(event, 42)


@pytest.mark.parametrize("sequence", [0, 1, 127, 128, 16383, 16384, 2**28, 2**63 - 1, 2**64 - 1])
def test_sequences_from_zero_to_uint64_max_encode_to_betterprotos_bytes(sequence: int) -> None:
    event = event_of(TRADE)

    assert encode_event(event, sequence) == betterproto_bytes(event, sequence)


@pytest.mark.parametrize(
    ("received_at_ms", "exchange_timestamp_ms"),
    [
        (0, None),
        (0, 0),
        (RECEIVED_AT_MS, None),
        (RECEIVED_AT_MS, 0),
        (1, 127),
        (2**28 - 1, 2**28),
        (2**35, 2**42 - 1),
        (2**42, 2**63 - 1),
        (-1, -(2**63)),
        (-RECEIVED_AT_MS, -128),
    ],
)
def test_times_zero_unset_negative_and_extreme_encode_to_betterprotos_bytes(
    received_at_ms: int, exchange_timestamp_ms: int | None
) -> None:
    event = event_of(
        TICKER, received_at_ms=received_at_ms, exchange_timestamp_ms=exchange_timestamp_ms
    )

    assert encode_event(event, 9) == betterproto_bytes(event, 9)


@pytest.mark.parametrize(
    "instrument",
    [
        Instrument("bitfinex", "tBTCUST", "BTC/USDT"),
        Instrument("börse-ü", "ビットコイン円", "BTC/円"),
        Instrument("x", "😀", "😀/€"),
        Instrument("v" * 130, "I" * 200, "C" * 127 + "/" + "Q" * 127),
    ],
    ids=["ascii", "unicode", "emoji", "over_127_bytes"],
)
def test_envelope_strings_in_unicode_and_over_127_bytes_encode_to_betterprotos_bytes(
    instrument: Instrument,
) -> None:
    for payload in (TRADE, LIQUIDATION):
        event = event_of(payload, instrument=instrument)

        assert encode_event(event, 3) == betterproto_bytes(event, 3)


def test_optional_fields_set_to_zero_or_empty_are_written_and_unset_ones_are_not() -> None:
    unset = encode_event(event_of(replace(LIQUIDATION, order_status=None)), 1)
    empty = encode_event(event_of(replace(LIQUIDATION, order_status="")), 1)
    zero_id = encode_event(event_of(replace(TICKER, update_id=0)), 1)
    no_id = encode_event(event_of(replace(TICKER, update_id=None)), 1)

    assert unset[-21:-19] == b"\x7a\x13"  # liquidation = 15, 19 bytes
    assert empty == unset[:-21] + b"\x7a\x15" + unset[-19:] + b"\x22\x00"
    assert zero_id.endswith(b"\x28\x00")
    assert len(zero_id) == len(no_id) + 2
    assert parse_protobuf(empty).liquidation.order_status == ""
    assert parse_protobuf(unset).liquidation.order_status is None


def test_the_set_payload_is_written_even_when_its_body_is_empty() -> None:
    event = event_of(L2Update((), (), False), received_at_ms=0, exchange_timestamp_ms=None)

    data = encode_event(event, 0)

    assert data.endswith(b"\x62\x00")
    assert data == betterproto_bytes(event, 0)
    assert decode_protobuf(data)["payload"] == {
        "type": "l2_update",
        "bids": [],
        "asks": [],
        "is_snapshot": False,
        "first_update_id": None,
        "last_update_id": None,
        "snapshot_part": None,
        "snapshot_parts": None,
    }


def test_golden_trade_is_86_bytes_with_its_fields_in_field_number_order() -> None:
    event = RECORDED_BY_NAME["trade_binance_usdm_ctkusdt"].event

    data = encode_event(event, 1)

    assert data.hex() == (
        "0a0c62696e616e63652d7573646d120743544b555344541a0843544b2f555344542205747261646528"
        "919fcc82ad2f30ad98cc82ad2f3801521c0a0831363539393239321207312e30313130301a023130"
        "2203425559"
    )


@pytest.mark.parametrize(
    ("value", "varint"),
    [
        (0, "00"),
        (1, "01"),
        (127, "7f"),
        (128, "8001"),
        (300, "ac02"),
        (16383, "ff7f"),
        (16384, "808001"),
        (2**28, "8080808001"),
        (1626992742289, "919fcc82ad2f"),
        (2**42, "808080808080" + "01"),
        (2**63 - 1, "ffffffffffffffff7f"),
    ],
)
def test_varints_are_seven_bits_a_byte_low_group_first(value: int, varint: str) -> None:
    assert uint64_varint(value).hex() == varint
    assert int64_varint(value).hex() == varint


def test_uint64_max_and_negative_int64_take_ten_bytes() -> None:
    assert uint64_varint(2**64 - 1).hex() == "ff" * 9 + "01"
    assert int64_varint(-1).hex() == "ff" * 9 + "01"
    assert int64_varint(-(2**63)).hex() == "80" * 9 + "01"


@pytest.mark.parametrize("value", [-1, 2**64])
def test_uint64_varint_refuses_values_outside_its_range(value: int) -> None:
    with pytest.raises(OverflowError):
        uint64_varint(value)


@pytest.mark.parametrize("value", [-(2**63) - 1, 2**63])
def test_int64_varint_refuses_values_outside_its_range(value: int) -> None:
    with pytest.raises(OverflowError):
        int64_varint(value)


@pytest.mark.parametrize(
    ("event", "sequence"),
    [
        (event_of(TRADE), 2**64),
        (event_of(TRADE, received_at_ms=2**63), 1),
        (event_of(TRADE, exchange_timestamp_ms=-(2**63) - 1), 1),
        (event_of(replace(TICKER, update_id=-1)), 1),
        (event_of(replace(TICKER, update_id=2**64)), 1),
        (event_of(replace(CANDLE, trade_count=-1)), 1),
    ],
    ids=[
        "sequence_2_64",
        "received_at_2_63",
        "exchange_timestamp_below_int64",
        "update_id_negative",
        "update_id_2_64",
        "trade_count_negative",
    ],
)
def test_integers_outside_their_protobuf_range_raise_overflow_like_betterproto(
    event: MarketEvent, sequence: int
) -> None:
    with pytest.raises(OverflowError):
        betterproto_bytes(event, sequence)
    with pytest.raises(OverflowError):
        encode_event(event, sequence)


def test_negative_sequence_is_refused_before_encoding() -> None:
    with pytest.raises(InvalidValueError) as caught:
        encode_event(event_of(TRADE), -1)

    assert caught.value.field == "sequence"


def test_a_payload_that_is_not_a_payload_class_is_refused() -> None:
    event = replace(event_of(TRADE), payload=object())  # type: ignore[arg-type]

    with pytest.raises(UnsupportedPayloadError) as caught:
        encode_event(event, 1)

    assert caught.value.payload_type is object


# Random events of every payload type.

DECIMAL_EDGES = [
    Decimal("0"),
    Decimal("-0"),
    Decimal("0E-8"),
    Decimal("0.00000001"),
    Decimal("1E-8"),
    Decimal("6.3E-7"),
    Decimal("-0.00012345"),
    Decimal("1E+3"),
    Decimal("7.6110"),
    Decimal("30228.7"),
    Decimal("123456789012345678.123456789012345678"),
]

decimals = st.one_of(
    st.sampled_from(DECIMAL_EDGES),
    st.builds(
        lambda sign, digits, exponent: Decimal((sign, tuple(digits), exponent)),
        st.integers(0, 1),
        st.lists(st.integers(0, 9), min_size=1, max_size=24),
        st.integers(-18, 6),
    ),
)
"""Decimals as venues send them: up to 24 digits, 18 places or 6 trailing zeros."""

uint64s = st.one_of(st.integers(0, 300), st.integers(0, 2**64 - 1))
int64s = st.one_of(
    st.integers(-300, 300),
    st.integers(1_500_000_000_000, 1_900_000_000_000),
    st.integers(-(2**63), 2**63 - 1),
)
texts = st.text(st.characters(codec="utf-8"), max_size=40)
subject_texts = st.text(
    st.characters(codec="utf-8", exclude_characters=".*> \t"), min_size=1, max_size=20
)
sides = st.sampled_from(Side)
price_levels = st.lists(st.tuples(decimals, decimals), max_size=25).map(tuple)

payloads = st.one_of(
    st.builds(Trade, texts, decimals, decimals, sides),
    st.builds(Ticker, decimals, decimals, decimals, decimals, st.none() | uint64s),
    st.builds(
        L2Update,
        price_levels,
        price_levels,
        st.booleans(),
        st.none() | uint64s,
        st.none() | uint64s,
    ),
    st.builds(
        FundingRate, decimals, st.none() | decimals, st.none() | decimals, st.none() | int64s
    ),
    st.builds(OpenInterest, decimals),
    st.builds(Liquidation, sides, decimals, decimals, st.none() | texts),
    st.builds(
        Candle,
        texts,
        int64s,
        int64s,
        decimals,
        decimals,
        decimals,
        decimals,
        decimals,
        st.booleans(),
        st.none() | decimals,
        st.none() | uint64s,
    ),
)


@st.composite
def market_events(draw: Any) -> MarketEvent:
    """A random event of any payload type, under that payload's data type."""
    payload: Payload = draw(payloads)
    instrument = Instrument(draw(subject_texts), draw(subject_texts), draw(subject_texts))
    return event_of(
        payload,
        instrument=instrument,
        received_at_ms=draw(int64s),
        exchange_timestamp_ms=draw(st.none() | int64s),
    )


@settings(database=None, max_examples=400, deadline=None)
@given(event=market_events(), sequence=uint64s)
def test_random_events_encode_to_betterprotos_bytes_and_parse_back(
    event: MarketEvent, sequence: int
) -> None:
    data = encode_event(event, sequence)

    assert data == betterproto_bytes(event, sequence)
    assert parse_protobuf(data) == event_to_message(event, sequence)
    assert decode_protobuf(data) == event_to_dict(event, sequence)
