"""Binance REST polls: open interest (REST only), and trades and tickers for the fallback.

Endpoints (request weights as the pages state them; every one takes ``symbol``):

- Open interest, only offered over REST on futures:
  USD-M ``GET /fapi/v1/openInterest`` (weight 1),
  https://developers.binance.com/docs/derivatives/usds-margined-futures/market-data/rest-api/Open-Interest;
  COIN-M ``GET /dapi/v1/openInterest`` (weight 1),
  https://developers.binance.com/docs/derivatives/coin-margined-futures/market-data/rest-api/Open-Interest.
- Recent trades for the fallback: the *aggregate* trades lists, because the
  WebSocket trade stream the relay reads is ``aggTrade`` and its message ids are
  the aggregate trade id ``a``; the plain recent-trades lists (``/api/v3/trades``,
  ``/fapi/v1/trades``, ``/dapi/v1/trades``) carry raw trade ids, which would give
  every trade a second message id. Spot ``GET /api/v3/aggTrades`` (weight 4),
  https://developers.binance.com/docs/binance-spot-api-docs/rest-api/market-data-endpoints
  (Compressed/Aggregate trades list); USD-M ``GET /fapi/v1/aggTrades`` (weight 20),
  https://developers.binance.com/docs/derivatives/usds-margined-futures/market-data/rest-api/Compressed-Aggregate-Trades-List;
  COIN-M ``GET /dapi/v1/aggTrades`` (weight 20),
  https://developers.binance.com/docs/derivatives/coin-margined-futures/market-data/rest-api/Compressed-Aggregate-Trades-List.
  ``limit=1000`` (the most one answer holds, the newest trades).
- Best bid and ask for the fallback: spot ``GET /api/v3/ticker/bookTicker``
  (weight 2 for one symbol), USD-M ``GET /fapi/v1/ticker/bookTicker`` (weight 2),
  https://developers.binance.com/docs/derivatives/usds-margined-futures/market-data/rest-api/Symbol-Order-Book-Ticker;
  COIN-M ``GET /dapi/v1/ticker/bookTicker`` (weight 2, a list even for one symbol),
  https://developers.binance.com/docs/derivatives/coin-margined-futures/market-data/rest-api/Symbol-Order-Book-Ticker.

Message ids: an aggregate trade's key is ``a`` and a futures ticker's is
``lastUpdateId``, the keys the WebSocket's ``aggTrade`` and ``bookTicker`` give
(``a``, ``u``), so a trade or quote read both ways is published once. Spot's
REST ticker has no update id: its key is ``rest-<received_at_ms>`` (a quote per
poll). Open interest is keyed by the venue's ``time``: a poll answered with the
same ``time`` as the previous one is the same event and is not published again.

The parsers raise ``orjson.JSONDecodeError`` (a ``ValueError``), ``KeyError``,
``TypeError`` or :class:`~relay.domain.errors.InvalidValueError` for a body they
cannot read; the poller counts it as ``bad_body``.
"""

from __future__ import annotations

from typing import Any

import orjson

from relay.application.rest_polls import RestEndpoint, RestPolling
from relay.domain.errors import InvalidValueError
from relay.domain.model import DataType, Instrument, MarketEvent, OpenInterest, Ticker
from relay.infrastructure.venues.binance import parse
from relay.infrastructure.venues.common import wire

AGG_TRADES_LIMIT = 1000
"""Aggregate trades asked for per fallback poll (Binance's maximum)."""


def _symbol_query(instrument: Instrument) -> str:
    return f"symbol={instrument.instrument.upper()}"


def _agg_trades_query(instrument: Instrument) -> str:
    return f"symbol={instrument.instrument.upper()}&limit={AGG_TRADES_LIMIT}"


def _check_symbol(data: dict[str, Any], instrument: Instrument) -> None:
    symbol = wire.text("symbol", data["symbol"])
    if symbol != instrument.instrument.upper():
        raise InvalidValueError("symbol", symbol, f"answer for {instrument.instrument} expected")


def open_interest(body: bytes, instrument: Instrument, received_at_ms: int) -> list[MarketEvent]:
    """An open interest answer as one event, keyed and timed by the venue's ``time``.

    Shapes (the Binance documentation's examples)::

        USD-M  {"openInterest":"10659.509","symbol":"BTCUSDT","time":1589437530011}
        COIN-M {"symbol":"BTCUSD_200626","pair":"BTCUSD","openInterest":"15004",
                "contractType":"CURRENT_QUARTER","time":1591261042378}

    Raises:
        orjson.JSONDecodeError: not JSON.
        KeyError: ``symbol``, ``openInterest`` or ``time`` missing.
        InvalidValueError: not an object, another symbol, a malformed field.
    """
    data = wire.json_object("open interest", orjson.loads(body))
    _check_symbol(data, instrument)
    time_ms = wire.integer("time", data["time"])
    return [
        MarketEvent(
            instrument,
            DataType.OPEN_INTEREST,
            received_at_ms,
            time_ms,
            OpenInterest(wire.quantity("openInterest", data["openInterest"])),
            str(time_ms),
        )
    ]


