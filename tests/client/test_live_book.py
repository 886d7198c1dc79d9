"""``LiveBook`` on a real nats-server when a re-bootstrap fails.

The relay's side is played with the relay's own parts: ``ConsumerState`` and
``ConsumerStateWriter`` write the book image to ``relay-books``, ``encode_json``
makes the stream messages. A sequence hole makes the book re-bootstrap, and the
first image read then fails as NATS fails a request that gets no answer
(``nats.errors.TimeoutError``, injected: with the client's requests held at a
stalling proxy, the hole message itself was not delivered either, in a trial). The
book must count the failure, keep trying, and be synced on the newer image.
"""

from __future__ import annotations

from decimal import Decimal

import nats
import pytest
from support.e2e import until

from relay.application.consumer_state import ConsumerState
from relay.client import RelayClient
from relay.config.model import ConsumerStateConfig
from relay.domain.model import DataType, Instrument, L2Update, MarketEvent
from relay.infrastructure.embedded_nats import EmbeddedNats
from relay.infrastructure.nats.kv import BucketKeeper, ConsumerStateWriter
from relay.serialization.json_codec import JsonCodec, encode_json

pytestmark = pytest.mark.integration

SUSHI = Instrument("binance-usdm", "SUSHIUSDT", "SUSHI/USDT")
SUBJECT = "market.binance-usdm.sushi-usdt.l2_orderbook"
SNAPSHOT = L2Update(
    ((Decimal("7.6110"), Decimal("5")), (Decimal("7.6100"), Decimal("9"))),
    ((Decimal("7.6120"), Decimal("3")), (Decimal("7.6130"), Decimal("8"))),
    True,
)
DELTA = L2Update(((Decimal("7.6110"), Decimal("0")),), ((Decimal("7.6115"), Decimal("2")),), False)
"""The top bid leaves, a better ask arrives."""


def message(update: L2Update, sequence: int, at_ms: int) -> bytes:
    return encode_json(
        MarketEvent(SUSHI, DataType.L2_ORDERBOOK, at_ms, at_ms, update, str(sequence)), sequence
    )


async def test_a_rebootstrap_that_times_out_is_counted_and_retried_until_the_book_syncs() -> None:
    config = ConsumerStateConfig()
    state = ConsumerState([(SUSHI, DataType.L2_ORDERBOOK, "binance-usdm")])
    writer = ConsumerStateWriter(config, state, JsonCodec())
    async with EmbeddedNats() as server:
        relay_side = await nats.connect(server.url)
        js = relay_side.jetstream()
        await js.add_stream(name="MARKET", subjects=["market.>"])
        await BucketKeeper(config).check(js)
        now_ms = 1626992742289
        await js.publish(SUBJECT, message(SNAPSHOT, 1, now_ms))
        state.books[SUSHI].apply(SNAPSHOT, 1, now_ms)
        await writer.flush(js, relay_side.max_payload)

        async with RelayClient(server.url) as client:
            book = await client.order_book("binance-usdm", "sushi-usdt")

            async def synced_at(sequence: int) -> bool:
                return book.synced and book.sequence == sequence

            await until(lambda: synced_at(1), "the book synced on its image")
            read_image = client.book_image
            failures = [nats.errors.TimeoutError()]

            async def image_failing_once(venue: str, symbol: str) -> object:
                if failures:
                    raise failures.pop()
                return await read_image(venue, symbol)

            client.book_image = image_failing_once  # type: ignore[method-assign,assignment]
            # Sequence 2 is lost: 3 is a hole; the newer image is written first.
            state.books[SUSHI].apply(DELTA, 3, now_ms + 2)
            state.books[SUSHI].due = True  # the relay's next periodic image
            await writer.flush(js, relay_side.max_payload)
            await js.publish(SUBJECT, message(DELTA, 3, now_ms + 2))

            async def failed_once() -> bool:
                return book.bootstrap_errors >= 1

            await until(failed_once, "a re-bootstrap failing", 30)
            assert book.last_error == "TimeoutError()"
            await until(lambda: synced_at(3), "the book synced on the newer image", 30)
            assert book.levels() == (
                {Decimal("7.6100"): Decimal("9")},
                {
                    Decimal("7.6115"): Decimal("2"),
                    Decimal("7.6120"): Decimal("3"),
                    Decimal("7.6130"): Decimal("8"),
                },
            )
            assert book.rebootstraps >= 2  # one that failed, one that held
        await relay_side.close()
