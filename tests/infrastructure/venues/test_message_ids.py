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
from collections import defaultdict
from pathlib import Path

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from reference_books import CAPTURES
from support.capture_replay import NO_ADAPTER, SUBSCRIPTION_READERS, Replay, replay
from support.ticker_frames import TICKER_FRAMES, Quote

from relay.application.errors import FrameError
from relay.application.pipeline import Pipeline
from relay.application.ports import OutboundMessage
from relay.config.model import SubscriptionConfig, VenueConfig
from relay.domain.model import DataType, MarketEvent, Ticker
from relay.infrastructure.captures import RecordKind, read_capture
from relay.infrastructure.metrics import PrometheusMetrics
from relay.infrastructure.venues.registry import registered_venues, venue_spec
from relay.serialization.json_codec import JsonCodec, event_to_dict

CAPTURE_FILES = sorted(CAPTURES.glob("*.jsonl"))

EXPECTED = {
    "binance-coinm": 4122,
    "binance-spot": 264,
    "binance-usdm": 1527,
    "coinbase-exchange": 9943,
    "deribit": 145,
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


def ticker_events(venue: str, quotes: list[Quote]) -> list[MarketEvent]:
    """The ticker events ``venue``'s protocol gives for one message per quote."""
    instrument, build = TICKER_FRAMES[venue]
    sub = SubscriptionConfig(instrument, instrument.replace(".", ""), (DataType.TICKER,))
    protocol = venue_spec(venue).protocol_factory(VenueConfig(id=venue, subscriptions=(sub,)))
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
