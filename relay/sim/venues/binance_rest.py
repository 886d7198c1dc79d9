"""Binance REST answers derived from a recording: aggregate trades, book tickers, open interest.

The recordings (``shared/captures/binance-*.jsonl``) hold the combined-stream
frames and the depth snapshots the recording client fetched, nothing a relay
polls. :class:`BinanceRestAnswers` answers those polls from the recorded
frames the replay clock has passed (``positions``, see
:class:`relay.sim.rest_answers.RestAnswers`), for spot (``/api/v3``), USD-M
(``/fapi/v1``) and COIN-M (``/dapi/v1``), in the venue's shapes
(:mod:`relay.infrastructure.venues.binance.rest` cites the pages):

- ``GET <prefix>/aggTrades?symbol=S[&limit=N]``: the last ``N`` (default 500,
  at most 1000) recorded ``aggTrade`` frames of ``S`` passed, oldest first, each
  as the list item the venue sends: the frame's ``a``, ``p``, ``q``, ``f``,
  ``l``, ``T``, ``m`` (and spot's ``M``), values as recorded. A recorded frame::

      {"stream":"ctkusdt@aggTrade","data":{"e":"aggTrade","E":1626992741575,"a":16599292,
       "s":"CTKUSDT","p":"1.01100","q":"10","f":23961322,"l":23961322,"T":1626992741421,
       "m":false}}

  is answered as ``{"a":16599292,"p":"1.01100","q":"10","f":23961322,"l":23961322,
  "T":1626992741421,"m":false}``.
- ``GET <prefix>/ticker/bookTicker?symbol=S``: the last recorded ``bookTicker``
  frame of ``S`` passed (before any has passed, the first one recorded), as
  ``{"symbol","bidPrice","bidQty","askPrice","askQty"}`` from ``s``, ``b``,
  ``B``, ``a``, ``A``; futures add ``"time"`` (the frame's ``E``, else ``T``) and
  ``"lastUpdateId"`` (its ``u``); COIN-M answers a one-item list with ``"pair"``
  (the symbol before ``_``).
- ``GET /fapi/v1/openInterest?symbol=S`` and ``/dapi/v1/openInterest``: the
  recordings hold no open interest, so it is *synthetic*: the sum of ``q`` of
  the recorded ``aggTrade`` frames of ``S`` passed (a number that moves with
  the recorded trades), with ``"time"`` the ``T`` of the last of them (before
  any has passed: ``"0"`` and the ``T`` of the first recorded one minus 1).
  ``{"openInterest":"27","symbol":"CTKUSDT","time":1626992741421}``; COIN-M adds
  ``"pair"``. A symbol with no recorded trade gets the unknown-symbol error.

A symbol the recording does not have gets HTTP 400
``{"code":-1121,"msg":"Invalid symbol."}``, as the venue answers.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import parse_qsl

from relay.infrastructure.venues.common import wire

SPOT_PREFIX = "/api/v3"
USDM_PREFIX = "/fapi/v1"
COINM_PREFIX = "/dapi/v1"
PREFIXES = (SPOT_PREFIX, USDM_PREFIX, COINM_PREFIX)

AGG_TRADE_FIELDS = ("a", "p", "q", "f", "l", "T", "m", "M")
"""Fields of an ``aggTrade`` frame the REST list item repeats (``M``: spot only)."""

DEFAULT_LIMIT = 500
MAX_LIMIT = 1000

INVALID_SYMBOL = (400, json.dumps({"code": -1121, "msg": "Invalid symbol."}))


@dataclass(frozen=True, slots=True)
class _Recorded:
    """One recorded frame's data object, where it was (connection, frame index)."""

    connection: int
    frame: int
    data: dict[str, Any]


def _passed(items: Sequence[_Recorded], positions: Sequence[int]) -> list[_Recorded]:
    return [
        item
        for item in items
        if item.connection < len(positions) and item.frame < positions[item.connection]
    ]


