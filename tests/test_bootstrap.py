"""The composition root refuses to start in one line when nats-py is not one it supports."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from relay.application.ports import VenueProtocol
from relay.bootstrap import EXIT_JETSTREAM_SETUP, EXIT_UNEXPECTED, Relay, load
from relay.config.errors import ConfigError
from relay.config.loader import parse_config
from relay.config.model import SubscriptionConfig, VenueConfig
from relay.domain.errors import InvalidValueError
from relay.domain.model import DataType
from relay.infrastructure.embedded_nats import EmbeddedNats, free_port
from relay.infrastructure.nats import commands
from relay.infrastructure.venues import registry
from relay.infrastructure.venues.registry import (
    VenueSpec,
    registered_venues,
    supported_data_types,
    venue_spec,
)

MEMORY_STREAM = """
[[nats.streams]]
name = "MARKET"
subjects = ["market.>"]
storage = "memory"
"""


async def run_until_it_ends(
    venue: str, streams: str, caplog: pytest.LogCaptureFixture
) -> tuple[int, list[logging.LogRecord]]:
    """``Relay.run`` (never told to stop) on an embedded nats-server, one SUSHIUSDT trade
    subscription of ``venue``: its exit code and the error records it logged."""
    async with EmbeddedNats() as server:
        config = parse_config(
            f"""
[nats]
urls = ["{server.url}"]
{streams}
[http]
listen = "127.0.0.1:{free_port()}"
[[venues]]
id = "{venue}"
[[venues.subscriptions]]
instrument = "SUSHIUSDT"
canonical_symbol = "SUSHI/USDT"
data_types = ["trade"]
""",
            source="<test>",
            venues=supported_data_types(),
        )
        with caplog.at_level(logging.ERROR):
            code = await asyncio.wait_for(Relay(config).run(asyncio.Event()), 30)
    return code, [record for record in caplog.records if record.levelno >= logging.ERROR]


@pytest.mark.parametrize("version", ["3.0.0", "1.9.9", "unknown"])
async def test_an_unsupported_nats_py_is_one_error_line_and_exit_2(
    version: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(commands, "_installed_version", lambda: version)
    code, errors = await run_until_it_ends("binance-usdm", "", caplog)
    assert code == EXIT_JETSTREAM_SETUP == 2
    assert [record.getMessage() for record in errors] == [
        f"not starting: this nats-py ({version}) has no _send_command/_flush_pending;"
        f" relay needs nats-py {commands.NATS_PY_MAJOR}.x"
    ]
    assert all(record.exc_info is None for record in errors)


CANDLE_VENUES = sorted(
    venue for venue in registered_venues() if DataType.CANDLE in venue_spec(venue).data_types
)


@pytest.mark.parametrize("venue", CANDLE_VENUES)
def test_a_candle_interval_the_venues_protocol_refuses_is_a_config_problem(
    venue: str, tmp_path: Path
) -> None:
    """Every candle venue's protocol refuses a candle interval it does not offer when
    built, and that refusal is listed like any other problem of the file, at the
    subscription, by the venue's own words: never a traceback from a running relay.
    The same interval on a subscription without candles is not a problem."""
    spec = venue_spec(venue)
    bad = "7m"
    with pytest.raises((InvalidValueError, ValueError)) as refused:
        spec.protocol_factory(
            VenueConfig(
                id=venue,
                subscriptions=(SubscriptionConfig("Z", "Z/Y", (DataType.CANDLE,), 0, bad),),
            )
        )
    refusal = str(refused.value)
    path = tmp_path / "relay.toml"
    path.write_text(
        f"""
[[venues]]
id = "{venue}"
[[venues.subscriptions]]
instrument = "X"
canonical_symbol = "X/Y"
data_types = ["trade"]
candle_interval = "{bad}"
[[venues.subscriptions]]
instrument = "Z"
canonical_symbol = "Z/Y"
data_types = ["candle"]
candle_interval = "{bad}"
"""
    )
    with pytest.raises(ConfigError) as error:
        load(path)
    assert [str(problem) for problem in error.value.problems] == [
        f"venues[0].subscriptions[1]: {refusal}"
    ]


@pytest.fixture
def broken_venue() -> Iterator[str]:
    """A venue whose protocol cannot be built (a bug that validation does not catch)."""

    def broken(config: VenueConfig) -> VenueProtocol:
        raise RuntimeError("protocol bug")

    spec = registry.register(
        VenueSpec(
            id="broken-test",
            data_types=frozenset({DataType.TRADE}),
            default_ws_url="ws://127.0.0.1:1/unused",
            default_rest_url="",
            protocol_factory=broken,
        )
    )
    yield spec.id
    registry._REGISTRY.pop(spec.id)


async def test_a_task_failing_on_an_unexpected_error_stops_the_relay_with_one_line_and_exit_1(
    broken_venue: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A venue task fails on an error nothing expected: every task of the relay ends,
    the relay returns 1 and logs one error line naming the failure."""
    code, errors = await run_until_it_ends(broken_venue, MEMORY_STREAM, caplog)
    assert code == EXIT_UNEXPECTED == 1
    assert [record.getMessage() for record in errors] == ["relay stopped on an unexpected error"]
    assert errors[0].errors == ["RuntimeError('protocol bug')"]  # type: ignore[attr-defined]
