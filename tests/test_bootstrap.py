"""The composition root refuses to start in one line when nats-py is not one it supports."""

from __future__ import annotations

import asyncio
import logging

import pytest

from relay.bootstrap import EXIT_JETSTREAM_SETUP, Relay
from relay.config.loader import parse_config
from relay.infrastructure.embedded_nats import EmbeddedNats, free_port
from relay.infrastructure.nats import commands
from relay.infrastructure.venues.registry import supported_data_types


@pytest.mark.parametrize("version", ["3.0.0", "1.9.9", "unknown"])
async def test_an_unsupported_nats_py_is_one_error_line_and_exit_2(
    version: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(commands, "_installed_version", lambda: version)
    async with EmbeddedNats() as server:
        config = parse_config(
            f"""
[nats]
urls = ["{server.url}"]
[http]
listen = "127.0.0.1:{free_port()}"
[[venues]]
id = "binance-usdm"
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
    assert code == EXIT_JETSTREAM_SETUP == 2
    errors = [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert [record.getMessage() for record in errors] == [
        f"not starting: this nats-py ({version}) has no _send_command/_flush_pending;"
        f" relay needs nats-py {commands.NATS_PY_MAJOR}.x"
    ]
    assert all(record.exc_info is None for record in errors)
