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
import contextlib
import re
import sys
from decimal import Decimal
from pathlib import Path

import nats
import orjson
import pytest
from support.e2e import expected_counts, stored_messages, until

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
        "300",  # ended by SIGTERM below, once the stream is read
        "--speed",
        "3",
        stdout=asyncio.subprocess.PIPE,
    )
    assert demo.stdout is not None
    first = (await asyncio.wait_for(demo.stdout.readline(), 30)).decode()
    url = re.search(r"nats-server (nats://[\d.:]+)", first)
    assert url, first
    # The URL is printed once the relay set up what a client reads: no race with it.
    nc = await nats.connect(url.group(1))
    try:
        js = nc.jetstream(timeout=2.0)
        for name in ("MARKET", "KV_relay-books", "KV_relay-latest"):
            assert (await js.stream_info(name)).config.name == name  # NotFoundError if not
    finally:
        await nc.close()
    strategy = await asyncio.create_subprocess_exec(
        sys.executable,
        str(script),
        url.group(1),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert strategy.stdout is not None
    lines: list[str] = []

    async def read_lines(stdout: asyncio.StreamReader) -> None:
        async for raw in stdout:
            lines.append(raw.decode().rstrip("\n"))

    reader = asyncio.create_task(read_lines(strategy.stdout))

    def printed_last_state() -> bool:
        match = LINE.fullmatch(lines[-1]) if lines else None
        return match is not None and int(match["sequence"]) == last

    async def printed_last_state_or_ended() -> bool:
        return printed_last_state() or strategy.returncode is not None

    try:
        # The whole replay stored (31 s recorded, at speed 3), then the strategy's line for
        # the book's last stored state.
        messages = await stored_messages(url.group(1), expected_counts())
        last = max(book_tops(messages))
        with contextlib.suppress(AssertionError):  # reported below, with what it printed
            await until(printed_last_state_or_ended, "the strategy's last line", 30)
        ended = strategy.returncode
    finally:
        if strategy.returncode is None:
            strategy.terminate()
        reader.cancel()
        await asyncio.gather(reader, return_exceptions=True)
        assert strategy.stderr is not None
        strategy_stderr = await strategy.stderr.read()
        await strategy.wait()
        if demo.returncode is None:
            demo.terminate()
        await asyncio.wait_for(demo.communicate(), 60)
    # The strategy runs until stopped: it must not have ended on its own.
    said = (
        f"printed {len(lines)} lines, last {lines[-3:]}; stderr: "
        + strategy_stderr.decode(errors="replace")[-3000:]
    )
    assert ended is None, said
    assert printed_last_state(), f"no line for book sequence {last}: {said}"
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
