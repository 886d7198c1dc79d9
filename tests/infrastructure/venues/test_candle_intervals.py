"""Every candle venue takes exactly the candle intervals its documentation lists.

The tables are the venues' own (each cites the page it follows); these tests hold every
registered candle venue to them: each listed interval builds the protocol, any other is
refused by name with the list, and only candle subscriptions are looked at.
"""

from __future__ import annotations

from collections.abc import Collection

import pytest

from relay.application.ports import VenueProtocol
from relay.config.checks import interval_problem
from relay.config.model import SubscriptionConfig, VenueConfig
from relay.domain.errors import InvalidValueError
from relay.domain.model import DataType
from relay.infrastructure.venues.binance import protocol as binance
from relay.infrastructure.venues.bitfinex import channels as bitfinex
from relay.infrastructure.venues.bybit import protocol as bybit
from relay.infrastructure.venues.coinbase import parse as coinbase
from relay.infrastructure.venues.cryptocom import parse as cryptocom
from relay.infrastructure.venues.deribit import parse as deribit
from relay.infrastructure.venues.dydx import parse as dydx
from relay.infrastructure.venues.gate import parse as gate
from relay.infrastructure.venues.hyperliquid import parse as hyperliquid
from relay.infrastructure.venues.kraken import protocol as kraken
from relay.infrastructure.venues.okx import channels as okx
from relay.infrastructure.venues.registry import registered_venues, venue_spec

OFFERED: dict[str, Collection[str]] = {
    "binance-spot": binance.SPOT_CANDLE_INTERVALS,
    "binance-usdm": binance.FUTURES_CANDLE_INTERVALS,
    "binance-coinm": binance.FUTURES_CANDLE_INTERVALS,
    "bitfinex": bitfinex.CONFIG_INTERVALS,
    "bybit-spot": bybit.INTERVALS,
    "bybit-linear": bybit.INTERVALS,
    "bybit-inverse": bybit.INTERVALS,
    "coinbase": coinbase.CANDLE_INTERVALS,
    "cryptocom": cryptocom.INTERVALS,
    "deribit": deribit.RESOLUTIONS,
    "dydx": dydx.CANDLE_INTERVALS,
    "gate-spot": gate.CANDLE_INTERVAL_MS,
    "gate-futures": gate.CANDLE_INTERVAL_MS,
    "hyperliquid": hyperliquid.CANDLE_INTERVALS,
    "kraken": kraken.CANDLE_INTERVALS,
    "okx": okx.CANDLE_INTERVALS,
}
"""Venue id -> the interval table its package keeps (relay words, in the venue's order)."""

CANDLE_VENUES = sorted(
    venue for venue in registered_venues() if DataType.CANDLE in venue_spec(venue).data_types
)

UNOFFERED = ("7m", "13h", "2M")
"""Syntactically valid intervals no venue lists."""

INSTRUMENT = "BTC-USDT"


def build(venue: str, *subscriptions: SubscriptionConfig) -> VenueProtocol:
    return venue_spec(venue).protocol_factory(VenueConfig(id=venue, subscriptions=subscriptions))


def candle(interval: str) -> SubscriptionConfig:
    return SubscriptionConfig(INSTRUMENT, "BTC/USDT", (DataType.CANDLE,), 0, interval)


def listed(message: str) -> list[str]:
    """The intervals a refusal lists, after its last ``offers `` or ``supported: ``."""
    marker = "offers " if "offers " in message else "supported: "
    return message.rsplit(marker, 1)[-1].split(", ")


def test_every_candle_venue_has_its_table_here() -> None:
    """A venue that gains candles must bring its table (and so its refusal) into this class."""
    assert sorted(OFFERED) == CANDLE_VENUES


@pytest.mark.parametrize("venue", CANDLE_VENUES)
def test_every_interval_the_venue_documents_builds_its_protocol(venue: str) -> None:
    for interval in OFFERED[venue]:
        protocol = build(venue, candle(interval))
        assert protocol.subscribe_frames() is not None
        assert protocol.ws_url()


@pytest.mark.parametrize("venue", CANDLE_VENUES)
def test_an_interval_the_venue_does_not_offer_is_refused_with_its_list(venue: str) -> None:
    for interval in UNOFFERED:
        with pytest.raises(InvalidValueError) as info:
            build(venue, candle(interval))
        message = str(info.value)
        assert f"'{interval}'" in message
        assert listed(message) == list(OFFERED[venue])
    # What the refusal lists is what a config may name: each passes the config syntax.
    assert [i for i in OFFERED[venue] if interval_problem(i) is not None] == []


@pytest.mark.parametrize("venue", CANDLE_VENUES)
def test_the_interval_of_a_subscription_without_candles_is_not_looked_at(venue: str) -> None:
    other = min(
        (d for d in venue_spec(venue).data_types if d is not DataType.CANDLE),
        key=lambda d: d.value,
    )
    protocol = build(venue, SubscriptionConfig(INSTRUMENT, "BTC/USDT", (other,), 0, "7m"))
    assert protocol.ws_url()


LIVE_SUBSCRIBE_VENUES = [
    venue for venue in CANDLE_VENUES if type(build(venue)).subscribe is not VenueProtocol.subscribe
]


def test_the_venues_that_subscribe_live_are_known() -> None:
    assert LIVE_SUBSCRIBE_VENUES == [
        "binance-coinm",
        "binance-spot",
        "binance-usdm",
        "bybit-inverse",
        "bybit-linear",
        "bybit-spot",
        "okx",
    ]


@pytest.mark.parametrize("venue", LIVE_SUBSCRIBE_VENUES)
def test_a_live_candle_subscribe_with_an_unoffered_interval_is_refused_and_changes_nothing(
    venue: str,
) -> None:
    protocol = build(venue, SubscriptionConfig("ETH-USDT", "ETH/USDT", (DataType.TRADE,), 0))
    before = (protocol.ws_url(), list(protocol.subscribe_frames()))
    with pytest.raises(InvalidValueError) as info:
        protocol.subscribe(candle("7m"))
    assert listed(str(info.value)) == list(OFFERED[venue])
    assert (protocol.ws_url(), list(protocol.subscribe_frames())) == before
    offered = next(iter(OFFERED[venue]))
    outcome = protocol.subscribe(candle(offered))
    assert outcome is not None
