"""The one RFC 3339 UTC reader of Kraken, Coinbase Advanced Trade and Coinbase Exchange times."""

from __future__ import annotations

from typing import Any

import pytest

from relay.domain.errors import InvalidValueError
from relay.infrastructure.venues.common.times import rfc3339_ms


@pytest.mark.parametrize(
    ("text", "ms"),
    [
        # Kraken trade, https://docs.kraken.com/api/docs/websocket-v2/trade
        ("2023-09-25T07:48:36.925533Z", 1695628116925),
        # Coinbase Advanced Trade, nanoseconds
        ("2023-02-09T20:32:50.714964855Z", 1675974770714),
        # Coinbase Exchange full channel
        ("2014-11-07T08:19:28.464459Z", 1415348368464),
        ("1970-01-01T00:00:00Z", 0),
        ("2019-08-14T20:42:27.2Z", 1565815347200),
        ("2019-08-14 20:42:27.2+00:00", 1565815347200),
        ("2024-02-29T23:59:59.999999999Z", 1709251199999),
    ],
)
def test_every_form_the_venues_send_becomes_epoch_ms_cut_not_rounded(text: str, ms: int) -> None:
    assert rfc3339_ms("time", text) == ms


@pytest.mark.parametrize(
    ("raw", "detail"),
    [
        ("2021-04-17T16:43:37.075687+02:00", "expected an RFC 3339 UTC time"),
        ("2021-04-17T16:43:37.075687", "expected an RFC 3339 UTC time"),
        ("2021-04-17T16:43:37.0756871234Z", "expected an RFC 3339 UTC time"),
        ("2021-04-17", "expected an RFC 3339 UTC time"),
        (1618677817075, "expected an RFC 3339 UTC time"),
        (None, "expected an RFC 3339 UTC time"),
        ("2021-13-17T16:43:37Z", "not a valid time"),
        ("2023-02-29T00:00:00Z", "not a valid time"),
        ("2021-04-17T24:00:00Z", "not a valid time"),
        ("2021-04-17T23:60:00Z", "not a valid time"),
    ],
)
def test_anything_else_is_refused_naming_the_field(raw: Any, detail: str) -> None:
    with pytest.raises(InvalidValueError) as caught:
        rfc3339_ms("event_time", raw)
    assert caught.value.field == "event_time"
    assert (caught.value.value, caught.value.reason) == (raw, detail)
