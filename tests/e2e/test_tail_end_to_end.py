"""``relay tail`` as a child process against a real relay, nats-server and simulator.

The recorded binance-usdm session is replayed at 2x; ``relay tail --json``
prints trades equal, by their per-subject sequence, to the recorded aggTrades;
``relay tail --book`` ends at the last book sequence with the reference's top
of book; a subject that is not four tokens is one line and exit 2.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from decimal import Decimal

import orjson
import pytest
from support.e2e import USDM, expected_counts, relay_in_process, stored_messages
from support.reference_books import CAPTURES, binance_books, recv_payloads

from relay.infrastructure.embedded_nats import EmbeddedNats
from relay.sim.captures import read_capture
from relay.sim.server import Simulator

pytestmark = pytest.mark.integration

USDM_ONLY = ("binance-usdm",)


async def tail(*args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "relay.cli", "tail", *args, stdout=asyncio.subprocess.PIPE
    )


async def test_tail_prints_recorded_trades_and_the_books_final_top() -> None:
    frames = [f["data"] for f in recv_payloads("binance-usdm.jsonl")]
    recorded = {
        instrument: [
            (str(f["a"]), f["p"], f["q"], "SELL" if f["m"] else "BUY")
            for f in frames
            if f.get("e") == "aggTrade" and f["s"] == instrument
        ]
        for instrument in USDM
    }
    simulator = Simulator([read_capture(CAPTURES / "binance-usdm.jsonl")], speed=2.0)
    async with EmbeddedNats() as server, simulator:
        trades = await tail(
            "market.binance-usdm.*.trade", "--json", "--count", "20", "--nats", server.url
        )
        async with relay_in_process(server.url, f"127.0.0.1:{simulator.port}", USDM_ONLY):
            out, _ = await asyncio.wait_for(trades.communicate(), 120)
            messages = await stored_messages(server.url, expected_counts(USDM_ONLY))
            last = max(
                int(orjson.loads(data)["sequence"])
                for subject, _, data in messages
                if subject == "market.binance-usdm.ctk-usdt.l2_orderbook"
            )
            book = await tail("--book", "binance-usdm", "ctk-usdt", "--nats", server.url)
            assert book.stdout is not None
            final = ""
            try:
                while not final.startswith(f"#{last} "):
                    line = await asyncio.wait_for(book.stdout.readline(), 30)
                    assert line, "relay tail --book ended"
                    final = line.decode().strip()
            finally:
                book.terminate()
                await book.wait()
    lines = [orjson.loads(line) for line in out.splitlines()]
    assert trades.returncode == 0 and len(lines) == 20
    for envelope in lines:
        p = envelope["payload"]
        assert (p["trade_id"], p["price"], p["quantity"], p["side"]) == recorded[
            envelope["instrument"]
        ][envelope["sequence"] - 1]
    bids, asks = binance_books("binance-usdm.jsonl", True)["CTKUSDT"]
    bid, ask = max(bids), min(asks)
    assert final == f"#{last}  bid {bids[bid]} @ {bid}  ask {asks[ask]} @ {ask}"
    print(f"\n20 tailed trades equal to the recording; final book line: {final}")
    assert Decimal(bid) < Decimal(ask)


def test_tail_refuses_a_subject_that_is_not_four_tokens_in_one_line() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "relay.cli", "tail", "market.>"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr == (
        "relay tail: expected <prefix>.<venue>.<symbol>.<data_type> with '*' wildcards,"
        " got 'market.>'\n"
    )
