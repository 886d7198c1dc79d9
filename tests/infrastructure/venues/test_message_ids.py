"""``Nats-Msg-Id`` on every venue: distinct venue messages never share one, a re-sent one keeps it.

JetStream drops a message whose id it saw within its duplicate window, and the
pipeline suppresses ids it already published (``relay.application.pipeline``):
an id two different venue messages share loses the second one. The audit
replays every recorded session of ``shared/captures`` the relay has an adapter
for (``support.capture_replay``) and checks that events sharing an id are the
same message seen twice: byte-identical envelopes (``received_at`` and
``sequence``, which the relay adds, left out) from byte-identical recorded
records. The same frames replayed on a second connection must map to the same
ids, or the dedup across a reconnect and a connection rotation breaks.

The ticker property: on every venue that publishes tickers, a quote that
returns to an earlier value (a later venue message) is published again, as
the real pipeline sees it, and the last published quote is the venue's last.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support.capture_replay import NO_ADAPTER, SUBSCRIPTION_READERS, Replay, replay
from support.coinbase_exchange_reference import raw_frames
from support.coinbase_frames import LEVEL2, l2, with_sequence
from support.e2e import stored_messages
from support.kraken_frames import book_frame, guide_snapshot
from support.reference_books import CAPTURES
from support.ticker_frames import KRAKEN_TICKER, TICKER_FRAMES, Quote

from relay.application.errors import FrameError
from relay.application.pipeline import Pipeline
from relay.application.ports import OutboundMessage, VenueProtocol
from relay.config.model import (
    NatsConfig,
    PipelineConfig,
    StorageType,
    StreamConfig,
    SubscriptionConfig,
    VenueConfig,
)
from relay.domain.model import DataType, MarketEvent, Ticker
from relay.infrastructure.embedded_nats import EmbeddedNats
from relay.infrastructure.metrics import PrometheusMetrics
from relay.infrastructure.nats.publisher import JetStreamPublisher
from relay.infrastructure.venues.registry import registered_venues, venue_spec
from relay.serialization.json_codec import JsonCodec, event_to_dict
from relay.sim.captures import RecordKind, read_capture

CAPTURE_FILES = sorted(CAPTURES.glob("*.jsonl"))

EXPECTED = {
    "binance-coinm": 4122,
    "binance-spot": 264,
    "binance-usdm": 1527,
    "bitfinex": 1831,
    "bitmex": 2442,
    "bitstamp": 634,
    "coinbase-exchange": 9943,
    "deribit": 145,
    "gate-futures": 401,
    "gate-spot": 190,
    "kraken-futures": 7027,
    "okx": 392,
}
"""Events each recorded session gives, every one with its own message id."""


def _venue(path: Path) -> str:
    return read_capture(path).header.venue


def envelope(event: MarketEvent) -> bytes:
    """The published JSON envelope less what the relay adds (``received_at``, ``sequence``)."""
    return orjson.dumps(event_to_dict(dataclasses.replace(event, received_at_ms=0), 0))


def collisions(result: Replay, texts: dict[int, str]) -> dict[str, list[int]]:
    """Ids shared by events that are not the same venue message: id -> capture lines.

    Two events are the same message seen twice when their envelopes are equal
    byte for byte and so are the recorded records (frame or REST body) they came from.
    """
    seen: dict[str, list[tuple[bytes, str, int]]] = defaultdict(list)
    for event, line in result.events:
        seen[event.msg_id].append((envelope(event), texts[line], line))
    return {
        msg_id: [line for _, _, line in found]
        for msg_id, found in seen.items()
        if len({(body, text) for body, text, _ in found}) > 1
    }


def test_every_capture_has_an_adapter_and_a_reader_or_is_listed_as_without_one() -> None:
    registered = set(registered_venues())
    venues = {_venue(path) for path in CAPTURE_FILES}
    assert venues >= NO_ADAPTER, "a venue listed without adapter has no capture any more"
    assert not NO_ADAPTER & registered, "an adapter exists now: remove it from NO_ADAPTER"
    audited = venues - NO_ADAPTER
    assert audited <= registered, f"captures of unknown venues: {audited - registered}"
    assert audited == set(SUBSCRIPTION_READERS), "each audited capture needs a reader"
    assert audited == set(EXPECTED)


@pytest.mark.parametrize("path", CAPTURE_FILES, ids=[p.stem for p in CAPTURE_FILES])
def test_distinct_recorded_messages_never_share_a_message_id(path: Path) -> None:
    venue = _venue(path)
    if venue in NO_ADAPTER:
        pytest.skip(f"{venue}: the relay has no adapter for it")
    result = replay(read_capture(path))
    texts = {r.line: r.data or "" for r in read_capture(path).records}
    shared = collisions(result, texts)
    ids = {event.msg_id for event, _ in result.events}
    by_type: dict[str, int] = defaultdict(int)
    for event, _ in result.events:
        by_type[event.data_type.value] += 1
    print(
        f"\n{venue}: {len(result.events)} events, {len(ids)} distinct ids, "
        f"{len(shared)} collisions; {dict(sorted(by_type.items()))}; "
        f"rejected {dict(result.rejected)}"
    )
    assert shared == {}
    assert len(result.events) == len(ids) == EXPECTED[venue]


@pytest.mark.parametrize("path", CAPTURE_FILES, ids=[p.stem for p in CAPTURE_FILES])
def test_a_recorded_session_replayed_on_a_second_connection_keeps_every_message_id(
    path: Path,
) -> None:
    """A reconnect to a venue that re-sends the same frames (``relay simulate --reconnect
    restart``): the second connection's events are the first's, id for id, so the pipeline
    and JetStream drop every one of them as a duplicate."""
    venue = _venue(path)
    if venue in NO_ADAPTER:
        pytest.skip(f"{venue}: the relay has no adapter for it")
    capture = read_capture(path)
    again = tuple(
        dataclasses.replace(r, conn="again", line=r.line + len(capture.records))
        if r.kind in (RecordKind.CONNECT, RecordKind.RECV)
        else dataclasses.replace(r, line=r.line + len(capture.records))
        for r in capture.records
    )
    result = replay(dataclasses.replace(capture, records=capture.records + again))
    first = [e for e, line in result.events if line <= len(capture.records) + 1]
    second = [e for e, line in result.events if line > len(capture.records) + 1]
    assert len(first) == EXPECTED[venue]
    assert [(e.msg_id, envelope(e)) for e in second] == [(e.msg_id, envelope(e)) for e in first]


# --- a quote that returns to an earlier value ---------------------------------------------------


QUOTES: tuple[Quote, ...] = (
    ("0.1005", "2", "0.1007", "3"),
    ("0.1004", "1", "0.1008", "5"),
    ("0.1005", "2", "0.1007", "4"),
)
"""Three quotes, the first and last differing only in the ask size."""


class _Recorder:
    """A message sink that keeps what the pipeline hands over."""

    max_payload_bytes = 1024 * 1024
    """The nats-server default ``max_payload``."""

    def __init__(self) -> None:
        self.messages: list[OutboundMessage] = []

    async def submit(self, message: OutboundMessage) -> None:
        self.messages.append(message)

    async def flush(self) -> None:
        return None

    async def drain(self, timeout_s: float) -> int:
        return 0


async def _through_pipeline(events: list[MarketEvent]) -> tuple[list[OutboundMessage], int]:
    sink = _Recorder()
    pipeline = Pipeline(1_000, JsonCodec(), sink, PrometheusMetrics())
    task = asyncio.create_task(pipeline.run())
    for event in events:
        await pipeline.put(event)
    assert await pipeline.drain(5.0) == 0
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    return sink.messages, pipeline.duplicates


def _protocol(venue: str, instrument: str, data_type: DataType) -> VenueProtocol:
    sub = SubscriptionConfig(instrument, instrument.replace(".", ""), (data_type,))
    return venue_spec(venue).protocol_factory(VenueConfig(id=venue, subscriptions=(sub,)))


def ticker_events(venue: str, quotes: list[Quote]) -> list[MarketEvent]:
    """The ticker events ``venue``'s protocol gives for one message per quote."""
    instrument, build = TICKER_FRAMES[venue]
    protocol = _protocol(venue, instrument, DataType.TICKER)
    events: list[MarketEvent] = []
    for step, frame in enumerate(build(quotes)):
        try:
            events.extend(protocol.on_frame(frame, 1_700_000_000_000 + step).events)
        except FrameError as exc:
            raise AssertionError(f"{venue}: ticker frame {step} refused: {exc}") from None
    return [e for e in events if e.data_type is DataType.TICKER]


