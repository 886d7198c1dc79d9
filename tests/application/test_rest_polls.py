"""The REST fallback's switch (pure, clock passed in) and the endpoint declarations."""

from __future__ import annotations

from relay.application.rest_polls import FallbackState, FallbackSwitch, RestEndpoint, RestPolling
from relay.domain.model import DataType, Instrument, MarketEvent


def state_of(switch: FallbackSwitch) -> FallbackState:
    return switch.state


def no_events(body: bytes, instrument: Instrument, received_at_ms: int) -> list[MarketEvent]:
    return []


def test_a_new_connection_is_down_and_polls_once_down_for_after_s() -> None:
    switch = FallbackSwitch(10.0, 100.0)

    assert state_of(switch) is FallbackState.DOWN
    assert switch.wait_s(104.0) == 6.0
    assert not switch.due(109.9)
    assert switch.due(110.0)
    assert state_of(switch) is FallbackState.ACTIVE
    assert switch.due(500.0)


def test_the_websocket_back_before_after_s_never_starts_the_fallback() -> None:
    switch = FallbackSwitch(10.0, 100.0)

    switch.ws_back()

    assert state_of(switch) is FallbackState.UP
    assert not switch.due(1000.0)
    assert switch.wait_s(1000.0) is None


def test_active_then_back_polls_once_more_then_stops() -> None:
    switch = FallbackSwitch(1.0, 0.0)
    assert switch.due(1.0)

    switch.ws_back()
    assert state_of(switch) is FallbackState.CLOSING
    assert not switch.due(2.0)
    switch.closed()

    assert state_of(switch) is FallbackState.UP
    assert not switch.due(100.0)


def test_a_loss_while_up_counts_the_downtime_from_the_loss() -> None:
    switch = FallbackSwitch(5.0, 0.0)
    switch.ws_back()

    switch.ws_lost(50.0)

    assert state_of(switch) is FallbackState.DOWN
    assert not switch.due(54.9)
    assert switch.due(55.0)


def test_a_loss_during_the_last_poll_keeps_polling() -> None:
    switch = FallbackSwitch(1.0, 0.0)
    assert switch.due(1.0)
    switch.ws_back()

    switch.ws_lost(2.0)

    assert state_of(switch) is FallbackState.ACTIVE
    assert switch.due(2.0)


def test_after_s_zero_turns_the_fallback_off() -> None:
    switch = FallbackSwitch(0.0, 0.0)

    assert not switch.due(1e9)
    assert switch.wait_s(1e9) is None


def test_an_endpoints_target_is_its_path_and_the_instruments_query() -> None:
    endpoint = RestEndpoint(
        DataType.OPEN_INTEREST,
        "/fapi/v1/openInterest",
        lambda i: f"symbol={i.instrument}",
        1,
        no_events,
    )
    polling = RestPolling(polled=(endpoint,))

    assert endpoint.target(Instrument("binance-usdm", "BTCUSDT", "BTC/USDT")) == (
        "/fapi/v1/openInterest?symbol=BTCUSDT"
    )
    assert polling.polled_types == {DataType.OPEN_INTEREST}
    assert RestPolling().polled_types == frozenset()
