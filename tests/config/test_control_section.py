"""Tests of the ``[control]`` section and of runtime stream requests (relay.config.control)."""

from __future__ import annotations

import pytest

from relay.config.control import ControlConfig, ControlToken, StreamRequest
from relay.config.errors import ConfigError, ConfigProblem
from relay.config.loader import parse_config, read_stream_request
from relay.domain.model import DataType

VENUES = {
    "binance-spot": frozenset({DataType.TRADE, DataType.L2_ORDERBOOK}),
    "okx": frozenset({DataType.TRADE, DataType.CANDLE}),
}

MINIMAL_VENUE = """
[[venues]]
id = "binance-spot"
[[venues.subscriptions]]
instrument = "BTCUSDT"
canonical_symbol = "BTC/USDT"
data_types = ["trade"]
"""

SECRET = "s3cret-token-0123456789"


def parse(section: str, environ: dict[str, str] | None = None) -> ControlConfig:
    text = section + "\n" + MINIMAL_VENUE
    config = parse_config(text, source="test.toml", venues=VENUES, environ=environ or {})
    return config.control


def problems(section: str, environ: dict[str, str] | None = None) -> tuple[ConfigProblem, ...]:
    with pytest.raises(ConfigError) as caught:
        parse(section, environ)
    return caught.value.problems


def test_no_control_section_serves_the_api_without_tokens() -> None:
    assert parse("") == ControlConfig(
        enabled=True,
        tokens=(),
        read_requires_token=False,
        bucket="relay-control",
        replicas=1,
        max_body_bytes=65_536,
        events_interval_s=1.0,
    )


def test_tokens_come_from_the_environment_with_names_and_read_only_flags() -> None:
    section = """
[control]
tokens = ["${RELAY_CONTROL_TOKEN}",
          {name = "dash", token = "${DASH_TOKEN}", read_only = true},
          {name = "ops", token = "ops-token-0123456789"}]
read_requires_token = true
"""
    control = parse(section, {"RELAY_CONTROL_TOKEN": SECRET, "DASH_TOKEN": "dash-" + SECRET})
    assert control.tokens == (
        ControlToken("token-1", SECRET, False),
        ControlToken("dash", "dash-" + SECRET, True),
        ControlToken("ops", "ops-token-0123456789", False),
    )
    assert control.read_requires_token is True
    assert SECRET not in repr(control)


def test_every_problem_of_the_section_is_listed_with_its_path() -> None:
    section = """
[control]
enabled = "yes"
tokens = ["short", 42, {name = "a b", token = "${UNSET_TOKEN}"},
          {name = "x", token = "same-token-0123456789"},
          {name = "x", token = "other-token-0123456789"},
          {name = "y", token = "same-token-0123456789", read_only = 1, colour = "red"}]
bucket = "relay.control"
replicas = 7
max_body_bytes = 10
events_interval_s = 0
"""
    assert problems(section) == (
        ConfigProblem("control.enabled", "expected a boolean (true or false), got a string 'yes'"),
        ConfigProblem("control.tokens[0]", "must be at least 16 characters, got 5"),
        ConfigProblem("control.tokens[1]", "expected a string or a {name, token} table"),
        ConfigProblem(
            "control.tokens[2].name",
            "must be 1 to 64 printable characters without spaces, got 'a b'",
        ),
        ConfigProblem(
            "control.tokens[2].token",
            "environment variable UNSET_TOKEN is not set and ${UNSET_TOKEN} has no default",
        ),
        ConfigProblem(
            "control.tokens[4].name", "duplicate token name 'x' (first at control.tokens[3].name)"
        ),
        ConfigProblem(
            "control.tokens[5].colour", "unknown key (known keys: name, token, read_only)"
        ),
        ConfigProblem(
            "control.tokens[5].read_only", "expected a boolean (true or false), got an integer 1"
        ),
        ConfigProblem("control.tokens[5].token", "the same token as control.tokens[3].token"),
        ConfigProblem(
            "control.bucket",
            "a stream name must not contain '.', '*', '>', '/', '\\' or spaces,"
            " got 'relay.control'",
        ),
        ConfigProblem("control.replicas", "must be 1 to 5, got 7"),
        ConfigProblem("control.max_body_bytes", "must be 1024 to 16777216, got 10"),
        ConfigProblem("control.events_interval_s", "must be greater than 0 seconds, got 0"),
    )


def test_a_token_given_by_type_is_never_shown() -> None:
    found = problems('[control]\ntokens = [{name = "a", token = 12345678901234567}]')
    assert found == (ConfigProblem("control.tokens[0].token", "expected a string, got an integer"),)


def test_a_stream_request_is_checked_by_the_subscription_rules() -> None:
    body = {
        "venue": "okx",
        "instrument": "BTC-USDT",
        "canonical_symbol": "BTC/USDT",
        "data_types": ["trade", "candle"],
        "candle_interval": "5m",
    }
    assert read_stream_request(body, venues=VENUES) == (
        StreamRequest("okx", "BTC-USDT", "BTC/USDT", (DataType.TRADE, DataType.CANDLE), 0, "5m"),
        (),
    )


def test_every_problem_of_a_stream_request_is_listed_and_nothing_is_substituted() -> None:
    body: dict[str, object] = {
        "venue": "nasdaq",
        "instrument": 7,
        "canonical_symbol": "${HOME}.X",
        "data_types": ["trade", "trade", 3],
        "depth": True,
        "candle_interval": "7x",
        "extra": None,
    }
    _, found = read_stream_request(body, venues=VENUES)
    assert found == (
        ConfigProblem(
            "extra",
            "unknown key (known keys: venue, instrument, canonical_symbol, data_types,"
            " depth, candle_interval)",
        ),
        ConfigProblem("venue", "unknown venue 'nasdaq'; known venues: binance-spot, okx"),
        ConfigProblem("instrument", "expected a string, got an integer 7"),
        ConfigProblem(
            "canonical_symbol", "'${HOME}.X': must not contain '.' (NATS subject syntax)"
        ),
        ConfigProblem("data_types[2]", "expected a string, got an integer 3"),
        ConfigProblem("data_types[1]", "duplicate data type 'trade'"),
        ConfigProblem("depth", "expected an integer, got a boolean true"),
        ConfigProblem(
            "candle_interval",
            "must be a count and a unit s, m, h, d, w or M (like '1m'), got '7x'",
        ),
    )


def test_a_data_type_the_venue_does_not_offer_is_refused_by_name() -> None:
    body = {
        "venue": "okx",
        "instrument": "BTC-USDT",
        "canonical_symbol": "BTC/USDT",
        "data_types": ["l2_orderbook"],
    }
    assert read_stream_request(body, venues=VENUES)[1] == (
        ConfigProblem(
            "data_types[0]",
            "data type 'l2_orderbook' is not supported by venue 'okx' (supported: trade, candle)",
        ),
    )
