"""One connection's subscriptions: instruments by venue id and the ``unsubscribed`` refusal."""

from __future__ import annotations

import pytest

from relay.application.errors import FrameError
from relay.config.model import SubscriptionConfig, VenueConfig
from relay.domain.model import DataType, Instrument
from relay.infrastructure.venues.common.subscriptions import Subscriptions

CONFIG = VenueConfig(
    id="okx",
    subscriptions=(
        SubscriptionConfig("BTC-USDT", "BTC/USDT", (DataType.TRADE, DataType.L2_ORDERBOOK)),
        SubscriptionConfig("ETH-USDT", "ETH/USDT", (DataType.TICKER,)),
    ),
)


def test_each_subscription_gives_its_instrument_and_wanted_data_types() -> None:
    subs = Subscriptions(CONFIG)
    assert subs.instruments == {
        "BTC-USDT": Instrument("okx", "BTC-USDT", "BTC/USDT"),
        "ETH-USDT": Instrument("okx", "ETH-USDT", "ETH/USDT"),
    }
    assert subs.wanted == {
        "BTC-USDT": frozenset({DataType.TRADE, DataType.L2_ORDERBOOK}),
        "ETH-USDT": frozenset({DataType.TICKER}),
    }
    assert subs.instrument("BTC-USDT", DataType.TRADE) is subs.instruments["BTC-USDT"]
    assert subs.find("ETH-USDT", DataType.TICKER) is subs.instruments["ETH-USDT"]


@pytest.mark.parametrize(
    ("venue_id", "data_type", "detail"),
    [
        ("ETH-USDT", DataType.TRADE, "ETH-USDT trade"),  # subscribed, not for trades
        ("SOL-USDT", DataType.TICKER, "SOL-USDT ticker"),  # not subscribed at all
        (["BTC-USDT"], DataType.TRADE, "['BTC-USDT'] trade"),  # not a str: through wire.label
        (None, DataType.L2_ORDERBOOK, "None l2_orderbook"),
    ],
)
def test_anything_not_subscribed_for_the_data_type_is_refused_as_unsubscribed(
    venue_id: object, data_type: DataType, detail: str
) -> None:
    subs = Subscriptions(CONFIG)
    assert subs.find(venue_id, data_type) is None
    with pytest.raises(FrameError) as info:
        subs.instrument(venue_id, data_type)
    assert (info.value.reason, info.value.detail) == ("unsubscribed", detail)


def test_a_detail_longer_than_the_limit_is_cut() -> None:
    subs = Subscriptions(CONFIG)
    with pytest.raises(FrameError) as info:
        subs.instrument("X" * 500, DataType.TRADE)
    assert info.value.detail == "X" * 200 + "..."
