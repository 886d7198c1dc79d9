"""The client SDK against a real relay, nats-server and simulator replaying a recorded session.

A client that joins halfway through the binance-usdm replay gets, from NATS
alone (the ``relay-books`` image, then the stream), books equal to the
reference built from the recorded REST snapshots and diffs; ``latest`` equals
the last recorded ticker, ``history`` the last 10 recorded candles; a skip
fault makes a book resync, seen as ``resyncing`` then ``streaming`` in
``status()``, and the client's book recovers.
"""

from __future__ import annotations

from decimal import Decimal

import orjson
import pytest
from nats.js.errors import NotFoundError
from support.e2e import USDM, expected_counts, relay_in_process, stored_messages, until
from support.reference_books import CAPTURES, binance_books, recv_payloads

from relay.client import LiveBook, RelayClient
from relay.domain.model import Candle, Ticker
from relay.infrastructure.embedded_nats import EmbeddedNats
from relay.sim.captures import read_capture
from relay.sim.faults import Faults, ReconnectMode
from relay.sim.server import Simulator

pytestmark = pytest.mark.integration

USDM_ONLY = ("binance-usdm",)


def token(canonical: str) -> str:
    return canonical.lower().replace("/", "-")


async def test_a_client_joining_halfway_gets_books_latest_and_history_from_nats_alone() -> None:
    frames = [f["data"] for f in recv_payloads("binance-usdm.jsonl")]
    reference = binance_books("binance-usdm.jsonl", True)
    simulator = Simulator([read_capture(CAPTURES / "binance-usdm.jsonl")], speed=2.0)
    async with EmbeddedNats() as server, simulator:
        async with relay_in_process(server.url, f"127.0.0.1:{simulator.port}", USDM_ONLY):
            async with RelayClient(server.url) as client:
                total = expected_counts(USDM_ONLY)

                async def half_stored() -> bool:
                    try:
                        info = await client.nc.jetstream().stream_info("MARKET")
                    except NotFoundError:
                        return False
                    return info.state.messages >= total // 2

                await until(half_stored, "half the replay stored", 60)

                async def images_written() -> bool:
                    images = [
                        await client.book_image("binance-usdm", token(c)) for c in USDM.values()
                    ]
                    return all(image is not None for image in images)

                await until(images_written, "a book image of every book", 30)
                books: dict[str, LiveBook] = {
                    instrument: await client.order_book("binance-usdm", token(canonical))
                    for instrument, canonical in USDM.items()
                }
                messages = await stored_messages(server.url, total)
                last_sequence = {
                    subject: int(orjson.loads(data)["sequence"]) for subject, _, data in messages
                }

                async def books_caught_up() -> bool:
                    return all(
                        book.synced
                        and book.sequence
                        == last_sequence[f"market.binance-usdm.{token(USDM[i])}.l2_orderbook"]
                        for i, book in books.items()
                    )

                await until(books_caught_up, "every live book at the stream's last sequence")
                for instrument, book in books.items():
                    assert book.levels() == reference[instrument], instrument
                    assert book.rebootstraps == 0
                for instrument, canonical in USDM.items():
                    mine = [f for f in frames if f.get("s") == instrument and "B" in f]
                    last = mine[-1]

                    async def latest_written(c: str = canonical, want: str = last["b"]) -> bool:
                        event = await client.latest("binance-usdm", token(c), "ticker")
                        return event is not None and event.payload.bid_price == Decimal(want)  # type: ignore[union-attr]

                    await until(latest_written, f"the last ticker of {instrument}")
                    event = await client.latest("binance-usdm", token(canonical), "ticker")
                    assert event is not None
                    assert event.payload == Ticker(
                        Decimal(last["b"]),
                        Decimal(last["B"]),
                        Decimal(last["a"]),
                        Decimal(last["A"]),
                        last.get("u"),
                    )
                    klines = [
                        f["k"]
                        for f in frames
                        if f.get("e") == "kline" and f["k"]["s"] == instrument
                    ]
                    history = await client.history("binance-usdm", token(canonical), "candle", 10)
                    got = [e.payload for e in history]
                    assert all(isinstance(c, Candle) for c in got)
                    assert (
                        [
                            (c.open_time_ms, c.open, c.high, c.low, c.close, c.volume, c.is_closed)  # type: ignore[union-attr]
                            for c in got
                        ]
                        == [
                            (
                                k["t"],
                                Decimal(k["o"]),
                                Decimal(k["h"]),
                                Decimal(k["l"]),
                                Decimal(k["c"]),
                                Decimal(k["v"]),
                                k["x"],
                            )
                            for k in klines[-10:]
                        ]
                    )
    print(f"\nbooks equal to the reference for {sorted(books)}; last sequences {last_sequence}")


