"""Fuzzing every registered venue adapter with mutated real and documented frames.

Property, for every venue id in the registry: each frame fed to ``on_frame`` of a
protocol in a realistic state (subscribed to every instrument its seeds name,
fed the recorded session with its REST snapshots, so books are synced) ends as a
:class:`FrameOutcome` whose events a publisher can encode, or as a
:class:`FrameError` whose reason the venue module documents ("FrameError reasons
raised here"); nothing else ever escapes, and a real frame fed afterwards still
gives its events. At least :data:`FRAMES_PER_VENUE` frames per venue, each
hypothesis example a batch of :data:`BATCH` frames (seeds and mutations: see
``tests/support/fuzz_frames.py``). REST snapshot bodies of venues that fetch them go
through ``on_snapshot`` mutated the same way (outcome: events or ``bad_snapshot``).
The simulated venue sides are fuzzed in ``tests/sim/venues/test_fuzz_sides.py``.

Runs are derandomized (fixed seed, no example database): the same frames every run.
"""

from __future__ import annotations

import copy
import re
from collections import Counter
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from support.fuzz_frames import (
    SETTINGS,
    Synced,
    build_protocol,
    documented_frames,
    feed,
    instruments,
    module_name,
    mutate,
    plans,
    recorded,
    seed_frames,
    seeds_of_batches,
    synced,
)

from relay.application.errors import FrameError
from relay.application.ports import FrameOutcome, VenueProtocol
from relay.domain.model import (
    MAX_DECIMAL_EXPONENT,
    Candle,
    FundingRate,
    L2Update,
    Liquidation,
    MarketEvent,
    OpenInterest,
    Ticker,
    Trade,
)
from relay.infrastructure.venues import (
    binance,
    bitfinex,
    bitmex,
    bitstamp,
    bybit,
    coinbase,
    coinbase_exchange,
    cryptocom,
    deribit,
    dydx,
    gate,
    hyperliquid,
    kraken,
    kraken_futures,
    okx,
)
from relay.infrastructure.venues.registry import registered_venues
from relay.serialization.json_codec import encode_json

VENUES = registered_venues()
BATCH = 2_100
"""Frames one hypothesis example feeds (its plans come from a PRNG seeded by the example)."""
FRAMES_PER_VENUE = 10_000
"""Least frames fed per venue; the test fails below it."""
PROBE_EVERY = 50
"""A real frame is fed after every this many fuzzed frames, and must still give events."""

MODULES = {
    m.__name__.rsplit(".", 1)[1]: m
    for m in (
        binance,
        bitfinex,
        bitmex,
        bitstamp,
        bybit,
        coinbase,
        coinbase_exchange,
        cryptocom,
        deribit,
        dydx,
        gate,
        hyperliquid,
        kraken,
        kraken_futures,
        okx,
    )
}


def documented_reasons(venue: str) -> frozenset[str]:
    """The ``FrameError reasons raised here: ``a``, ``b``...`` of the venue module's docstring."""
    doc = MODULES[module_name(venue)].__doc__ or ""
    paragraph = doc.split("FrameError reasons raised here:")[1].split("\n\n")[0]
    paragraph = paragraph.split("BookResync reasons")[0]
    return frozenset(re.findall(r"``([a-z_]+)``", paragraph))


def _check_decimal(value: Decimal | None) -> None:
    if value is not None:
        assert value.is_finite()
        assert -MAX_DECIMAL_EXPONENT <= value.adjusted() <= MAX_DECIMAL_EXPONENT


def _check_int(value: int | None) -> None:
    if value is not None:
        assert type(value) is int
        assert 0 <= value < 2**63


def check_event(event: MarketEvent) -> None:
    """The event is one a publisher can encode: typed ints, finite bounded decimals,
    positive prices."""
    _check_int(event.exchange_timestamp_ms)
    payload = event.payload
    if isinstance(payload, Trade | Liquidation):
        assert payload.price > 0
        assert payload.quantity >= 0
        _check_decimal(payload.price)
        _check_decimal(payload.quantity)
    elif isinstance(payload, Ticker):
        for price in (payload.bid_price, payload.ask_price):
            assert price >= 0  # 0: an empty side (Deribit options, recorded in deribit.jsonl)
            _check_decimal(price)
        for quantity in (payload.bid_quantity, payload.ask_quantity):
            assert quantity >= 0
            _check_decimal(quantity)
        _check_int(payload.update_id)
    elif isinstance(payload, Candle):
        for price in (payload.open, payload.high, payload.low, payload.close):
            assert price > 0
            _check_decimal(price)
        assert payload.volume >= 0
        _check_int(payload.open_time_ms)
        _check_int(payload.close_time_ms)
        _check_int(payload.trade_count)
        assert isinstance(payload.interval, str)
        assert isinstance(payload.is_closed, bool)
    elif isinstance(payload, FundingRate):
        _check_decimal(payload.rate)
        _check_decimal(payload.mark_price)
        _check_int(payload.next_funding_time_ms)
    elif isinstance(payload, OpenInterest):
        _check_decimal(payload.open_interest)
    elif isinstance(payload, L2Update):
        for price, quantity in payload.bids + payload.asks:
            assert price > 0
            assert quantity >= 0
            _check_decimal(price)
            _check_decimal(quantity)
        _check_int(payload.first_update_id)
        _check_int(payload.last_update_id)
    encode_json(event, 1)


