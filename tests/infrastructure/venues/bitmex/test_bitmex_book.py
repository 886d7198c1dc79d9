"""BitMEX books on the recorded session: partials, id-keyed rows, gaps and resyncs."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from support.bitmex_frames import SYMBOLS, first, instrument, protocol, recv, table
from support.bitmex_reference import bitmex_reference

from relay.application.book_state import BookState
from relay.application.errors import FrameError
from relay.application.ports import BookResync, FrameOutcome
from relay.domain.model import DataType, L2Update, MarketEvent, Side
from relay.infrastructure.venues.bitmex.book import digest
from relay.infrastructure.venues.bitmex.protocol import BitmexProtocol


def replay(proto: BitmexProtocol) -> tuple[list[MarketEvent], list[str]]:
    events: list[MarketEvent] = []
    rejected: list[str] = []
    for frame, t in recv():
        try:
            events.extend(proto.on_frame(frame, t).events)
        except FrameError as exc:
            rejected.append(exc.reason)
    return events, rejected


def test_the_recorded_session_ends_with_the_reference_books_and_no_gap() -> None:
    ref = bitmex_reference()
    proto = protocol()
    events, rejected = replay(proto)
    assert rejected == []
    books = [e for e in events if e.data_type is DataType.L2_ORDERBOOK]
    for name in SYMBOLS:
        mine = [e.payload for e in books if e.instrument.instrument == name]
        assert [isinstance(p, L2Update) and p.is_snapshot for p in mine].count(True) == 1
        assert len(mine) == sum(ref.book_messages[name])
        book = proto._books[name]
        assert (book.book.bids, book.book.asks) == ref.books[name]
        assert book.gate.state is BookState.SYNCED
    assert len(books) == 10 + 1969
    assert len(proto._books["XBTUSD"].book.bids) == 5557


def test_an_update_names_its_level_by_id_and_gets_the_price_from_the_partial() -> None:
    proto = protocol(("UNIUSDT",), (DataType.L2_ORDERBOOK,))
    partial, t0 = first(table("orderBookL2", "partial", "UNIUSDT"))
    snapshot = proto.on_frame(partial, t0).events[0]
    assert snapshot.dedup_key == f"snapshot:{digest_key(partial)}"
    assert isinstance(snapshot.payload, L2Update)
    assert snapshot.payload.is_snapshot
    assert snapshot.payload.asks[0] == (Decimal("17.297"), Decimal(175))
    update, t1 = first(table("orderBookL2", "update", "UNIUSDT"))
    assert update == (
        '{"table":"orderBookL2","action":"update","data":[{"symbol":"UNIUSDT",'
        '"id":51999982703,"side":"Sell","size":123}]}'
    )
    key = snapshot.dedup_key.removeprefix("snapshot:")
    assert proto.on_frame(update, t1).events == [
        MarketEvent(
            instrument("UNIUSDT"),
            DataType.L2_ORDERBOOK,
            t1,
            None,
            L2Update((), ((Decimal("17.297"), Decimal(123)),), False),
            f"{key}:1:update:{digest(['51999982703:SELL:None:123'])}",
        )
    ]


def digest_key(partial: str) -> str:
    """The level digest of a partial, computed from the frame's rows alone."""
    rows = json.loads(partial, parse_float=Decimal)["data"]
    bids = sorted(
        ((Decimal(r["price"]), Decimal(r["size"])) for r in rows if r["side"] == "Buy"),
        reverse=True,
    )
    asks = sorted((Decimal(r["price"]), Decimal(r["size"])) for r in rows if r["side"] == "Sell")
    return digest((*bids, "|", *asks))


def gap_frame(name: str) -> str:
    return json.dumps(
        {
            "table": "orderBookL2",
            "action": "update",
            "data": [{"symbol": name, "id": 1, "side": "Buy", "size": 5}],
        }
    )


def test_an_update_of_an_unknown_id_resyncs_that_book_only_and_the_fresh_partial_restores_it() -> (
    None
):
    proto = protocol(("UNIUSDT", "BCHUSD"), (DataType.L2_ORDERBOOK,))
    uni, t = first(table("orderBookL2", "partial", "UNIUSDT"))
    bch, _ = first(table("orderBookL2", "partial", "BCHUSD"))
    proto.on_frame(uni, t)
    proto.on_frame(bch, t)
    outcome = proto.on_frame(gap_frame("UNIUSDT"), t + 1)
    assert outcome.events == []
    assert outcome.resyncs == [BookResync(instrument("UNIUSDT"), "gap")]
    assert outcome.replies == [
        '{"op":"unsubscribe","args":["orderBookL2:UNIUSDT"]}',
        '{"op":"subscribe","args":["orderBookL2:UNIUSDT"]}',
    ]
    assert proto._books["UNIUSDT"].gate.state is BookState.RESYNCING
    assert proto._books["UNIUSDT"].gate.resyncs == 1
    assert proto._books["BCHUSD"].gate.synced
    update, t1 = first(table("orderBookL2", "update", "UNIUSDT"))
    assert proto.on_frame(update, t1).events == []  # dropped until the fresh partial
    fresh = proto.on_frame(uni, t1 + 1).events
    assert len(fresh) == 1 and isinstance(fresh[0].payload, L2Update)
    assert fresh[0].payload.is_snapshot
    # The same partial again: its own key (a resync's snapshot is never a duplicate).
    first_key = digest_key(uni)
    proto_key = fresh[0].dedup_key
    assert proto_key == f"snapshot:{first_key}:2"
    assert proto._books["UNIUSDT"].gate.synced
    assert len(proto.on_frame(update, t1 + 2).events) == 1


