"""The one mapping of a handler's read errors to FrameError."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

import orjson
import pytest

from relay.application.errors import FrameError
from relay.domain.errors import InvalidValueError
from relay.infrastructure.venues.common import wire
from relay.infrastructure.venues.common.errors import FrameErrors

# An OKX trades push, https://www.okx.com/docs-v5/en/#order-book-trading-market-data-ws-trades-channel
TRADE = orjson.loads(
    b'{"arg":{"channel":"trades","instId":"BTC-USDT"},"data":[{"instId":"BTC-USDT",'
    b'"tradeId":"130639474","px":"42219.9","sz":"0.12060306","side":"buy","ts":"1630048897897"}]}'
)


def read_price(message: dict[str, Any]) -> Decimal:
    entry = message["data"][0]
    return wire.price("px", entry["px"])


def test_a_missing_field_becomes_missing_field_naming_the_context_and_key() -> None:
    entry = dict(TRADE["data"][0])
    del entry["px"]
    with pytest.raises(FrameError) as caught, FrameErrors("trades"):
        read_price({"data": [entry]})
    assert (caught.value.reason, caught.value.detail) == ("missing_field", "trades: 'px'")


@pytest.mark.parametrize(
    ("px", "detail"),
    [("-1", "trades: px='-1': "), (42219.9, "trades: px=42219.9: ")],
)
def test_a_bad_value_becomes_invalid_value_with_the_readers_text(px: object, detail: str) -> None:
    entry = dict(TRADE["data"][0], px=px)
    with pytest.raises(FrameError) as caught, FrameErrors("trades"):
        read_price({"data": [entry]})
    assert caught.value.reason == "invalid_value"
    assert caught.value.detail.startswith(detail)


def test_type_and_value_errors_map_and_also_adds_more_types() -> None:
    with pytest.raises(FrameError) as caught, FrameErrors(["trades"]):
        int("x")
    assert (caught.value.reason, caught.value.detail) == (
        "invalid_value",
        "['trades']: invalid literal for int() with base 10: 'x'",
    )
    with pytest.raises(InvalidOperation), FrameErrors("book"):
        raise InvalidOperation
    with pytest.raises(FrameError) as caught, FrameErrors("book", also=(ArithmeticError,)):
        raise InvalidOperation
    assert caught.value.reason == "invalid_value"


def test_other_errors_pass_unchanged_and_on_error_runs_only_for_mapped_ones() -> None:
    calls: list[str] = []
    with (
        pytest.raises(FrameError) as caught,
        FrameErrors("l2_data", on_error=lambda: calls.append("x")),
    ):
        raise FrameError("unknown_event", "l2_data event type 'x'")
    assert (caught.value.reason, calls) == ("unknown_event", [])
    with pytest.raises(FrameError), FrameErrors("l2_data", on_error=lambda: calls.append("x")):
        raise InvalidValueError("price", "x", "expected a decimal")
    with FrameErrors("l2_data", on_error=lambda: calls.append("y")):
        pass
    assert calls == ["x"]


def test_the_detail_is_cut_to_the_detail_limit() -> None:
    with pytest.raises(FrameError) as caught, FrameErrors("c" * 1000):
        raise KeyError("k")
    assert caught.value.detail == "c" * wire.DETAIL_CHARS + "..."
