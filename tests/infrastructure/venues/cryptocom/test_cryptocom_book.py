"""Crypto.com books on the documented frames: snapshot, ``u``/``pu`` chain, gaps, repeats.

There is no recording of this venue: the frames are the book page's
``SNAPSHOT_AND_UPDATE`` samples (``support.cryptocom_frames``,
https://exchange-docs.crypto.com/exchange/v1/rest-ws/index.html#book-instrument_name-depth),
and deltas built from them with other ``u``/``pu`` and levels.
"""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from support.cryptocom_frames import BOOK, BOOK_SNAPSHOT, BOOK_UPDATE, delta, protocol, snapshot

from relay.application.errors import FrameError
from relay.application.ports import BookResync
from relay.config.model import SubscriptionConfig, VenueConfig
from relay.domain.model import DataType, Instrument, L2Update, MarketEvent
from relay.infrastructure.venues.cryptocom.book import CryptocomBook, Delta
from relay.infrastructure.venues.cryptocom.protocol import CryptocomProtocol

d = Decimal
INSTRUMENT = Instrument("cryptocom", BOOK, "BTC/USD:PERP")
RESUBSCRIBE = (
    '{"id":2,"method":"subscribe","params":{"channels":["book.BTCUSD-PERP.10"],'
    '"book_subscription_type":"SNAPSHOT_AND_UPDATE","book_update_frequency":10}}'
)
"""The request a resync of BTCUSD-PERP sends (id 1 went to the subscribe frame)."""


def pairs(text: str) -> tuple[tuple[Decimal, Decimal], ...]:
    """``"50113.500000:0.400000 ..."`` -> ((price, size), ...)."""
    return tuple((d(p), d(q)) for p, q in (level.split(":") for level in text.split()))


def books(events: list[MarketEvent]) -> list[L2Update]:
    return [e.payload for e in events if isinstance(e.payload, L2Update)]


def book_protocol() -> CryptocomProtocol:
    return protocol((DataType.L2_ORDERBOOK,))


def test_book_snapshot_lists_every_documented_level_best_first_with_the_digits_sent() -> None:
    proto = book_protocol()
    outcome = proto.on_frame(BOOK_SNAPSHOT, 5)
    assert outcome.events == [
        MarketEvent(
            INSTRUMENT,
            DataType.L2_ORDERBOOK,
            5,
            1647917463000,
            L2Update(
                pairs(
                    "50113.500000:0.400000 50113.000000:0.051800 50112.000000:1.455300"
                    " 50106.000000:1.174800 50100.500000:0.800000 50100.000000:1.455300"
                    " 50097.500000:0.048000 50097.000000:0.148000 50096.500000:0.399200"
                    " 50095.000000:0.399200"
                ),
                pairs(
                    "50126.000000:0.400000 50130.000000:1.279000 50136.000000:1.279000"
                    " 50137.000000:0.800000 50142.000000:1.279000 50148.000000:2.892900"
                    " 50154.000000:1.279000 50160.000000:1.133000 50166.000000:3.090700"
                    " 50172.000000:1.279000"
                ),
                True,
                7845460001,
                7845460001,
            ),
            "snapshot:7845460001",
        )
    ]
    assert str(books(outcome.events)[0].bids[0][0]) == "50113.500000"
    assert (outcome.replies, outcome.resyncs) == ([], [])


def test_documented_delta_chained_by_pu_is_published_and_size_zero_removes_the_level() -> None:
    proto = book_protocol()
    proto.on_frame(BOOK_SNAPSHOT, 5)
    outcome = proto.on_frame(BOOK_UPDATE, 6)
    assert outcome.events == [
        MarketEvent(
            INSTRUMENT,
            DataType.L2_ORDERBOOK,
            6,
            1647917463003,
            L2Update(
                pairs("50097.000000:0.252000"),
                pairs("50126.000000:0 50180.000000:3.279000"),
                False,
                7845460002,
                7845460002,
            ),
            "7845460001:7845460002",
        )
    ]
    held = proto._books[BOOK].book.levels()
    assert held[1][0] == (d("50130.000000"), d("1.279000"))  # the best ask went
    assert held[1][-1] == (d("50180.000000"), d("3.279000"))
    assert (d("50097.000000"), d("0.252000")) in held[0]
    assert len(held[0]) == len(held[1]) == 10