def test_an_insert_of_a_known_id_and_a_delete_of_an_unknown_one_are_gaps() -> None:
    proto = protocol(("UNIUSDT",), (DataType.L2_ORDERBOOK,))
    partial, t = first(table("orderBookL2", "partial", "UNIUSDT"))
    proto.on_frame(partial, t)
    insert = json.dumps(
        {
            "table": "orderBookL2",
            "action": "insert",
            "data": [
                {"symbol": "UNIUSDT", "id": 51999982703, "side": "Sell", "size": 1, "price": 17.297}
            ],
        }
    )
    assert proto.on_frame(insert, t).resyncs == [BookResync(instrument("UNIUSDT"), "gap")]
    proto.on_frame(partial, t)
    delete = gap_frame("UNIUSDT").replace('"update"', '"delete"')
    assert proto.on_frame(delete, t).resyncs == [BookResync(instrument("UNIUSDT"), "gap")]
    assert proto._books["UNIUSDT"].gate.resyncs == 2


def test_a_gap_applies_no_row_of_its_frame() -> None:
    proto = protocol(("UNIUSDT",), (DataType.L2_ORDERBOOK,))
    partial, t = first(table("orderBookL2", "partial", "UNIUSDT"))
    proto.on_frame(partial, t)
    book = proto._books["UNIUSDT"]
    asks, ids = dict(book.book.asks), dict(book.ids)
    known = (51999982703, Side.SELL, None, Decimal(9))
    unknown = (1, Side.SELL, None, Decimal(9))
    assert book.apply("update", [known, unknown]) is None
    assert book.apply("delete", [known, known]) is None  # the second delete: id gone
    assert (book.book.asks, book.ids, book.deltas) == (asks, ids, 0)
    assert book.apply("update", [known]) == ((), ((Decimal("17.297"), Decimal(9)),))
    assert book.deltas == 1


def test_depth_up_to_25_subscribes_the_top_25_table() -> None:
    assert protocol(("XBTUSD",), (DataType.L2_ORDERBOOK,), depth=25).channels == (
        "orderBookL2_25:XBTUSD",
    )
    assert protocol(("XBTUSD",), (DataType.L2_ORDERBOOK,), depth=26).channels == (
        "orderBookL2:XBTUSD",
    )
    assert protocol(("XBTUSD",), (DataType.L2_ORDERBOOK,)).channels == ("orderBookL2:XBTUSD",)


def test_a_partial_without_rows_is_an_empty_book_named_by_its_filter() -> None:
    proto = protocol(("UNIUSDT",), (DataType.L2_ORDERBOOK,))
    empty = (
        '{"table":"orderBookL2","action":"partial","keys":["symbol","id","side"],'
        '"filter":{"symbol":"UNIUSDT"},"data":[]}'
    )
    (event,) = proto.on_frame(empty, 1).events
    assert event.payload == L2Update((), (), True)
    assert proto._books["UNIUSDT"].gate.synced
    insert, t = first(table("orderBookL2", "insert", "UNIUSDT"))
    (delta,) = proto.on_frame(insert, t).events
    assert isinstance(delta.payload, L2Update) and not delta.payload.is_snapshot
    empty_update = '{"table":"orderBookL2","action":"update","data":[]}'
    assert proto.on_frame(empty_update, t).events == []


def test_a_malformed_book_frame_resyncs_the_synced_book_it_names_with_the_next_outcome() -> None:
    proto = protocol(("UNIUSDT", "BCHUSD"), (DataType.L2_ORDERBOOK,))
    uni, t = first(table("orderBookL2", "partial", "UNIUSDT"))
    bch, _ = first(table("orderBookL2", "partial", "BCHUSD"))
    proto.on_frame(uni, t)
    proto.on_frame(bch, t)
    bad = (
        '{"table":"orderBookL2","action":"update","data":[{"symbol":"UNIUSDT",'
        '"id":51999982703,"side":"Sell","size":"many"}]}'
    )
    with pytest.raises(FrameError) as raised:
        proto.on_frame(bad, t)
    assert raised.value.reason == "invalid_value"
    assert proto._books["UNIUSDT"].gate.state is BookState.RESYNCING
    assert proto._books["BCHUSD"].gate.synced
    outcome = proto.on_frame("pong", t)
    assert outcome.resyncs == [BookResync(instrument("UNIUSDT"), "bad_update")]
    assert outcome.replies == [
        '{"op":"unsubscribe","args":["orderBookL2:UNIUSDT"]}',
        '{"op":"subscribe","args":["orderBookL2:UNIUSDT"]}',
    ]
    assert proto.on_frame("pong", t) == FrameOutcome([], [], [])
    no_symbol = '{"table":"orderBookL2","action":"delete","data":[{"id":1,"side":"Buy"}]}'
    with pytest.raises(FrameError) as raised:
        proto.on_frame(no_symbol, t)
    assert raised.value.reason == "missing_field"
    assert proto.on_frame("pong", t).resyncs == [BookResync(instrument("BCHUSD"), "bad_update")]
