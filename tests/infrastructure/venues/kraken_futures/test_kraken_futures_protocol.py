"""Kraken Futures protocol: subscribe frames, trades, event answers and refused frames."""

from __future__ import annotations

from decimal import Decimal

import pytest
from support.kraken_futures_frames import BCH, ETH, instrument, of, protocol, recv

from relay.application.errors import FrameError
from relay.domain.model import DataType, MarketEvent, Side, Trade
from relay.infrastructure.venues.kraken_futures import SPEC

LTC = "PI_LTCUSD"


def test_one_subscribe_frame_per_feed_lists_every_product_wanting_it() -> None:
    proto = protocol([BCH, ETH])
    assert proto.ws_url() == "wss://futures.kraken.com/ws/v1"
    assert proto.subscribe_frames() == [
        '{"event":"subscribe","feed":"trade","product_ids":["FI_BCHUSD_210730","PI_ETHUSD"]}',
        '{"event":"subscribe","feed":"book","product_ids":["FI_BCHUSD_210730","PI_ETHUSD"]}',
    ]
    assert protocol([BCH], (DataType.TRADE,)).subscribe_frames() == [
        '{"event":"subscribe","feed":"trade","product_ids":["FI_BCHUSD_210730"]}'
    ]
    assert proto.keepalive() is None


def test_spec_lists_the_data_types_and_the_documents() -> None:
    assert SPEC.data_types == frozenset(
        {
            DataType.TRADE,
            DataType.TICKER,
            DataType.L2_ORDERBOOK,
            DataType.FUNDING_RATE,
            DataType.OPEN_INTEREST,
        }
    )
    assert SPEC.default_ws_url == "wss://futures.kraken.com/ws/v1"
    assert SPEC.docs[1] == ("https://docs.kraken.com/exchange/api-reference/futures-websocket/book")


def test_recorded_trades_are_trades_keyed_by_uid_with_the_digits_sent() -> None:
    proto = protocol()
    trades = [e for f, t in recv() if '"feed":"trade"' in f for e in proto.on_frame(f, t).events]
    assert trades == [
        MarketEvent(
            instrument(LTC),
            DataType.TRADE,
            1626994929929,
            1626994929946,
            Trade(
                "e2429e31-8b9d-4195-900e-fd42be2dec89",
                Decimal("119.44"),
                Decimal("320.0"),
                Side.BUY,
            ),
            "e2429e31-8b9d-4195-900e-fd42be2dec89",
        ),
        MarketEvent(
            instrument(BCH),
            DataType.TRADE,
            1626994933494,
            1626994933519,
            Trade(
                "727c154e-9339-4c50-987f-326c42f313a4", Decimal("439.5"), Decimal("50.0"), Side.BUY
            ),
            "727c154e-9339-4c50-987f-326c42f313a4",
        ),
        trades[2],
    ]
    assert len(trades) == 3


def test_trade_snapshots_and_subscribe_answers_publish_nothing() -> None:
    proto = protocol()
    for frame, t in [*of("trade_snapshot", BCH), *[x for x in recv() if '"event"' in x[0]]]:
        outcome = proto.on_frame(frame, t)
        assert (outcome.events, outcome.replies, outcome.resyncs) == ([], [], [])


@pytest.mark.parametrize(
    ("frame", "reason", "detail"),
    [
        ("{", "not_json", None),
        ('{"feed":"ticker_lite","product_id":"PI_ETHUSD","bid":2004.7}', "unknown_event", None),
        (
            '{"event":"subscribed_failed","feed":"book","product_ids":["PI_NOPE"]}',
            "subscribe_error",
            None,
        ),
        ('{"event":"surprise"}', "unknown_event", "event 'surprise'"),
        (
            '{"feed":"trade","product_id":"PI_XBTUSD","uid":"u","side":"buy","type":"fill",'
            '"seq":1,"time":1,"qty":1.0,"price":1.0}',
            "unsubscribed",
            "PI_XBTUSD trade",
        ),
        (
            '{"feed":"trade","product_id":"PI_ETHUSD","uid":"u","side":"up","type":"fill",'
            '"seq":1,"time":1,"qty":1.0,"price":1.0}',
            "invalid_value",
            None,
        ),
        (
            '{"feed":"book","product_id":"PI_ETHUSD","side":"sell","seq":1,"price":2004.85,'
            '"timestamp":1626994927744}',
            "missing_field",
            "book: 'qty'",
        ),
        (
            '{"feed":"book","product_id":"PI_ETHUSD","side":"sell","seq":1,"price":-1,'
            '"qty":1.0,"timestamp":1626994927744}',
            "invalid_value",
            None,
        ),
    ],
)
def test_bad_frames_are_refused_with_their_reason(
    frame: str, reason: str, detail: str | None
) -> None:
    proto = protocol([BCH, ETH])
    with pytest.raises(FrameError) as caught:
        proto.on_frame(frame, 1)
    assert caught.value.reason == reason
    if detail is not None:
        assert caught.value.detail == detail
