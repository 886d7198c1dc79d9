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
