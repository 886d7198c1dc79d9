"""Event loop selection of ``relay run --loop``."""

from __future__ import annotations

import importlib.util

import pytest

from relay.cli import main
from relay.infrastructure.event_loop import EventLoopError, loop_factory


def test_asyncio_is_the_stock_loop() -> None:
    assert loop_factory("asyncio") is None


def test_unknown_loop_is_refused() -> None:
    with pytest.raises(ValueError, match="expected one of asyncio, uvloop"):
        loop_factory("trio")


def test_uvloop_without_uvloop_installed_is_refused_with_exit_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name: None if name == "uvloop" else real(name)
    )
    with pytest.raises(EventLoopError, match="uvloop is not installed"):
        loop_factory("uvloop")
    assert main(["run", "--loop", "uvloop", "--config", "config/relay.toml"]) == 2
    assert "uvloop is not installed" in capsys.readouterr().err