def account(
    proto: VenueProtocol, frame: str | bytes, reasons: frozenset[str], tally: Counter[str]
) -> None:
    """Feed one frame; count ``events``, ``no_event`` or the FrameError reason."""
    try:
        outcome = proto.on_frame(frame, 1_700_000_000_000)
    except FrameError as exc:
        assert exc.reason in reasons, f"undocumented reason {exc.reason!r}: {exc}"
        detail_chars = len(exc.detail)
        assert detail_chars <= 203, f"a detail of {detail_chars} characters"
        tally[exc.reason] += 1
        return
    assert isinstance(outcome, FrameOutcome)
    for event in outcome.events:
        check_event(event)
    assert all(isinstance(reply, str) for reply in outcome.replies)
    tally["events" if outcome.events else "no_event"] += 1


def probe(
    proto: VenueProtocol, state: Synced, turn: int, reasons: frozenset[str], tally: Counter[str]
) -> None:
    """A real frame after garbage: parsed into events, or refused with a documented reason
    (a fuzzed sequence number or update id ahead of the real ones makes it stale)."""
    probes = state.probes or seed_frames(state.venue)
    frame = probes[turn % len(probes)]
    try:
        outcome = proto.on_frame(frame, 1_700_000_000_000)
    except FrameError as exc:
        assert exc.reason in reasons, exc
        tally[f"probe_{exc.reason}"] += 1
        return
    tally["probe_events" if outcome.events else "probe_no_event"] += 1


def test_every_registered_venue_has_seed_frames_and_a_synced_protocol() -> None:
    for venue in VENUES:
        state = synced(venue)
        assert documented_frames(venue), venue
        fresh = build_protocol(venue, instruments(venue))
        fresh.on_open()
        frames = (*recorded(venue).frames[:100], *documented_frames(venue))
        in_order = copy.deepcopy(fresh)  # channels named by a subscribe answer (Bitfinex's chanId)
        assert any(
            isinstance(result := feed(copy.deepcopy(fresh), frame), FrameOutcome) and result.events
            for frame in frames
        ) or any(
            isinstance(result := feed(in_order, frame), FrameOutcome) and result.events
            for frame in frames
        ), venue
        if recorded(venue).bodies:
            assert state.snapshots_applied > 0, venue
        assert documented_reasons(venue) >= {"not_json", "unknown_event"}, venue


@pytest.mark.parametrize("venue", VENUES)
def test_fuzzed_frames_are_events_or_documented_frame_errors(venue: str) -> None:
    state = synced(venue)
    seeds = seed_frames(venue)
    reasons = documented_reasons(venue)
    tally: Counter[str] = Counter()

    @settings(**SETTINGS)
    @given(batch_seed=seeds_of_batches)
    def run(batch_seed: int) -> None:
        proto = copy.deepcopy(state.protocol)
        for turn, (seed, *plan) in enumerate(plans(batch_seed, BATCH)):
            frame = mutate(seeds[seed % len(seeds)], (plan[0], plan[1], plan[2], plan[3]))
            account(proto, frame, reasons, tally)
            tally["frames"] += 1
            if turn % PROBE_EVERY == PROBE_EVERY - 1:
                probe(proto, state, turn // PROBE_EVERY, reasons, tally)

    run()
    print(f"{venue}: {tally['frames']} frames fuzzed: {dict(sorted(tally.items()))}")
    assert tally["frames"] >= FRAMES_PER_VENUE
    assert tally["events"] > 0
    assert tally["probe_events"] > 0 or not state.probes


SNAPSHOT_BATCH = 1_000
"""REST bodies one example feeds."""
SNAPSHOT_VENUES = tuple(v for v in VENUES if recorded(v).bodies)


def _trimmed(body: str) -> str:
    """A REST body with every list cut to 20 items (a 1,000-level book is slow to mutate)."""
    from support.fuzz_frames import dumps

    def cut(value: Any) -> Any:
        if isinstance(value, list):
            return [cut(v) for v in value[:20]]
        if isinstance(value, dict):
            return {k: cut(v) for k, v in value.items()}
        return value

    import orjson

    return dumps(cut(orjson.loads(body)))


@pytest.mark.parametrize("venue", SNAPSHOT_VENUES)
def test_fuzzed_snapshot_bodies_are_events_or_bad_snapshots(venue: str) -> None:
    bodies = tuple(_trimmed(b) for b in recorded(venue).bodies)
    tally: Counter[str] = Counter()
    state = synced(venue)

    @settings(**{**SETTINGS, "max_examples": 2})
    @given(batch_seed=seeds_of_batches)
    def run(batch_seed: int) -> None:
        proto = build_protocol(
            venue,
            tuple(
                sorted(
                    {r.instrument.instrument for r in state.protocol.on_open().snapshot_requests}
                )
            ),
        )
        requests = proto.on_open().snapshot_requests
        for seed, *plan in plans(batch_seed, SNAPSHOT_BATCH):
            body = mutate(bodies[seed % len(bodies)], (plan[0], plan[1], plan[2], plan[3]))
            raw = body if isinstance(body, bytes) else body.encode(errors="surrogatepass")
            try:
                outcome = proto.on_snapshot(requests[seed % len(requests)], raw, 1_700_000_000_000)
            except FrameError as exc:
                assert exc.reason == "bad_snapshot", exc
                tally["bad_snapshot"] += 1
            else:
                for event in outcome.events:
                    check_event(event)
                tally["events" if outcome.events else "no_event"] += 1
            tally["bodies"] += 1

    run()
    print(f"{venue}: {tally['bodies']} snapshot bodies fuzzed: {dict(sorted(tally.items()))}")
    assert tally["bodies"] >= 2_000