TICKER_VENUES = sorted(
    v for v in registered_venues() if DataType.TICKER in venue_spec(v).data_types
)


def test_every_venue_that_publishes_tickers_has_ticker_frames_here() -> None:
    assert set(TICKER_FRAMES) == set(TICKER_VENUES)


@pytest.mark.parametrize("venue", TICKER_VENUES)
@settings(max_examples=40, deadline=None)
@given(indexes=st.lists(st.sampled_from(range(len(QUOTES))), min_size=2, max_size=8))
def test_every_ticker_message_is_published_even_when_its_quote_returns(
    venue: str, indexes: list[int]
) -> None:
    quotes = [QUOTES[i] for i in indexes]
    events = ticker_events(venue, quotes)
    got = [
        (str(t.bid_price), str(t.bid_quantity), str(t.ask_price), str(t.ask_quantity))
        for t in (e.payload for e in events)
        if isinstance(t, Ticker)
    ]
    assert got == quotes
    messages, duplicates = asyncio.run(_through_pipeline(events))
    assert duplicates == 0
    assert len({m.msg_id for m in messages}) == len(messages) == len(quotes)
    last = orjson.loads(messages[-1].payload)["payload"]
    assert (
        last["bid_price"],
        last["bid_quantity"],
        last["ask_price"],
        last["ask_quantity"],
    ) == quotes[-1]