def test_a_pu_that_is_not_the_previous_u_resyncs_that_book_until_the_fresh_snapshot() -> None:
    """A delta lost (``pu`` 7845460003, the book at 7845460002): one ``BookResync`` (gap), a
    subscribe of that one book channel (no unsubscribe: the page says none is needed),
    deltas dropped silently until the fresh ``book`` snapshot, which is published whole;
    deltas chained on the fresh ``u`` are published again."""
    proto = book_protocol()
    proto.on_frame(BOOK_SNAPSHOT, 5)
    proto.on_frame(BOOK_UPDATE, 6)
    outcome = proto.on_frame(delta(7845460004, 7845460003, [["50113.500000", "1"]], []), 7)
    assert outcome.events == []
    assert outcome.resyncs == [BookResync(INSTRUMENT, "gap")]
    assert outcome.replies == [RESUBSCRIBE]
    assert proto._books[BOOK].gate.resyncs == 1
    assert (
        proto.on_frame(delta(7845460005, 7845460004, [["50113.500000", "2"]], []), 8).events == []
    )
    fresh_bids, fresh_asks = [["50110.000000", "0.5"]], [["50120.000000", "0.7"]]
    restored = proto.on_frame(snapshot(7845460010, fresh_bids, fresh_asks), 9)
    assert books(restored.events) == [
        L2Update(pairs("50110.000000:0.5"), pairs("50120.000000:0.7"), True, 7845460010, 7845460010)
    ]
    assert restored.events[0].dedup_key == "snapshot:7845460010"
    after = proto.on_frame(delta(7845460011, 7845460010, [["50111.000000", "1"]], []), 10)
    assert [e.dedup_key for e in after.events] == ["7845460010:7845460011"]
    assert proto._books[BOOK].gate.resyncs == 1


def test_a_gap_in_one_book_leaves_the_other_books_of_the_connection_publishing() -> None:
    """Two books on one connection (ETHUSD-PERP frames: the documented ones with the
    instrument renamed): a gap in BTCUSD-PERP resyncs only it."""
    proto = CryptocomProtocol(
        VenueConfig(
            id="cryptocom",
            subscriptions=tuple(
                SubscriptionConfig(name, name.replace("-", ":"), (DataType.L2_ORDERBOOK,), depth=10)
                for name in (BOOK, "ETHUSD-PERP")
            ),
        )
    )
    proto.subscribe_frames()

    def eth(frame: str) -> str:
        return frame.replace(BOOK, "ETHUSD-PERP")

    for frame in (BOOK_SNAPSHOT, eth(BOOK_SNAPSHOT)):
        proto.on_frame(frame, 1)
    gap = proto.on_frame(delta(7845460004, 7845460003, [], [["50126.000000", "1"]]), 2)
    assert [r.instrument.instrument for r in gap.resyncs] == [BOOK]
    assert json.loads(gap.replies[0])["params"]["channels"] == ["book.BTCUSD-PERP.10"]
    assert [e.dedup_key for e in proto.on_frame(eth(BOOK_UPDATE), 3).events] == [
        "7845460001:7845460002"
    ]
    assert proto.on_frame(BOOK_UPDATE, 4).events == []


def test_a_repeated_delta_is_a_stale_update_and_the_book_stays_synced() -> None:
    proto = book_protocol()
    proto.on_frame(BOOK_SNAPSHOT, 5)
    proto.on_frame(BOOK_UPDATE, 6)
    with pytest.raises(FrameError) as caught:
        proto.on_frame(BOOK_UPDATE, 7)
    assert caught.value.reason == "stale_update"
    assert caught.value.detail == "BTCUSD-PERP: u=7845460002 <= book's 7845460002"
    follows = proto.on_frame(delta(7845460003, 7845460002, [], [["50130.000000", "0"]]), 8)
    assert [e.dedup_key for e in follows.events] == ["7845460001:7845460003"]
    assert proto._books[BOOK].gate.resyncs == 0


def test_empty_deltas_move_u_on_and_publish_nothing() -> None:
    """The page's empty ``book.update`` (sent after 5 s without change, or for sequence
    housekeeping, ``u`` possibly moved by changes outside the depth): nothing published,
    the next delta chains on its ``u``; one that chains on the old ``u`` is a gap."""
    proto = book_protocol()
    proto.on_frame(BOOK_SNAPSHOT, 5)
    assert proto.on_frame(delta(7845460007, 7845460001, [], []), 6).events == []
    chained = proto.on_frame(delta(7845460008, 7845460007, [["50113.000000", "0"]], []), 7)
    assert [e.dedup_key for e in chained.events] == ["7845460001:7845460008"]
    broken = proto.on_frame(delta(7845460009, 7845460001, [], []), 8)
    assert [r.reason for r in broken.resyncs] == ["gap"]


def test_deltas_before_the_first_snapshot_are_dropped_silently() -> None:
    proto = book_protocol()
    outcome = proto.on_frame(BOOK_UPDATE, 5)
    assert (outcome.events, outcome.resyncs, outcome.replies) == ([], [], [])
    assert len(books(proto.on_frame(BOOK_SNAPSHOT, 6).events)) == 1


@pytest.mark.parametrize(
    ("u", "pu", "expected"),
    [
        (101, 100, Delta.FOLLOWS),
        (150, 100, Delta.FOLLOWS),
        (100, 100, Delta.STALE),
        (90, 80, Delta.STALE),
        (102, 101, Delta.GAP),
        (100 - 1_000_000_001, 7, Delta.GAP),
    ],
)
def test_check_tells_follows_stale_and_gap_apart(u: int, pu: int, expected: Delta) -> None:
    book = CryptocomBook(INSTRUMENT, "book.BTCUSD-PERP.10")
    book.snapshot((), (), 100)
    assert book.check(u, pu) is expected