class BinanceRestAnswers:
    """The :class:`~relay.sim.rest_answers.RestAnswers` of the Binance venue ids.

    Args:
        connections: the ``recv`` frame texts of each recorded connection;
            frames that are not well-formed combined-stream ``aggTrade`` or
            ``bookTicker`` frames are ignored.
    """

    def __init__(self, connections: Sequence[Sequence[str]]) -> None:
        self._trades: dict[str, list[_Recorded]] = {}
        self._tickers: dict[str, list[_Recorded]] = {}
        for index, frames in enumerate(connections):
            for number, text in enumerate(frames):
                message = wire.parse_object(text)
                data = None if message is None else message.get("data")
                stream = None if message is None else message.get("stream")
                if not isinstance(data, dict) or not isinstance(data.get("s"), str):
                    continue
                if data.get("e") == "aggTrade":
                    self._trades.setdefault(data["s"], []).append(_Recorded(index, number, data))
                elif isinstance(stream, str) and stream.endswith("@bookTicker"):
                    self._tickers.setdefault(data["s"], []).append(_Recorded(index, number, data))

    def answer(self, path: str, query: str, positions: Sequence[int]) -> tuple[int, str] | None:
        """See :meth:`relay.sim.rest_answers.RestAnswers.answer` and the module docstring."""
        prefix, _, endpoint = path.rpartition("/")
        if prefix.endswith("/ticker"):
            prefix, endpoint = prefix.removesuffix("/ticker"), "ticker/bookTicker"
        if prefix not in PREFIXES:
            return None
        params = dict(parse_qsl(query))
        symbol = params.get("symbol", "")
        if endpoint == "aggTrades":
            return self._agg_trades(symbol, params.get("limit"), positions)
        if endpoint == "ticker/bookTicker":
            return self._book_ticker(prefix, symbol, positions)
        if endpoint == "openInterest" and prefix != SPOT_PREFIX:
            return self._open_interest(prefix, symbol, positions)
        return None

    def _agg_trades(
        self, symbol: str, limit_text: str | None, positions: Sequence[int]
    ) -> tuple[int, str]:
        if symbol not in self._trades:
            return INVALID_SYMBOL
        try:
            limit = min(MAX_LIMIT, max(1, int(limit_text))) if limit_text else DEFAULT_LIMIT
        except ValueError:
            return 400, json.dumps({"code": -1100, "msg": "Illegal characters in limit."})
        passed = _passed(self._trades[symbol], positions)[-limit:]
        items = [{k: t.data[k] for k in AGG_TRADE_FIELDS if k in t.data} for t in passed]
        return 200, json.dumps(items, separators=(",", ":"))

    def _book_ticker(self, prefix: str, symbol: str, positions: Sequence[int]) -> tuple[int, str]:
        recorded = self._tickers.get(symbol)
        if not recorded:
            return INVALID_SYMBOL
        passed = _passed(recorded, positions)
        data = (passed or recorded[:1])[-1].data
        answer: dict[str, Any] = {"symbol": symbol}
        if prefix == COINM_PREFIX:
            answer["pair"] = symbol.partition("_")[0]
        answer.update(
            bidPrice=data.get("b"),
            bidQty=data.get("B"),
            askPrice=data.get("a"),
            askQty=data.get("A"),
        )
        if prefix != SPOT_PREFIX:
            answer["time"] = data.get("E", data.get("T"))
            answer["lastUpdateId"] = data.get("u")
        body: Any = [answer] if prefix == COINM_PREFIX else answer
        return 200, json.dumps(body, separators=(",", ":"))

    def _open_interest(self, prefix: str, symbol: str, positions: Sequence[int]) -> tuple[int, str]:
        recorded = self._trades.get(symbol)
        if not recorded:
            return INVALID_SYMBOL
        passed = _passed(recorded, positions)
        try:
            total = sum((Decimal(t.data["q"]) for t in passed), Decimal(0))
        except (InvalidOperation, KeyError, TypeError):
            return 500, json.dumps({"code": -1000, "msg": "recorded quantity unreadable"})
        time_ms = passed[-1].data.get("T") if passed else recorded[0].data.get("T", 1) - 1
        answer: dict[str, Any] = {"openInterest": str(total), "symbol": symbol, "time": time_ms}
        if prefix == COINM_PREFIX:
            answer["pair"] = symbol.partition("_")[0]
        return 200, json.dumps(answer, separators=(",", ":"))