@pytest.mark.parametrize("venue", TICKER_VENUES)
def test_a_ticker_message_received_twice_keeps_its_id_and_is_published_once(venue: str) -> None:
    """The other half of the rule: the same venue message on two connections, one id."""
    quotes = list(QUOTES)
    first = ticker_events(venue, quotes)
    second = ticker_events(venue, quotes)
    assert [e.msg_id for e in first] == [e.msg_id for e in second]
    messages, duplicates = asyncio.run(_through_pipeline(first + second))
    assert (len(messages), duplicates) == (len(quotes), len(quotes))


# --- snapshots after a resync, and messages without time or sequence ----------------------------


def _published(events: list[MarketEvent]) -> list[str]:
    """The message ids the real pipeline publishes for ``events``, in order."""
    messages, _ = asyncio.run(_through_pipeline(events))
    return [m.msg_id for m in messages]


def test_coinbase_exchange_resync_snapshot_equal_to_the_first_gets_its_own_id() -> None:
    """The feed's snapshot has no time and no id: the recorded BAND-GBP snapshot frame sent
    again after a crossed-book resync is a new snapshot, published; the same frame on a new
    connection (a replay) keeps the first connection's id."""
    frames = raw_frames()
    snapshot = next(f for f, _ in frames if '"type":"snapshot","product_id":"BAND-GBP"' in f)
    update = next(f for f, _ in frames if '"type":"l2update","product_id":"BAND-GBP"' in f)
    proto = _protocol("coinbase-exchange", "BAND-GBP", DataType.L2_ORDERBOOK)
    first = proto.on_frame(snapshot, 1).events + proto.on_frame(update, 2).events
    crossing = (
        '{"type":"l2update","product_id":"BAND-GBP","changes":[["buy","99","1"]],'
        '"time":"2021-04-17T16:43:37.500000Z"}'
    )
    assert [r.reason for r in proto.on_frame(crossing, 3).resyncs] == ["crossed_book"]
    second = proto.on_frame(snapshot, 4).events + proto.on_frame(update, 5).events
    assert len(_published(first + second)) == 4
    assert [e.dedup_key.split(":2021")[0] for e in first + second] == [
        "snapshot:986ef65f82eecb04",
        "986ef65f82eecb04",
        "snapshot:986ef65f82eecb04:1",
        "986ef65f82eecb04:1",
    ]
    replayed = _protocol("coinbase-exchange", "BAND-GBP", DataType.L2_ORDERBOOK)
    assert [e.msg_id for e in replayed.on_frame(snapshot, 6).events] == [first[0].msg_id]


def test_kraken_resync_snapshot_with_the_same_time_and_checksum_gets_its_own_id() -> None:
    """The guide's snapshot, a checksum failure, then the same snapshot again (Kraken sent
    the book unchanged): published, with ``:1``; the update after it is published too."""
    proto = _protocol("kraken", "BTC/USD", DataType.L2_ORDERBOOK)
    first = proto.on_frame(guide_snapshot(), 1).events
    bad = book_frame("update", "BTC/USD", [("45283.5", "0.20000000")], [], 3310070434)
    assert [r.reason for r in proto.on_frame(bad, 2).resyncs] == ["checksum"]
    second = proto.on_frame(guide_snapshot(), 3).events
    assert len(_published(first + second)) == 2
    assert [e.dedup_key for e in first + second] == [
        "snapshot:2023-10-06T17:35:55.440295Z:3310070434",
        "snapshot:2023-10-06T17:35:55.440295Z:3310070434:1",
    ]


