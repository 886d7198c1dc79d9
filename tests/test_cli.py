"""The ``relay`` command's config handling."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from conftest import CAPTURES_DIR

from relay.cli import main
from relay.infrastructure.embedded_nats import free_port

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


def run_cli(*args: str, timeout_s: float = 60.0) -> subprocess.CompletedProcess[str]:
    """``python -m relay.cli ARGS`` as a child process; its exit code, stdout and stderr."""
    return subprocess.run(
        [sys.executable, "-m", "relay.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )


def assert_one_line_error(result: subprocess.CompletedProcess[str], line: str) -> None:
    """Exit 2, nothing on stdout, and stderr exactly ``line``: no traceback."""
    assert (result.returncode, result.stdout, result.stderr) == (2, "", line + "\n")
    assert "Traceback" not in result.stderr


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A port another socket listens on."""
    with socket.create_server(("127.0.0.1", 0)) as holder:
        yield holder.getsockname()[1]


@pytest.mark.integration
def test_run_on_a_taken_http_port_is_one_line_naming_it(tmp_path: Path, taken_port: int) -> None:
    config = tmp_path / "relay.toml"
    config.write_text(f"""
[nats]
urls = ["nats://127.0.0.1:{free_port()}"]
[http]
listen = "127.0.0.1:{taken_port}"
[[venues]]
id = "binance-usdm"
[[venues.subscriptions]]
instrument = "SUSHIUSDT"
canonical_symbol = "SUSHI/USDT"
data_types = ["trade"]
""")
    result = run_cli("run", "--config", str(config))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    [line] = result.stderr.splitlines()
    document = orjson.loads(line)
    assert (document["level"], document["logger"], document["msg"]) == (
        "ERROR",
        "relay",
        f"not starting: http: cannot listen on 127.0.0.1:{taken_port}: address already in use",
    )


BAD_CAPTURES: dict[str, tuple[list[str] | None, str]] = {
    "missing": (
        None,
        "{path}: cannot read capture file: [Errno 2] No such file or directory: '{path}'",
    ),
    "not JSON": (["hello"], "{path}:1: not JSON: Expecting value"),
    "another format": (
        ['{"hello": 1}'],
        "{path}:1: not a relay capture file: no 'capture' field in the header",
    ),
    "empty": ([], "{path}: empty file, expected a header line"),
}


@pytest.mark.integration
@pytest.mark.parametrize("case", BAD_CAPTURES)
def test_simulate_refuses_a_missing_or_invalid_capture_file_in_one_line(
    tmp_path: Path, case: str
) -> None:
    lines, problem = BAD_CAPTURES[case]
    path = tmp_path / "capture.jsonl"
    if lines is not None:
        path.write_text("".join(line + "\n" for line in lines))
    result = run_cli("simulate", str(path), "--port", "0")
    assert_one_line_error(result, "relay simulate: " + problem.format(path=path))


@pytest.mark.integration
@pytest.mark.parametrize("speed", ["0", "-1", "fast", "nan"])
def test_simulate_refuses_a_speed_that_is_not_realtime_max_or_positive(speed: str) -> None:
    result = run_cli("simulate", str(CAPTURES_DIR / "okx.jsonl"), "--port", "0", "--speed", speed)
    assert_one_line_error(
        result,
        f"relay simulate: invalid speed {speed!r}: expected 'realtime', 'max' or a positive"
        " number (2 = twice as fast)",
    )


@pytest.mark.integration
def test_simulate_on_a_taken_port_is_one_line_naming_it(taken_port: int) -> None:
    result = run_cli("simulate", str(CAPTURES_DIR / "okx.jsonl"), "--port", str(taken_port))
    assert_one_line_error(
        result,
        f"relay simulate: [Errno 98] error while attempting to bind on address"
        f" ('127.0.0.1', {taken_port}): address already in use",
    )


def test_run_with_a_recording_dir_that_cannot_be_made_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    config = tmp_path / "relay.toml"
    config.write_text(f"""
[nats]
urls = ["nats://127.0.0.1:{free_port()}"]
[http]
enabled = false
[recording]
enabled = true
dir = "{blocker}/captures"
[[venues]]
id = "binance-usdm"
[[venues.subscriptions]]
instrument = "SUSHIUSDT"
canonical_symbol = "SUSHI/USDT"
data_types = ["trade"]
""")
    result = run_cli("run", "--config", str(config))
    assert result.returncode == 2
    [line] = result.stderr.splitlines()
    document = orjson.loads(line)
    assert (document["level"], document["logger"], document["msg"]) == (
        "ERROR",
        "relay",
        f"not starting: cannot create [recording] dir: [Errno 20] Not a directory:"
        f" '{blocker}/captures'",
    )


def test_streams_against_an_unreachable_relay_is_one_line_and_exit_1(
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens: connection refused
    assert main(["streams", "pause", "okx", "BTC-USDT", "trade", "--url", url]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(f"relay streams: cannot reach {url}: ")
    assert err.count("\n") == 1


def test_validate_with_shards_prints_each_shards_subscriptions(
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = Path(__file__).resolve().parents[1]
    config = root / "config" / "simulate.toml"
    assert main(["validate", "--config", str(config), "--shards", "2"]) == 0
    assert capsys.readouterr().out.splitlines()[1:] == [
        "shard 0/2: 5 subscriptions: binance-usdm:AKROUSDT binance-usdm:KEEPUSDT"
        " binance-spot:NKNUSDT binance-spot:BLZETH binance-spot:LRCBTC",
        "shard 1/2: 3 subscriptions: binance-usdm:SUSHIUSDT binance-usdm:CTKUSDT"
        " binance-spot:RUNEEUR",
    ]


@pytest.mark.parametrize("shard", ["2/2", "a/2", "1", "0/0"])
def test_run_refuses_a_shard_that_is_not_k_of_n(shard: str) -> None:
    result = run_cli("run", "--shard", shard)
    assert result.returncode == 2
    assert "argument --shard: expected K/N" in result.stderr
    assert "Traceback" not in result.stderr
