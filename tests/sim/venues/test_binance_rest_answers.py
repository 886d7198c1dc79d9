"""Binance REST answers derived from the recorded USD-M session (relay.sim.venues.binance_rest)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from relay.sim.captures import RecordKind, read_capture
from relay.sim.venues.binance_rest import BinanceRestAnswers


@pytest.fixture
def frames(captures_dir: Path) -> list[str]:
    capture = read_capture(captures_dir / "binance-usdm.jsonl")
    return [r.data for r in capture.records if r.kind is RecordKind.RECV and r.data]


def data_of(frames: list[str], stream_suffix: str, symbol: str) -> list[tuple[int, dict[str, Any]]]:
    found = []
    for index, text in enumerate(frames):
        message = json.loads(text)
        if message["stream"].endswith(stream_suffix) and message["data"]["s"] == symbol:
            found.append((index, message["data"]))
    return found


def ask(
    answers: BinanceRestAnswers, path: str, query: str, positions: list[int]
) -> tuple[int, Any]:
    """The answer's status and decoded body (it must answer)."""
    answer = answers.answer(path, query, positions)
    assert answer is not None
    return answer[0], json.loads(answer[1])


def test_open_interest_is_the_sum_of_the_recorded_trade_quantities_passed(
    frames: list[str],
) -> None:
    trades = data_of(frames, "@aggTrade", "SUSHIUSDT")
    answers = BinanceRestAnswers([frames])
    tenth_index, tenth = trades[9]

    status, body = ask(answers, "/fapi/v1/openInterest", "symbol=SUSHIUSDT", [tenth_index + 1])
    status_none, body_none = ask(answers, "/fapi/v1/openInterest", "symbol=SUSHIUSDT", [0])

    assert status == 200
    assert body == {
        "openInterest": str(sum(Decimal(d["q"]) for _, d in trades[:10])),
        "symbol": "SUSHIUSDT",
        "time": tenth["T"],
    }
    assert (status_none, body_none) == (
        200,
        {"openInterest": "0", "symbol": "SUSHIUSDT", "time": trades[0][1]["T"] - 1},
    )


def test_coinm_open_interest_adds_the_pair(frames: list[str]) -> None:
    status, body = ask(
        BinanceRestAnswers([frames]), "/dapi/v1/openInterest", "symbol=CTKUSDT", [len(frames)]
    )

    assert status == 200
    assert body["pair"] == "CTKUSDT"


def test_book_ticker_is_the_last_recorded_quote_passed_in_each_markets_shape(
    frames: list[str],
) -> None:
    quotes = data_of(frames, "@bookTicker", "AKROUSDT")
    index, quote = quotes[4]
    answers = BinanceRestAnswers([frames])
    usdm = ask(answers, "/fapi/v1/ticker/bookTicker", "symbol=AKROUSDT", [index + 1])[1]
    spot = ask(answers, "/api/v3/ticker/bookTicker", "symbol=AKROUSDT", [index + 1])[1]
    coinm = ask(answers, "/dapi/v1/ticker/bookTicker", "symbol=AKROUSDT", [index + 1])[1]
    first = ask(answers, "/fapi/v1/ticker/bookTicker", "symbol=AKROUSDT", [0])[1]

    quoted = {
        "bidPrice": quote["b"],
        "bidQty": quote["B"],
        "askPrice": quote["a"],
        "askQty": quote["A"],
    }
    assert usdm == {
        "symbol": "AKROUSDT",
        **quoted,
        "time": quote["E"],
        "lastUpdateId": quote["u"],
    }
    assert spot == {"symbol": "AKROUSDT", **quoted}
    assert coinm == [{"symbol": "AKROUSDT", "pair": "AKROUSDT", **usdm}]
    assert first["lastUpdateId"] == quotes[0][1]["u"]


@pytest.mark.parametrize(
    "path", ["/fapi/v1/aggTrades", "/fapi/v1/ticker/bookTicker", "/fapi/v1/openInterest"]
)
def test_a_symbol_not_recorded_gets_the_venues_invalid_symbol_error(
    frames: list[str], path: str
) -> None:
    answer = ask(BinanceRestAnswers([frames]), path, "symbol=BTCUSDT", [len(frames)])

    assert answer == (400, {"code": -1121, "msg": "Invalid symbol."})


@pytest.mark.parametrize(
    ("path", "query"),
    [("/fapi/v1/depth", "symbol=CTKUSDT"), ("/api/v3/openInterest", "symbol=CTKUSDT"), ("/x", "")],
)
def test_other_requests_are_left_to_the_recording(frames: list[str], path: str, query: str) -> None:
    assert BinanceRestAnswers([frames]).answer(path, query, [len(frames)]) is None
