"""End to end with poison frames: counted by the relay, every recorded event still exact.

For each supported recorded capture (binance-spot, binance-usdm, binance-coinm,
okx, coinbase-exchange, deribit): a real nats-server, the simulator in process
(``Simulator`` with ``Faults(poison_every=N)``, as ``relay simulate --poison-every
N``: after every N recorded frames one poison frame, in turn nested 5,000 deep,
the previous frame type-swapped, lists where words belong, invalid UTF-8 bytes,
NaN / ``1e400`` prices, a 1 MB string; every recorded frame still sent) at max
speed, and the relay in process. Then:

- the relay kept running (it stops cleanly, exit 0, and served one connection);
- ``relay_frames_rejected_total`` summed over reasons equals the poison frames
  sent exactly, and its ``internal_error`` count is 0 (a poison frame that
  reached a bug would land there);
- JetStream holds exactly the reference built from the raw recording: the same
  trades, tickers, candles (values and count) and final books, by the same
  checks as each capture's own end-to-end test.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import pytest
from support import coinbase_exchange_e2e, deribit_e2e, okx_e2e
from support.coinbase_exchange_reference import PRODUCTS, l2update_count, tickers, trades
from support.deribit_reference import deribit_reference
from support.e2e import (
    Stored,
    config_text,
    expected_counts,
    stored_messages,
    verify_jetstream,
)
from support.reference_books import CAPTURES

from relay.bootstrap import Relay
from relay.config.loader import parse_config
from relay.infrastructure.embedded_nats import EmbeddedNats, free_port
from relay.infrastructure.venues.registry import supported_data_types
from relay.sim.captures import read_capture
from relay.sim.faults import Faults
from relay.sim.server import Simulator

pytestmark = pytest.mark.integration

POISON_EVERY = 7
"""One poison frame after every this many recorded frames."""


@dataclass(frozen=True, slots=True)
class Case:
    """One capture: how to configure the relay, how many messages to await, how to check them."""

    capture: str
    config: Callable[[str, str], str]
    expected: Callable[[], int]
    verify: Callable[[Stored], object]


def _binance(venue: str) -> Case:
    return Case(
        f"{venue}.jsonl",
        lambda nats_url, sim: config_text(nats_url, sim, free_port(), "json", (venue,)),
        lambda: expected_counts((venue,)),
        lambda messages: verify_jetstream(messages, "json", (venue,)),
    )


def _okx_expected() -> int:
    _, counts, _, _ = okx_e2e.reference()
    return counts["trade"] + counts["ticker"] + counts["l2_orderbook"]


def _coinbase_exchange_expected() -> int:
    return sum(len(trades(p)) + len(tickers(p)) + 1 + l2update_count(p) for p in PRODUCTS)


def _deribit_expected() -> int:
    ref = deribit_reference()
    return sum(len(t) for t in ref.tickers.values()) + sum(ref.book_messages.values())


CASES = {
    "binance-spot": _binance("binance-spot"),
    "binance-usdm": _binance("binance-usdm"),
    "binance-coinm": _binance("binance-coinm"),
    "okx": Case(
        "okx.jsonl",
        lambda nats_url, sim: okx_e2e.okx_config(nats_url, sim, free_port()),
        _okx_expected,
        okx_e2e.verify_okx,
    ),
    "coinbase-exchange": Case(
        "coinbase-exchange.jsonl",
        lambda nats_url, sim: coinbase_exchange_e2e.config_text(nats_url, sim, free_port()),
        _coinbase_exchange_expected,
        coinbase_exchange_e2e.verify_coinbase_exchange,
    ),
    "deribit": Case(
        "deribit.jsonl",
        deribit_e2e.config_text,
        _deribit_expected,
        deribit_e2e.verify_deribit,
    ),
}


@pytest.fixture
async def nats_server() -> AsyncIterator[EmbeddedNats]:
    async with EmbeddedNats() as server:
        yield server


def _rejected(relay: Relay) -> dict[str, float]:
    return {
        s.labels["reason"]: s.value
        for metric in relay.metrics.registry.collect()
        for s in metric.samples
        if s.name == "relay_frames_rejected_total"
    }


@pytest.mark.parametrize("venue", CASES)
async def test_poison_frames_are_counted_and_every_recorded_event_still_arrives_exactly(
    venue: str, nats_server: EmbeddedNats
) -> None:
    case = CASES[venue]
    capture = read_capture(CAPTURES / case.capture)
    faults = Faults(poison_every=POISON_EVERY)
    async with Simulator([capture], speed=None, faults=faults) as simulator:
        text = case.config(nats_server.url, f"127.0.0.1:{simulator.port}")
        relay = Relay(parse_config(text, source="<test>", venues=supported_data_types()))
        stop = asyncio.Event()
        task = asyncio.create_task(relay.run(stop))
        try:
            messages = await stored_messages(nats_server.url, case.expected())
            for _ in range(300):  # every poison frame sent has been read and counted
                rejected = _rejected(relay)
                if simulator.poison_frames_sent and sum(rejected.values()) >= (
                    simulator.poison_frames_sent
                ):
                    break
                await asyncio.sleep(0.1)
            sent = simulator.poison_frames_sent
            served = simulator.connections_served
        finally:
            stop.set()
            assert await task == 0
    rejected = _rejected(relay)
    assert served == 1
    assert sent > 0
    assert rejected.get("internal_error", 0) == 0, rejected
    assert sum(rejected.values()) == sent, (sent, rejected)
    case.verify(messages)
    print(
        f"\n{venue}: {sent} poison frames sent, rejected {dict(sorted(rejected.items()))}; "
        f"{len(messages)} messages in JetStream, equal to the reference"
    )
