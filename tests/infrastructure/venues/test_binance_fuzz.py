"""Fuzzing the Binance parsers with mutated recorded frames and random input.

Property, for every registered Binance venue id: :meth:`on_frame` returns a
FrameOutcome whose events are well formed, or raises FrameError with a reason
from :data:`FRAME_REASONS`; nothing else ever escapes. Each frame fed is counted
once under its outcome, so the counters account for every frame. Snapshot
bodies get the same treatment with ``bad_snapshot`` as the only reason.

Seeds are the ``recv`` frames and REST snapshots of ``binance-spot.jsonl``,
``binance-usdm.jsonl`` and ``binance-coinm.jsonl`` (shared/captures), plus
Binance's documented markPriceUpdate and forceOrder examples, which the
recordings lack. Each test runs once per venue; the example counts add up to
3 x (1,400 + 1,100 + 900) = 10,200 frames and 3 x 250 = 750 snapshot bodies.
"""

from __future__ import annotations

import contextlib
import json
import math
from collections import Counter
from collections.abc import Sequence
from decimal import Decimal
from functools import cache
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reference_books import records

from relay.application.errors import FrameError
from relay.application.ports import FrameOutcome, VenueProtocol
from relay.config.model import SubscriptionConfig, VenueConfig
from relay.domain.model import (
    MAX_DECIMAL_EXPONENT,
    Candle,
    FundingRate,
    L2Update,
    Liquidation,
    MarketEvent,
    Ticker,
    Trade,
)
from relay.infrastructure.venues.registry import supported_data_types, venue_spec
from relay.serialization.json_codec import encode_json

FRAME_REASONS = frozenset({
    "not_json", "unknown_event", "missing_field", "invalid_value", "unsubscribed",
    "stale_update",
})
"""Every reason Binance's ``on_frame`` may give (see the module docstring of binance.py)."""

CAPTURES = {
    "binance-spot": "binance-spot.jsonl",
    "binance-usdm": "binance-usdm.jsonl",
    "binance-coinm": "binance-coinm.jsonl",
}
VENUES = sorted(CAPTURES)

DOCUMENTED_FUTURES_FRAMES = (
    '{"stream":"btcusdt@markPrice@1s","data":{"e":"markPriceUpdate","E":1562305380000,'
    '"s":"BTCUSDT","p":"11794.15000000","i":"11784.62659091","P":"11784.25641265",'
    '"r":"0.00038167","T":1562306400000}}',
    '{"stream":"btcusdt@forceOrder","data":{"e":"forceOrder","E":1568014460893,'
    '"o":{"s":"BTCUSDT","S":"SELL","o":"LIMIT","f":"IOC","q":"0.014","p":"9910",'
    '"ap":"9910","X":"FILLED","l":"0.014","z":"0.014","T":1568014460893}}}',
)

SETTINGS = {
    "deadline": None,
    "database": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
}

SPECIAL_STRINGS = (
    "NaN", "nan", "-NaN", "sNaN", "Infinity", "-Infinity", "inf", "1e999999", "-1e999999",
    "1e-999999", "0E-50", "1E+41", "9" * 60, "-1", "-0.5", "0", "-0", "", " ", "1_000",
    "0x10", "1,5", "\u0661\u0662", "true", "null", "{}", "[]", "depthUpdate", "aggTrade",
    "kline", "bookTicker", "markPriceUpdate", "forceOrder", "BUY", "SELL", "SUSHIUSDT",
    "BTCUSDT", "NKNUSDT", "BCHUSD_PERP", "\x00", "\ud7ff", "7.6110",
)
KEYS = ("e", "E", "T", "s", "U", "u", "pu", "b", "a", "B", "A", "p", "q", "m", "t", "k", "o",
        "i", "r", "x", "n", "v", "h", "l", "c", "S", "ap", "X", "data", "stream", "result",
        "id", "lastUpdateId", "bids", "asks")
EVENT_KINDS = ("aggTrade", "trade", "bookTicker", "kline", "markPriceUpdate", "forceOrder",
               "depthUpdate", "unknownKind")

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.sampled_from((0, 1, -1, 2**63 - 1, 2**63, 2**64 - 1, 2**64))
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
    | st.sampled_from(SPECIAL_STRINGS)
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=3), inner, max_size=3),
    max_leaves=8,
)