def agg_trades(body: bytes, instrument: Instrument, received_at_ms: int) -> list[MarketEvent]:
    """An aggregate trades list as trades, oldest first, as the ``aggTrade`` stream gives them.

    Shape (spot documentation's example; futures lists have no ``M``)::

        [{"a":26129,"p":"0.01633102","q":"4.70443515","f":27781,"l":27781,
          "T":1498793709153,"m":true,"M":true}]

    Each item is read by :func:`.parse.agg_trade` (the stream's reader: the
    same fields ``a``, ``p``, ``q``, ``T``, ``m``), so the event equals the
    stream's one but for ``received_at``.

    Raises:
        orjson.JSONDecodeError: not JSON.
        KeyError: a field missing in an item.
        InvalidValueError: not a list of objects, a malformed field.
    """
    items = orjson.loads(body)
    if not isinstance(items, list):
        raise InvalidValueError("aggTrades", wire.brief(items), "expected a list")
    return [
        parse.agg_trade(wire.json_object("aggTrade", item), instrument, received_at_ms)
        for item in items
    ]


def book_ticker(body: bytes, instrument: Instrument, received_at_ms: int) -> list[MarketEvent]:
    """A book ticker answer as one ticker event.

    Shapes (documentation examples; COIN-M answers a list of such objects)::

        USD-M {"symbol":"BTCUSDT","bidPrice":"4.00000000","bidQty":"431.00000000",
               "askPrice":"4.00000200","askQty":"9.00000000","time":1589437530011,
               "lastUpdateId":1027024}
        spot  {"symbol":"LTCBTC","bidPrice":"4.00000000","bidQty":"431.00000000",
               "askPrice":"4.00000200","askQty":"9.00000000"}

    The key is ``lastUpdateId`` (the stream's ``u``) when sent, else
    ``rest-<received_at_ms>``; the exchange time is ``time`` when sent.

    Raises:
        orjson.JSONDecodeError: not JSON.
        KeyError: a field missing.
        InvalidValueError: not an object (or a list holding the symbol's), a
            malformed field.
    """
    document = orjson.loads(body)
    if isinstance(document, list):
        wanted = instrument.instrument.upper()
        matches = [i for i in document if isinstance(i, dict) and i.get("symbol") == wanted]
        if not matches:
            raise InvalidValueError("bookTicker", wire.brief(document), f"no {wanted} in the list")
        document = matches[0]
    data = wire.json_object("bookTicker", document)
    _check_symbol(data, instrument)
    update_id = parse.optional_int(data, "lastUpdateId")
    return [
        MarketEvent(
            instrument,
            DataType.TICKER,
            received_at_ms,
            parse.optional_int(data, "time"),
            Ticker(
                wire.price("bid_price", data["bidPrice"]),
                wire.quantity("bid_quantity", data["bidQty"]),
                wire.price("ask_price", data["askPrice"]),
                wire.quantity("ask_quantity", data["askQty"]),
                update_id,
            ),
            f"rest-{received_at_ms}" if update_id is None else str(update_id),
        )
    ]


def _fallback(prefix: str, agg_trades_weight: int) -> tuple[RestEndpoint, ...]:
    return (
        RestEndpoint(
            DataType.TRADE, f"{prefix}/aggTrades", _agg_trades_query, agg_trades_weight, agg_trades
        ),
        RestEndpoint(DataType.TICKER, f"{prefix}/ticker/bookTicker", _symbol_query, 2, book_ticker),
    )


SPOT_POLLING = RestPolling(fallback=_fallback("/api/v3", 4))
"""Spot: no REST-only data; trades and tickers for the fallback."""

USDM_POLLING = RestPolling(
    polled=(
        RestEndpoint(
            DataType.OPEN_INTEREST, "/fapi/v1/openInterest", _symbol_query, 1, open_interest
        ),
    ),
    fallback=_fallback("/fapi/v1", 20),
)
"""USD-M: open interest polled; trades and tickers for the fallback."""

COINM_POLLING = RestPolling(
    polled=(
        RestEndpoint(
            DataType.OPEN_INTEREST, "/dapi/v1/openInterest", _symbol_query, 1, open_interest
        ),
    ),
    fallback=_fallback("/dapi/v1", 20),
)
"""COIN-M: open interest polled; trades and tickers for the fallback."""