async def test_a_skipped_stretch_shows_resyncing_then_streaming_and_the_client_book_recovers() -> (
    None
):
    # Recorded frames 200-204 skipped: the CTKUSDT and AKROUSDT depth diffs lose
    # continuity (tests/e2e/test_resilience.py), each book resyncs once with reason "gap".
    simulator = Simulator(
        [read_capture(CAPTURES / "binance-usdm.jsonl")],
        speed=2.0,
        faults=Faults(skip_after_frames=200, skip_frames=5, reconnect=ReconnectMode.RESUME),
    )
    reference = binance_books("binance-usdm.jsonl", True)
    seen: list[tuple[str, int]] = []
    async with EmbeddedNats() as server, simulator:
        async with relay_in_process(server.url, f"127.0.0.1:{simulator.port}", USDM_ONLY):
            async with RelayClient(server.url) as client:

                async def stream_made() -> bool:
                    try:
                        await client.nc.jetstream().stream_info("MARKET")
                    except NotFoundError:
                        return False
                    return True

                await until(stream_made, "stream MARKET created by the relay")
                book = await client.order_book("binance-usdm", "ctk-usdt")

                async def ctk_state(state: str) -> bool:
                    for record in await client.status("binance-usdm"):
                        if record.data_type == "l2_orderbook" and record.instrument == "CTKUSDT":
                            if not seen or seen[-1] != (record.state, record.resyncs):
                                seen.append((record.state, record.resyncs))
                            return record.state == state
                    return False

                await until(lambda: ctk_state("resyncing"), "CTKUSDT resyncing", 60)
                await until(lambda: ctk_state("streaming"), "CTKUSDT streaming again", 30)
                messages = await stored_messages(server.url, expected_counts(USDM_ONLY) - 3)
                last = max(
                    int(orjson.loads(data)["sequence"])
                    for subject, _, data in messages
                    if subject == "market.binance-usdm.ctk-usdt.l2_orderbook"
                )

                async def caught_up() -> bool:
                    return book.synced and book.sequence == last

                await until(caught_up, "the client's CTKUSDT book at the last sequence")
                assert book.levels() == reference["CTKUSDT"]

                async def all_streaming() -> bool:
                    found = await client.status("binance-usdm")
                    return len(found) == 16 and all(r.state == "streaming" for r in found)

                await until(all_streaming, "all 16 streams of the replay streaming")
                records = {
                    (r.instrument, r.data_type): r for r in await client.status("binance-usdm")
                }
    print(f"\nCTKUSDT states seen in status(): {seen}; client book at sequence {last}")
    assert ("resyncing", 1) in seen
    assert seen[-1] == ("streaming", 1)
    assert seen.index(("resyncing", 1)) < seen.index(("streaming", 1))
    ctk = records[("CTKUSDT", "l2_orderbook")]
    assert (ctk.resyncs, ctk.last_reason) == (1, "gap")
    resyncs = {
        i: (r.resyncs, r.last_reason) for (i, t), r in records.items() if t == "l2_orderbook"
    }
    assert resyncs == {
        "CTKUSDT": (1, "gap"),
        "AKROUSDT": (1, "gap"),
        "SUSHIUSDT": (0, None),
        "KEEPUSDT": (0, None),
    }
