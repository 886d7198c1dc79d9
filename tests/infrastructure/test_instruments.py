"""``relay instruments``: a venue's public listing read and printed as a table or TOML.

The listing bodies follow the shapes documented for Binance's exchangeInfo
(https://developers.binance.com/docs/binance-spot-api-docs/rest-api/general-endpoints,
and the USD-M / COIN-M "Exchange Information" pages), trimmed to the fields read.
The command runs against the project's simulator serving them as recorded REST answers.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import pytest
import tomlkit

from relay.infrastructure.venues.registry import ListedInstrument, ListingRequest, venue_spec
from relay.sim.captures import read_capture
from relay.sim.server import Simulator

USDM_EXCHANGE_INFO = {
    "timezone": "UTC",
    "symbols": [
        {
            "symbol": "BTCUSDT",
            "pair": "BTCUSDT",
            "contractType": "PERPETUAL",
            "status": "TRADING",
            "baseAsset": "BTC",
            "quoteAsset": "USDT",
        },
        {
            "symbol": "BTCUSDT_230331",
            "pair": "BTCUSDT",
            "contractType": "CURRENT_QUARTER",
            "status": "TRADING",
            "baseAsset": "BTC",
            "quoteAsset": "USDT",
        },
        {
            "symbol": "SRMUSDT",
            "pair": "SRMUSDT",
            "contractType": "PERPETUAL",
            "status": "SETTLING",
            "baseAsset": "SRM",
            "quoteAsset": "USDT",
        },
    ],
}
SPOT_EXCHANGE_INFO = {
    "symbols": [
        {"symbol": "BNBBTC", "status": "TRADING", "baseAsset": "BNB", "quoteAsset": "BTC"},
        {"symbol": "ETHBTC", "status": "BREAK", "baseAsset": "ETH", "quoteAsset": "BTC"},
    ]
}
COINM_EXCHANGE_INFO = {
    "symbols": [
        {
            "symbol": "BTCUSD_PERP",
            "pair": "BTCUSD",
            "contractType": "PERPETUAL",
            "contractStatus": "TRADING",
            "baseAsset": "BTC",
            "quoteAsset": "USD",
        },
    ]
}


def parse(venue: str, body: object) -> list[ListedInstrument]:
    listing = venue_spec(venue).instrument_listing
    assert listing is not None
    return listing.parse(listing.requests[0], json.dumps(body).encode())


def test_binance_usdm_listing_keeps_trading_contracts_with_perp_and_delivery_symbols() -> None:
    assert parse("binance-usdm", USDM_EXCHANGE_INFO) == [
        ListedInstrument("BTCUSDT", "BTC/USDT:PERP", "perpetual"),
        ListedInstrument("BTCUSDT_230331", "BTC/USDT:230331", "future"),
    ]


def test_binance_spot_and_coinm_listings_read_status_and_contract_status() -> None:
    assert parse("binance-spot", SPOT_EXCHANGE_INFO) == [
        ListedInstrument("BNBBTC", "BNB/BTC", "spot")
    ]
    assert parse("binance-coinm", COINM_EXCHANGE_INFO) == [
        ListedInstrument("BTCUSD_PERP", "BTC/USD:PERP", "perpetual")
    ]


@pytest.mark.parametrize("body", [b"not json", b"{}", b'{"symbols":[{"status":"TRADING"}]}'])
def test_an_unreadable_listing_raises_value_error(body: bytes) -> None:
    listing = venue_spec("binance-usdm").instrument_listing
    assert listing is not None
    with pytest.raises(ValueError):
        listing.parse(ListingRequest("/fapi/v1/exchangeInfo"), body)


def listing_capture(tmp_path: Path) -> Path:
    records = [
        {
            "capture": 1,
            "venue": "binance-usdm",
            "recorded": "2026-11-22T00:00:00+00:00",
            "source": "test: documented exchangeInfo shape",
            "records": 1,
        },
        {
            "t": 1.0,
            "kind": "http",
            "method": "GET",
            "url": "https://fapi.binance.com/fapi/v1/exchangeInfo",
            "status": 200,
            "data": json.dumps(USDM_EXCHANGE_INFO),
        },
    ]
    path = tmp_path / "listing.jsonl"
    path.write_text("".join(json.dumps(record) + "\n" for record in records))
    return path


async def run_cli(*args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "relay.cli",
        "instruments",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_the_command_prints_a_table_and_toml_subscriptions_from_the_venue(
    tmp_path: Path,
) -> None:
    async with Simulator([read_capture(listing_capture(tmp_path))], speed=None) as simulator:
        rest = simulator.http_url_for("binance-usdm", "")
        code, table, err = await run_cli("binance-usdm", "--rest-url", rest)
        assert (code, err) == (0, "2 instruments\n")
        assert table.splitlines() == [
            "instrument      canonical_symbol  kind",
            "BTCUSDT         BTC/USDT:PERP     perpetual",
            "BTCUSDT_230331  BTC/USDT:230331   future",
        ]
        code, text, _ = await run_cli(
            "binance-usdm", "--rest-url", rest, "--toml", "--match", "230331"
        )
    assert code == 0
    assert tomlkit.parse(text).unwrap() == {
        "venues": {
            "subscriptions": [
                {
                    "instrument": "BTCUSDT_230331",
                    "canonical_symbol": "BTC/USDT:230331",
                    "data_types": [
                        "candle",
                        "funding_rate",
                        "l2_orderbook",
                        "liquidation",
                        "open_interest",
                        "ticker",
                        "trade",
                    ],
                }
            ]
        }
    }


async def test_an_unreachable_listing_exits_1_with_the_url_and_an_unknown_venue_exits_2() -> None:
    code, out, err = await run_cli("binance-usdm", "--rest-url", "http://127.0.0.1:9")
    assert (code, out) == (1, "")
    assert err.startswith(
        "relay instruments: binance-usdm: http://127.0.0.1:9/fapi/v1/exchangeInfo"
    )
    code, _, err = await run_cli("no-such-venue")
    assert code == 2
    assert "unknown venue 'no-such-venue'" in err