@cache
def seeds(venue: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(recorded recv frames, recorded snapshot bodies) of a venue, plus documented frames."""
    recs = records(CAPTURES[venue])
    frames = tuple(r["data"] for r in recs if r["kind"] == "recv")
    if venue != "binance-spot":
        frames += DOCUMENTED_FUTURES_FRAMES
    bodies = tuple(r["data"] for r in recs if r["kind"] == "http")
    return frames, bodies


@cache
def symbols(venue: str) -> tuple[str, ...]:
    """Every symbol named in the venue's capture, and BTCUSDT of the documented frames."""
    found = {"BTCUSDT"}
    for r in records(CAPTURES[venue]):
        if r["kind"] == "recv":
            data = json.loads(r["data"])["data"]
            found.add(data.get("s") or data["o"]["s"])
    return tuple(sorted(found))


def protocol(venue: str) -> VenueProtocol:
    """A fresh protocol subscribed to every data type of every symbol in the capture."""
    data_types = tuple(sorted(venue_spec(venue).data_types, key=lambda d: d.value))
    subs = tuple(SubscriptionConfig(s, f"{s}/FUZZ", data_types) for s in symbols(venue))
    return venue_spec(venue).protocol_factory(VenueConfig(id=venue, subscriptions=subs))


@cache
def synced_protocol(venue: str) -> VenueProtocol:
    """One long-lived protocol per venue, fed its whole capture so that its books are synced.

    Shared by every example of a test, like a connection that keeps receiving garbage.
    """
    proto = protocol(venue)
    requests = {r.path.split("&")[0].split("symbol=")[1]: r
                for r in proto.on_open().snapshot_requests}
    for r in records(CAPTURES[venue]):
        if r["kind"] == "recv":
            with contextlib.suppress(FrameError):
                proto.on_frame(r["data"], int(r["t"] * 1000))
        elif r["kind"] == "http":
            symbol = r["url"].split("symbol=")[1].split("&")[0]
            proto.on_snapshot(requests[symbol], r["data"].encode(), int(r["t"] * 1000))
    return proto


def _containers(node: Any, found: list[Any]) -> list[Any]:
    if isinstance(node, dict | list):
        found.append(node)
        for child in node.values() if isinstance(node, dict) else node:
            _containers(child, found)
    return found


_INDEX = st.integers(0, 2**20)
_COUNT = st.integers(1, 3)
_TREE_OPERATIONS = st.sampled_from(("delete", "replace", "replace", "insert", "wrap", "retype"))
_BYTE_OPERATIONS = st.sampled_from(("truncate", "flip", "insert", "delete"))
_BYTE = st.integers(0, 255)
_INSERTED = st.binary(min_size=1, max_size=4)
_DECODE_ERRORS = st.sampled_from(("replace", "surrogateescape"))


def _pick(draw: st.DrawFn, items: Sequence[Any]) -> Any:
    """One of ``items``; an index draw is cheaper than a fresh ``sampled_from`` per call."""
    return items[draw(_INDEX) % len(items)]


def mutate_document(draw: st.DrawFn, document: Any) -> Any:
    """``document`` with one to three mutations somewhere in its tree (in place)."""
    for _ in range(draw(_COUNT)):
        nodes = _containers(document, [])
        if not nodes:
            return draw(json_values)
        node = _pick(draw, nodes)
        keys = list(node) if isinstance(node, dict) else list(range(len(node)))
        operation = draw(_TREE_OPERATIONS) if keys else "insert"
        if operation == "insert":
            if isinstance(node, dict):
                node[_pick(draw, KEYS)] = draw(json_values)
            else:
                node.append(draw(json_values))
            continue
        key = _pick(draw, keys)
        value = node[key]
        if operation == "delete":
            del node[key]
        elif operation == "replace":
            node[key] = draw(json_values)
        elif operation == "wrap":
            node[key] = _pick(draw, ([value], {"v": value}))
        elif isinstance(value, str):
            node[key] = _pick(draw, (_number(value), [value], value * 2))
        elif isinstance(value, bool | int):
            node[key] = _pick(draw, (str(value), not value, float(value), -value))
        else:
            node[key] = draw(scalars)
    return document


def _number(text: str) -> Any:
    try:
        value = float(text)
    except ValueError:
        return len(text)
    return value if math.isfinite(value) else 0


def mutate_bytes(draw: st.DrawFn, text: str) -> str | bytes:
    """``text`` truncated, with bytes flipped, inserted or deleted, as str or bytes."""
    data = bytearray(text.encode())
    for _ in range(draw(_COUNT)):
        if not data:
            break
        operation = draw(_BYTE_OPERATIONS)
        at = draw(_INDEX) % len(data)
        if operation == "truncate":
            del data[len(data) - 1 - at:]
        elif operation == "flip":
            data[at] = draw(_BYTE)
        elif operation == "insert":
            data[at:at] = draw(_INSERTED)
        else:
            del data[at]
    raw = bytes(data)
    if draw(st.booleans()):
        return raw
    return raw.decode("utf-8", errors=draw(_DECODE_ERRORS))


@cache
def mutated_frames(venue: str) -> st.SearchStrategy[str | bytes]:
    """Recorded frames of ``venue``, mutated in their JSON tree or in their bytes."""
    frames, _ = seeds(venue)

    @st.composite
    def mutated(draw: st.DrawFn) -> str | bytes:
        frame = _pick(draw, frames)
        if _pick(draw, ("tree", "tree", "tree", "bytes")) == "bytes":
            return mutate_bytes(draw, frame)
        text = json.dumps(mutate_document(draw, json.loads(frame)))
        return text.encode() if draw(st.booleans()) else text

    return mutated()


@cache
def random_frames(venue: str) -> st.SearchStrategy[str | bytes]:
    """Random text, bytes, JSON, or a combined-stream envelope with random data fields."""
    fields = st.dictionaries(st.sampled_from(KEYS), json_values, max_size=6)
    symbol = st.sampled_from(symbols(venue))

    @st.composite
    def envelope(draw: st.DrawFn) -> str:
        data = draw(fields)
        data["e"] = draw(st.sampled_from(EVENT_KINDS) | json_values)
        data["s"] = draw(symbol | json_values)
        if draw(st.booleans()):
            data["o"] = {"s": draw(symbol), **draw(fields)}
        if draw(st.booleans()):
            data["k"] = draw(fields)
        stream = draw(st.sampled_from(("x@bookTicker", "x@depth@100ms", "x@aggTrade")))
        return json.dumps({"stream": stream, "data": data})

    return (
        st.binary(max_size=300)
        | st.text(max_size=300)
        | json_values.map(json.dumps)
        | envelope()
    )


def _check_decimal(value: Decimal | None) -> None:
    if value is not None:
        assert value.is_finite()
        assert -MAX_DECIMAL_EXPONENT <= value.adjusted() <= MAX_DECIMAL_EXPONENT


def _check_int(value: int | None) -> None:
    if value is not None:
        assert type(value) is int
        assert 0 <= value < 2**63


def check_event(event: MarketEvent) -> None:
    """The event is one a publisher can encode: typed ints, finite positive prices."""
    _check_int(event.exchange_timestamp_ms)
    payload = event.payload
    if isinstance(payload, Trade | Liquidation):
        assert payload.price > 0
        assert payload.quantity >= 0
        _check_decimal(payload.price)
        _check_decimal(payload.quantity)
    elif isinstance(payload, Ticker):
        for price in (payload.bid_price, payload.ask_price):
            assert price > 0
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
    elif isinstance(payload, L2Update):
        for price, quantity in payload.bids + payload.asks:
            assert price > 0
            assert quantity >= 0
            _check_decimal(price)
            _check_decimal(quantity)
        _check_int(payload.first_update_id)
        _check_int(payload.last_update_id)
    if not (isinstance(payload, L2Update) and payload.is_snapshot):
        encode_json(event, 0)


def feed(proto: VenueProtocol, frame: str | bytes, tally: Counter[str]) -> None:
    """Feed one frame and count it once: ``events``, ``no_event`` or its FrameError reason."""
    try:
        outcome = proto.on_frame(frame, 1_700_000_000_000)
    except FrameError as exc:
        assert exc.reason in FRAME_REASONS, exc
        tally[exc.reason] += 1
        return
    assert isinstance(outcome, FrameOutcome)
    for event in outcome.events:
        check_event(event)
    tally["events" if outcome.events else "no_event"] += 1


TALLIES: dict[str, Counter[str]] = {}
"""Outcome counters per test and venue across examples: events, no_event, or a FrameError reason."""


def account(test: str, proto: VenueProtocol, frame: str | bytes) -> None:
    """Feed ``frame`` and check that the test's counters grew by exactly one."""
    tally = TALLIES.setdefault(test, Counter())
    before = tally.total()
    feed(proto, frame, tally)
    assert tally.total() == before + 1


def fresh_protocol(venue: str) -> VenueProtocol:
    proto = protocol(venue)
    proto.on_open()
    return proto


@pytest.mark.parametrize("venue", VENUES)
@settings(max_examples=1_400, **SETTINGS)  # type: ignore[arg-type]
@given(data=st.data())
def test_mutated_recorded_frames_are_events_or_counted_frame_errors(
    venue: str, data: st.DataObject
) -> None:
    frame = data.draw(mutated_frames(venue))
    account(f"mutated_fresh:{venue}", fresh_protocol(venue), frame)


@pytest.mark.parametrize("venue", VENUES)
@settings(max_examples=1_100, **SETTINGS)  # type: ignore[arg-type]
@given(data=st.data())
def test_mutated_frames_on_a_synced_connection_are_events_or_counted_frame_errors(
    venue: str, data: st.DataObject
) -> None:
    frame = data.draw(mutated_frames(venue))
    account(f"mutated_synced:{venue}", synced_protocol(venue), frame)


@pytest.mark.parametrize("venue", VENUES)
@settings(max_examples=900, **SETTINGS)  # type: ignore[arg-type]
@given(data=st.data())
def test_random_frames_are_events_or_counted_frame_errors(
    venue: str, data: st.DataObject
) -> None:
    frame = data.draw(random_frames(venue))
    account(f"random:{venue}", fresh_protocol(venue), frame)


@cache
def snapshot_bodies(venue: str) -> st.SearchStrategy[bytes]:
    """Random bytes or JSON, or a recorded snapshot body of ``venue`` (cut to 5 levels a side)
    mutated in its bytes or its JSON tree."""
    _, bodies = seeds(venue)
    trimmed = []
    for body in bodies:
        document = json.loads(body)
        document["bids"] = document["bids"][:5]
        document["asks"] = document["asks"][:5]
        trimmed.append(json.dumps(document))

    @st.composite
    def mutated(draw: st.DrawFn) -> bytes:
        body = _pick(draw, trimmed)
        if draw(st.booleans()):
            raw = mutate_bytes(draw, body)
            return raw if isinstance(raw, bytes) else raw.encode(errors="surrogateescape")
        return json.dumps(mutate_document(draw, json.loads(body))).encode()

    return st.binary(max_size=200) | json_values.map(lambda v: json.dumps(v).encode()) | mutated()


@pytest.mark.parametrize("venue", VENUES)
@settings(max_examples=250, **SETTINGS)  # type: ignore[arg-type]
@given(data=st.data())
def test_garbage_snapshot_bodies_are_bad_snapshots_only(venue: str, data: st.DataObject) -> None:
    body = data.draw(snapshot_bodies(venue))
    proto = protocol(venue)
    request = proto.on_open().snapshot_requests[0]
    tally = TALLIES.setdefault(f"snapshot:{venue}", Counter())
    before = tally.total()
    try:
        outcome = proto.on_snapshot(request, body, 1_700_000_000_000)
    except FrameError as exc:
        assert exc.reason == "bad_snapshot", exc
        tally["bad_snapshot"] += 1
    else:
        for event in outcome.events:
            check_event(event)
        tally["events" if outcome.events else "no_event"] += 1
    assert tally.total() == before + 1


def test_every_registered_binance_venue_is_fuzzed() -> None:
    assert sorted(v for v in supported_data_types() if v.startswith("binance")) == VENUES
