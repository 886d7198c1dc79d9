"""The ``relay`` command's config handling."""

from __future__ import annotations

from pathlib import Path

import pytest

from relay.cli import main

BROKEN = """
[nats]
urls = ["http://127.0.0.1:4222"]
strems = 1
[serialization]
format = "xml"
[http]
listen = "nowhere"
[[venues]]
id = "binance-usdm"
[[venues.subscriptions]]
instrument = "SUSHIUSDT"
canonical_symbol = "SUSHI.USDT"
data_types = ["trade", "orderbook"]
[[venues]]
id = "mtgox"
"""


def test_validate_lists_every_problem_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "broken.toml"
    config.write_text(BROKEN)
    assert main(["validate", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    paths = [line.strip().split(":")[0] for line in err.splitlines()[1:]]
    assert paths == [
        "nats.strems",
        "nats.urls[0]",
        "venues[0].subscriptions[0].canonical_symbol",
        "venues[0].subscriptions[0].data_types[1]",
        "venues[1].id",
        "venues[1].subscriptions",
        "serialization.format",
        "http.listen",
    ]
    assert err.splitlines()[0] == f"{config}: 8 configuration problems"


def test_run_refuses_a_broken_config_with_the_same_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "broken.toml"
    config.write_text(BROKEN)
    assert main(["run", "--config", str(config)]) == 2
    assert "8 configuration problems" in capsys.readouterr().err


def test_validate_accepts_the_shipped_configs(capsys: pytest.CaptureFixture[str]) -> None:
    root = Path(__file__).resolve().parents[1]
    assert main(["validate", "--config", str(root / "config" / "simulate.toml")]) == 0
    assert "valid (2 venues, 8 subscriptions)" in capsys.readouterr().out
