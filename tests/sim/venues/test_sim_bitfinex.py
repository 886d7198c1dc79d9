"""Bitfinex's simulated side: the recording as the venue would send it to the relay.

The recorded session (``bitfinex.jsonl``) passes through the side and the relay's
protocol, the protocol's replies going back to the side, as ``relay simulate`` runs
them. The final books are compared with books built from the raw frames here.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from decimal import Decimal

import websockets
from support.bitfinex_frames import SYMBOLS, protocol, recv
from support.reference_books import CAPTURES

from relay.application.errors import FrameError
from relay.application.ports import BookResync
from relay.infrastructure.venues.bitfinex.protocol import BitfinexProtocol
from relay.sim.captures import read_capture
from relay.sim.server import Simulator
from relay.sim.venues.bitfinex import FIRST_NEW_CHAN_ID, BitfinexSimulatedVenue

Book = tuple[dict[Decimal, Decimal], dict[Decimal, Decimal]]


def raw_books() -> dict[str, Book]:
    """Every book of the recording, from its raw frames (no relay code)."""
    names: dict[int, str] = {}
    books: dict[str, Book] = {}
    for frame in recv():
        message = json.loads(frame, parse_float=Decimal)
        if isinstance(message, dict):
            if message.get("event") == "subscribed" and message["channel"] == "book":
                names[message["chanId"]] = message["symbol"]
            continue
        if message[0] not in names or message[1] == "hb":
            continue
        bids, asks = books.setdefault(names[message[0]], ({}, {}))
        levels = message[1] if isinstance(message[1][0], list) else [message[1]]
        if isinstance(message[1][0], list):
            bids.clear()
            asks.clear()
        for price, count, amount in levels:
            side = bids if amount > 0 else asks
            if count == 0:
                side.pop(Decimal(price), None)
            else:
                side[Decimal(price)] = abs(Decimal(amount))
    return books


class Run:
    """The side and a protocol wired together; counts what the protocol made of it."""

    def __init__(self) -> None:
        self.side = BitfinexSimulatedVenue()
        self.proto: BitfinexProtocol = protocol()
        self.sent: list[str] = []
        self.resyncs: list[BookResync] = []
        self.rejected: Counter[str] = Counter()
        self.snapshots: Counter[str] = Counter()
        for frame in self.proto.subscribe_frames():
            assert self.side.on_client_frame(frame) == []

    def feed(self, frames: list[str]) -> None:
        for frame in frames:
            self.sent.append(frame)
            try:
                outcome = self.proto.on_frame(frame, 1)
            except FrameError as exc:
                self.rejected[exc.reason] += 1
                continue
            self.resyncs += outcome.resyncs
            for event in outcome.events:
                if getattr(event.payload, "is_snapshot", False):
                    self.snapshots[event.instrument.instrument] += 1
            for reply in outcome.replies:
                self.feed(list(self.side.on_client_frame(reply)))

    def passed(self, frame: str) -> None:
        served = self.side.on_frame_passed(frame)
        self.feed([frame] if served is None else list(served))


def test_every_recorded_book_message_gets_a_checksum_the_protocol_verifies() -> None:
    run = Run()
    for frame in recv():
        run.passed(frame)
    assert run.sent[1] == '{"event":"conf","status":"OK","flags":196608}'
    assert sum('"cs"' in f for f in run.sent) == 1600
    assert (run.resyncs, run.rejected) == ([], Counter())
    seqs = [json.loads(f)[-1] for f in run.sent if f.startswith("[")]
    assert seqs == list(range(1, 1670 + 1600 + 1))
    assert {n: b.book.levels() for n, b in run.proto._books.items()} == {
        n: (tuple(sorted(b[0].items(), reverse=True)), tuple(sorted(b[1].items())))
        for n, b in raw_books().items()
    }


def test_a_corrupted_book_resyncs_alone_and_the_fresh_snapshot_restores_it() -> None:
    run = Run()
    for index, frame in enumerate(recv()):
        if index == 900:
            book = run.proto._books["tDOGUSD"].book
            best = book.best_bid
            assert best is not None
            book.bids[best] += 1
        run.passed(frame)
    assert [(r.instrument.instrument, r.reason) for r in run.resyncs] == [("tDOGUSD", "checksum")]
    assert run.snapshots == {s: 2 if s == "tDOGUSD" else 1 for s in SYMBOLS}
    assert f'"chanId":{FIRST_NEW_CHAN_ID},"symbol":"tDOGUSD"' in "".join(run.sent)
    assert run.rejected == Counter()
    expected = raw_books()["tDOGUSD"]
    assert run.proto._books["tDOGUSD"].book.levels() == (
        tuple(sorted(expected[0].items(), reverse=True)),
        tuple(sorted(expected[1].items())),
    )


def test_pings_are_answered_and_unknown_unsubscribes_refused() -> None:
    side = BitfinexSimulatedVenue()
    (pong,) = side.on_client_frame('{"event":"ping","cid":7}')
    assert json.loads(pong)["event"] == "pong" and json.loads(pong)["cid"] == 7
    assert side.on_client_frame('{"event":"unsubscribe","chanId":5}') == [
        '{"event":"error","msg":"unsubscribe: invalid","code":10400}'
    ]
    assert side.on_client_frame("not json") == []
    assert side.on_frame_passed(recv()[0]) is None


async def test_the_simulator_sends_what_the_side_makes_of_the_recorded_frames() -> None:
    """Through ``relay.sim.server.Simulator`` (max speed) to a plain WebSocket client that
    asks for sequence numbers and checksums: the ``conf`` answer carries its flags, and
    every book message is followed by a ``cs`` message, numbers contiguous."""
    capture = read_capture(CAPTURES / "bitfinex.jsonl")
    async with Simulator([capture], speed=None) as simulator:
        url = simulator.ws_url_for("bitfinex", "/ws/2")
        async with websockets.connect(url) as client:
            for frame in protocol().subscribe_frames():
                await client.send(frame)
            frames = [str(await asyncio.wait_for(client.recv(), 10)) for _ in range(1693 + 1600)]
    assert frames[1] == '{"event":"conf","status":"OK","flags":196608}'
    channel = [json.loads(f) for f in frames if f.startswith("[")]
    assert [m[-1] for m in channel] == list(range(1, 3271))
    assert sum(m[1] == "cs" for m in channel) == 1600
