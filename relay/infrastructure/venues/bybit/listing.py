"""Bybit's instrument listing for ``relay instruments``: ``GET /v5/market/instruments-info``."""

from __future__ import annotations

import datetime
from typing import Any

import orjson

from relay.domain.errors import InvalidValueError
from relay.infrastructure.venues.bybit.parse import time_ms
from relay.infrastructure.venues.common import wire
from relay.infrastructure.venues.registry import ListedInstrument, ListingRequest


def _delivery_day(raw: Any) -> str:
    """``"1735113600000"`` (epoch ms) -> ``"20241225"`` (UTC)."""
    millis = time_ms("deliveryTime", raw)
    return datetime.datetime.fromtimestamp(millis / 1000, tz=datetime.UTC).strftime("%Y%m%d")


def parse_instruments(request: ListingRequest, body: bytes) -> list[ListedInstrument]:
    """Parse a ``GET /v5/market/instruments-info`` answer.

    Shape (the instrument page's examples, trimmed)::

        {"retCode":0,"retMsg":"OK","result":{"category":"linear","list":[
          {"symbol":"BTCUSDT","contractType":"LinearPerpetual","status":"Trading",
           "baseCoin":"BTC","quoteCoin":"USDT","deliveryTime":"0",...}],"nextPageCursor":""}}

    Canonical symbols: spot ``BASE/QUOTE``; ``LinearPerpetual`` /
    ``InversePerpetual`` ``BASE/QUOTE:PERP``; ``LinearFutures`` /
    ``InverseFutures`` ``BASE/QUOTE:YYYYMMDD`` (delivery day, UTC). Other
    contract types (none documented) are left out.

    Raises:
        ValueError: not JSON, ``retCode`` not 0, or a missing or malformed field.
    """
    try:
        answer = orjson.loads(body)
        if not isinstance(answer, dict):
            raise ValueError("not an object")
        if answer.get("retCode") != 0:
            raise ValueError(f"retCode {answer.get('retCode')!r}: {answer.get('retMsg')!r}")
        result = answer["result"]
        category = result["category"]
        listed: list[ListedInstrument] = []
        for item in result["list"]:
            symbol = wire.text("symbol", item["symbol"])
            base = wire.text("baseCoin", item["baseCoin"])
            pair = f"{base}/{wire.text('quoteCoin', item['quoteCoin'])}"
            if category == "spot":
                listed.append(ListedInstrument(symbol, pair, "spot"))
                continue
            contract = item["contractType"]
            if contract in ("LinearPerpetual", "InversePerpetual"):
                listed.append(ListedInstrument(symbol, f"{pair}:PERP", "perpetual"))
            elif contract in ("LinearFutures", "InverseFutures"):
                listed.append(
                    ListedInstrument(
                        symbol, f"{pair}:{_delivery_day(item['deliveryTime'])}", "future"
                    )
                )
        return listed
    except (orjson.JSONDecodeError, KeyError, TypeError, InvalidValueError) as exc:
        raise ValueError(f"instruments-info: {exc}") from None
