"""docs/client.md's example strategy, taken from the document's text, run against ``relay demo``.

The script is the first ``python`` block under "## Example strategy", run as
the document says: ``relay demo`` started, the script given the NATS URL the
demo prints. Every line it prints must have the documented shape and values
JetStream backs: ``#<sequence>`` with the best bid and ask of the SUSHI/USDT
book rebuilt from the stored stream at that sequence, the spread in bps from
them, ``tight`` under 5 bps, and a ticker bid the stream published.
"""

from __future__ import annotations

import asyncio
import re
import sys
import time
from decimal import Decimal
from pathlib import Path

import orjson
import pytest
from support.e2e import stored_messages

pytestmark = pytest.mark.integration

DOC = Path(__file__).parents[2] / "docs" / "client.md"
LINE = re.compile(
    r"#(?P<sequence>\d+) bid (?P<bid>[\d.]+) ask (?P<ask>[\d.]+) (?P<bps>\d+\.\d\d) bps"
    r" (?P<signal>tight|wide); ticker bid (?P<ticker>[\d.]+|None)"
)
BOOK = "market.binance-usdm.sushi-usdt.l2_orderbook"
TICKER = "market.binance-usdm.sushi-usdt.ticker"


def example_script() -> str:
    """The first python code block after the "## Example strategy" heading."""
    text = DOC.read_text()
    section = text[text.index("## Example strategy") :]
    match = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert match, "docs/client.md: no python block under '## Example strategy'"
    return match.group(1)


def book_tops(messages: list[tuple[str, dict[str, str], bytes]]) -> dict[int, tuple[str, str]]:
    """Sequence -> (best bid, best ask) of the book rebuilt from the stored stream."""
    bids: dict[Decimal, str] = {}
    asks: dict[Decimal, str] = {}
    tops: dict[int, tuple[str, str]] = {}
    for subject, _, data in messages:
        if subject != BOOK:
            continue
        envelope = orjson.loads(data)
        payload = envelope["payload"]
        if payload["is_snapshot"] and payload.get("snapshot_part", 1) == 1:
            bids.clear()
            asks.clear()
        for side, levels in ((bids, payload["bids"]), (asks, payload["asks"])):
            for price, quantity in levels:
                if Decimal(quantity):
                    side[Decimal(price)] = price
                else:
                    side.pop(Decimal(price), None)
        if bids and asks:
            tops[int(envelope["sequence"])] = (bids[max(bids)], asks[min(asks)])
    return tops


async def test_the_documented_example_strategy_prints_the_books_top_from_nats(
    tmp_path: Path,
) -> None:
    script = tmp_path / "strategy.py"
    script.write_text(example_script())
    demo = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "relay.cli",
        "demo",
        "--seconds",
        "30",
        "--speed",
        "3",
        stdout=asyncio.subprocess.PIPE,
    )
    assert demo.stdout is not None
    first = (await asyncio.wait_for(demo.stdout.readline(), 30)).decode()
    url = re.search(r"nats-server (nats://[\d.:]+)", first)
    assert url, first
    strategy = await asyncio.create_subprocess_exec(
        sys.executable, str(script), url.group(1), stdout=asyncio.subprocess.PIPE
    )
    assert strategy.stdout is not None
    lines: list[str] = []
    try:
        # The replay (31 s recorded, at speed 3) ends within about 12 s; read until
        # the strategy has been quiet for 3 s after printing, or 25 s in all.
        deadline = time.monotonic() + 25
        while time.monotonic() < deadline:
            try:
                read = await asyncio.wait_for(strategy.stdout.readline(), 3 if lines else 20)
            except TimeoutError:
                break
            if not read:
                break
            lines.append(read.decode().rstrip("\n"))
        messages = await stored_messages(url.group(1), 1)
    finally:
        strategy.terminate()
        await strategy.wait()
        await asyncio.wait_for(demo.communicate(), 60)
    assert demo.returncode == 0
    tops = book_tops(messages)
    tickers = {
        orjson.loads(data)["payload"]["bid_price"]
        for subject, _, data in messages
        if subject == TICKER
    }
    print(f"\n{len(lines)} lines, first {lines[:1]}, last {lines[-1:]}; {len(tops)} book states")
    assert len(lines) >= 10
    sequences = []
    for line in lines:
        match = LINE.fullmatch(line)
        assert match, line
        sequence = int(match["sequence"])
        sequences.append(sequence)
        bid, ask = Decimal(match["bid"]), Decimal(match["ask"])
        assert (match["bid"], match["ask"]) == tops[sequence], line
        bps = (ask - bid) / ((ask + bid) / 2) * 10_000
        assert match["bps"] == f"{bps:.2f}", line
        assert match["signal"] == ("tight" if bps < 5 else "wide"), line
        assert match["ticker"] == "None" or match["ticker"] in tickers, line
    assert sequences == sorted(sequences)
    assert sequences[-1] == max(tops)
    documented = re.search(r"it printed lines such as\n`([^`]+)`", DOC.read_text())
    assert documented and LINE.fullmatch(documented.group(1)), "the doc's sample line"