def test_kraken_ticker_without_timestamp_is_told_apart_by_its_other_fields() -> None:
    """A ticker without ``timestamp``: the quote of the first comes back in the third, whose
    last price and volume moved; all three are published. The same message twice: one id."""
    proto = _protocol("kraken", "ALGO/USD", DataType.TICKER)
    frames = []
    for step, bid in enumerate(("0.10025", "0.10026", "0.10025")):
        message = json.loads(json.dumps(KRAKEN_TICKER))
        entry = message["data"][0]
        del entry["timestamp"]
        entry.update(bid=float(bid), volume=997038.98383185 + step, last=0.10035 + step / 1e5)
        frames.append(json.dumps(message))
    events = [e for f in frames for e in proto.on_frame(f, 1).events]
    assert [str(e.payload.bid_price) for e in events] == ["0.10025", "0.10026", "0.10025"]  # type: ignore[union-attr]
    assert len(_published(events)) == 3
    assert proto.on_frame(frames[0], 2).events[0].msg_id == events[0].msg_id


HYPERLIQUID_CTX: dict[str, Any] = {
    "dayNtlVlm": "1169046.29406",
    "funding": "0.0000125",
    "impactPxs": ["14.3047", "14.3444"],
    "markPx": "14.3161",
    "midPx": "14.314",
    "openInterest": "688.11",
    "oraclePx": "14.32",
    "premium": "0.00031774",
    "prevDayPx": "15.322",
}
"""https://hyperliquid.gitbook.io/hyperliquid-docs/for-developers/api/info-endpoint/perpetuals
(``metaAndAssetCtxs`` example, first asset context)."""


def test_hyperliquid_open_interest_and_funding_returning_to_earlier_values_are_published() -> None:
    """``activeAssetCtx`` has no time: open interest 688.11 -> 690.5 -> 688.11 (mark and oracle
    back too), the 24 h volume moving on; every event published. The first context re-sent:
    same ids, nothing published again."""
    proto = venue_spec("hyperliquid").protocol_factory(
        VenueConfig(
            id="hyperliquid",
            subscriptions=(
                SubscriptionConfig(
                    "BTC", "BTC/USDC:PERP", (DataType.FUNDING_RATE, DataType.OPEN_INTEREST)
                ),
            ),
        )
    )
    contexts = [
        dict(HYPERLIQUID_CTX),
        dict(HYPERLIQUID_CTX, openInterest="690.5", markPx="14.33", dayNtlVlm="1169050.1"),
        dict(HYPERLIQUID_CTX, dayNtlVlm="1169061.7"),
    ]
    frames = [
        json.dumps({"channel": "activeAssetCtx", "data": {"coin": "BTC", "ctx": c}})
        for c in contexts
    ]
    events = [e for f in frames for e in proto.on_frame(f, 1).events]
    assert len(_published(events)) == 6
    assert [(e.data_type.value, e.dedup_key.rsplit(":", 1)[0]) for e in events] == [
        ("funding_rate", "0.0000125:14.3161:14.32"),
        ("open_interest", "688.11"),
        ("funding_rate", "0.0000125:14.33:14.32"),
        ("open_interest", "690.5"),
        ("funding_rate", "0.0000125:14.3161:14.32"),
        ("open_interest", "688.11"),
    ]
    again = proto.on_frame(frames[0], 2).events
    assert [e.msg_id for e in again] == [e.msg_id for e in events[:2]]
    assert _published(events + again) == [e.msg_id for e in events]


def test_coinbase_resync_snapshot_equal_to_the_first_gets_its_own_id() -> None:
    """Advanced Trade: a ``sequence_num`` gap resyncs the book; the fresh snapshot holds the
    same levels as the first, in a later message (its ``timestamp``): published."""
    proto = _protocol("coinbase", "BTC-USD", DataType.L2_ORDERBOOK)
    first = proto.on_frame(LEVEL2, 1).events
    gap = with_sequence(l2(5, "update", "BTC-USD", ("bid", "21921.3", "0")), 5)
    assert [r.reason for r in proto.on_frame(gap, 2).resyncs] == ["gap"]
    again = json.loads(LEVEL2)
    again.update(timestamp="2023-02-09T20:32:51.000000001Z", sequence_num=6)
    second = proto.on_frame(json.dumps(again), 3).events
    assert [e.payload for e in second] == [e.payload for e in first]
    assert len(_published(first + second)) == 2


