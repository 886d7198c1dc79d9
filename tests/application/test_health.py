"""Health rules."""

from __future__ import annotations

from relay.application.consumer_state import ConsumerState
from relay.application.health import ConnectionState, HealthMonitor, HealthStatus
from relay.domain.model import DataType, Instrument


def test_nats_down_is_unhealthy_even_with_venues_up() -> None:
    health = HealthMonitor(["binance-usdm"])
    health.venue_state("binance-usdm", ConnectionState.CONNECTED)
    health.venue_message("binance-usdm", health.started_at_ms)
    assert health.status(health.started_at_ms) is HealthStatus.UNHEALTHY


def test_one_venue_down_of_two_is_degraded() -> None:
    health = HealthMonitor(["binance-usdm", "binance-spot"])
    health.nats_connected = True
    health.venue_state("binance-usdm", ConnectionState.CONNECTED)
    health.venue_message("binance-usdm", health.started_at_ms)
    health.venue_state("binance-spot", ConnectionState.DISCONNECTED)
    report = health.report(health.started_at_ms + 1500)
    assert report["status"] == "degraded"
    assert report["venues"] == {
        "binance-usdm": {
            "state": "connected",
            "last_message_age_s": 1.5,
            "stale": False,
            "reconnects": 0,
            "circuit": "closed",
        },
        "binance-spot": {
            "state": "disconnected",
            "last_message_age_s": None,
            "stale": False,
            "reconnects": 0,
            "circuit": "closed",
        },
    }


def test_a_silent_connected_venue_is_stale_and_degraded() -> None:
    health = HealthMonitor(["binance-usdm"], stale_after_s=60)
    health.nats_connected = True
    health.venue_state("binance-usdm", ConnectionState.CONNECTED)
    health.venue_message("binance-usdm", health.started_at_ms)
    assert health.status(health.started_at_ms + 60_000) is HealthStatus.HEALTHY
    assert health.status(health.started_at_ms + 60_001) is HealthStatus.DEGRADED


def test_every_venue_down_is_unhealthy_and_reconnects_are_counted() -> None:
    health = HealthMonitor(["binance-usdm"])
    health.nats_connected = True
    health.venue_state("binance-usdm", ConnectionState.CONNECTED)
    health.venue_state("binance-usdm", ConnectionState.DISCONNECTED)
    health.venue_state("binance-usdm", ConnectionState.CONNECTING)
    report = health.report()
    assert report["status"] == "unhealthy"
    assert report["venues"]["binance-usdm"]["reconnects"] == 1  # type: ignore[index]


def test_jetstream_not_storing_is_unhealthy_with_the_problem_reported() -> None:
    health = HealthMonitor(["binance-usdm"])
    health.nats_connected = True
    health.venue_state("binance-usdm", ConnectionState.CONNECTED)
    health.venue_message("binance-usdm", health.started_at_ms)
    assert health.status(health.started_at_ms) is HealthStatus.HEALTHY
    health.jetstream_ready = False
    health.jetstream_problem = "no ack within ack_timeout_s (5 s)"
    report = health.report(health.started_at_ms)
    assert (report["status"], report["nats"]) == (
        "unhealthy",
        {
            "connected": True,
            "jetstream_ready": False,
            "problem": "no ack within ack_timeout_s (5 s)",
            "reason": "",
        },
    )


def test_a_server_refusing_the_relay_is_unhealthy_with_the_reason_reported() -> None:
    health = HealthMonitor(["binance-usdm"])
    health.venue_state("binance-usdm", ConnectionState.CONNECTED)
    health.nats_reason = 'nats: authorization violation for user "relay"'
    report = health.report(health.started_at_ms)
    assert (report["status"], report["nats"]) == (
        "unhealthy",
        {
            "connected": False,
            "jetstream_ready": True,
            "problem": "",
            "reason": 'nats: authorization violation for user "relay"',
        },
    )


def test_readiness_names_each_missing_condition_and_is_empty_once_all_hold() -> None:
    health = HealthMonitor(["binance-usdm", "binance-spot"])
    assert health.readiness() == ["nats: not connected", "venues: none connected"]
    health.nats_connected = True
    health.jetstream_ready = False
    health.jetstream_problem = "stream MARKET lost, re-creating"
    health.venue_state("binance-spot", ConnectionState.CONNECTED)
    assert health.readiness() == ["jetstream: stream MARKET lost, re-creating"]
    health.jetstream_ready = True
    assert health.readiness() == []
    health.venue_state("binance-spot", ConnectionState.DISCONNECTED)
    assert health.readiness() == ["venues: none connected"]


def test_one_connected_venue_of_two_is_ready_while_health_says_degraded() -> None:
    health = HealthMonitor(["binance-usdm", "binance-spot"])
    health.nats_connected = True
    health.venue_state("binance-usdm", ConnectionState.CONNECTED)
    health.venue_message("binance-usdm", health.started_at_ms)
    assert health.readiness() == []
    assert health.status(health.started_at_ms) is HealthStatus.DEGRADED


def test_the_streams_section_comes_from_the_consumer_state_and_leaves_the_rest_as_it_was() -> None:
    instrument = Instrument("binance-usdm", "SUSHIUSDT", "SUSHI/USDT")
    state = ConsumerState([(instrument, DataType.L2_ORDERBOOK, "binance-usdm")], hold_s=0)
    without = HealthMonitor(["binance-usdm"])
    health = HealthMonitor(["binance-usdm"], streams=state)
    for monitor in (without, health):
        monitor.nats_connected = True
        monitor.venue_state("binance-usdm", ConnectionState.CONNECTED)
        monitor.venue_message("binance-usdm", health.started_at_ms)
    state.record(instrument, DataType.L2_ORDERBOOK).seen(health.started_at_ms, True)
    state.resync("binance-usdm", "SUSHIUSDT", "checksum")
    now = health.started_at_ms + 250
    report = health.report(now)
    streams = report.pop("streams")
    assert "streams" not in without.report(now)
    assert report == {**without.report(now), "uptime_s": report["uptime_s"]}
    assert streams == {
        "binance-usdm": {
            "SUSHIUSDT": {
                "l2_orderbook": {
                    "state": "resyncing",
                    "last_event_age_s": 0.25,
                    "resyncs": 1,
                    "last_reason": "checksum",
                }
            }
        }
    }
    assert report["status"] == "healthy"