@pytest.mark.integration
async def test_returning_quotes_are_stored_by_jetstream_and_a_resent_one_is_not() -> None:
    """Against a real nats-server (duplicate window 120 s): each venue's tickers q0, q1, q0 go
    through the pipeline and the JetStream publisher; all three are stored, the last stored
    quote is q0. Then a second relay (a new pipeline) sends the first message again: JetStream
    drops it by its ``Nats-Msg-Id``."""
    quotes = [QUOTES[0], QUOTES[1], QUOTES[0]]
    events = {venue: ticker_events(venue, quotes) for venue in TICKER_VENUES}
    async with EmbeddedNats() as server:
        for batch in (
            [e for v in TICKER_VENUES for e in events[v]],
            [events[v][0] for v in TICKER_VENUES],
        ):
            metrics = PrometheusMetrics()
            publisher = JetStreamPublisher(
                NatsConfig(
                    urls=(server.url,),
                    streams=(StreamConfig("MARKET", ("market.>",), StorageType.MEMORY),),
                ),
                "application/json",
                metrics,
                PipelineConfig(),
            )
            await publisher.connect()
            sender = asyncio.create_task(publisher.run())
            pipeline = Pipeline(1_000, JsonCodec(), publisher, metrics)
            runner = asyncio.create_task(pipeline.run())
            for event in batch:
                await pipeline.put(event)
            assert await pipeline.drain(5.0) == 0
            assert await publisher.drain(5.0) == 0
            runner.cancel()
            sender.cancel()
            await asyncio.gather(runner, sender, return_exceptions=True)
            await publisher.close()
        stored = await stored_messages(server.url, 3 * len(TICKER_VENUES))
    assert len(stored) == 3 * len(TICKER_VENUES)
    by_venue: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for _, headers, data in stored:
        envelope_ = orjson.loads(data)
        assert headers["Nats-Msg-Id"].startswith(f"{envelope_['venue']}:")
        by_venue[envelope_["venue"]].append(envelope_["payload"])
    print(f"\nstored per venue: { {v: len(p) for v, p in sorted(by_venue.items())} }")
    for venue in TICKER_VENUES:
        got = [
            (p["bid_price"], p["bid_quantity"], p["ask_price"], p["ask_quantity"])
            for p in by_venue[venue]
        ]
        assert got == quotes, venue


OKX_FUNDING: dict[str, Any] = {
    "formulaType": "noRate",
    "fundingRate": "0.0001875391284828",
    "fundingTime": "1700726400000",
    "impactValue": "",
    "instId": "BTC-USD-SWAP",
    "instType": "SWAP",
    "interestRate": "",
    "method": "current_period",
    "maxFundingRate": "0.00375",
    "minFundingRate": "-0.00375",
    "nextFundingRate": "",
    "nextFundingTime": "1700755200000",
    "premium": "0.0001233824646391",
    "settFundingRate": "0.0001699799259033",
    "settState": "settled",
}
"""https://www.okx.com/docs-v5/en/#public-data-websocket-funding-rate-channel (push example,
its ``ts`` left out)."""


def test_okx_funding_rate_without_ts_coming_back_is_published_again() -> None:
    """A funding-rate push without ``ts``: rate r1 -> r2 -> r1, the premium moving on; all
    three are published. The same push twice: one id."""
    proto = _protocol("okx", "BTC-USD-SWAP", DataType.FUNDING_RATE)
    pushes = [
        dict(OKX_FUNDING),
        dict(OKX_FUNDING, fundingRate="0.0001875391284829", premium="0.0001233824646392"),
        dict(OKX_FUNDING, premium="0.0001233824646393"),
    ]
    frames = [
        json.dumps({"arg": {"channel": "funding-rate", "instId": "BTC-USD-SWAP"}, "data": [p]})
        for p in pushes
    ]
    events = [e for f in frames for e in proto.on_frame(f, 1).events]
    assert len(_published(events)) == 3
    assert [e.dedup_key.rsplit(":", 1)[0] for e in events] == [
        "1700726400000:0.0001875391284828",
        "1700726400000:0.0001875391284829",
        "1700726400000:0.0001875391284828",
    ]
    assert proto.on_frame(frames[0], 2).events[0].msg_id == events[0].msg_id
