"""The ``relay-control`` bucket shared by replicas, on a real nats-server, and what a
relay takes from it.

Two relays of one group change their streams at the same moment, each through its
own API: both changes are kept in the bucket and reach both relays (before the
saves were compare-and-set, the later save replaced the earlier one's document and
the first relay then dropped its own change when it read the bucket). An entry the
venue's protocol refuses is left out when the document is read.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import nats
import pytest
from support.e2e import until

from relay.application.control.desired import Changes, parse_document
from relay.application.control.service import ControlService
from relay.config.control import ControlConfig
from relay.config.model import SubscriptionConfig, VenueConfig
from relay.domain.model import DataType
from relay.infrastructure.control.store import ControlBucket
from relay.infrastructure.embedded_nats import EmbeddedNats
from relay.infrastructure.venues.binance import protocol as binance
from relay.infrastructure.venues.registry import protocol_refusal, supported_data_types

pytestmark = pytest.mark.integration

SUPPORTED = {"binance-usdm": frozenset({DataType.TRADE, DataType.TICKER})}
VENUES = (
    VenueConfig(
        id="binance-usdm",
        subscriptions=(SubscriptionConfig("SUSHIUSDT", "SUSHI/USDT", (DataType.TRADE,)),),
    ),
)


class Recorder:
    """The runtime port: the streams it was told to subscribe, in order."""

    def __init__(self) -> None:
        self.added: list[tuple[str, str]] = []

    async def apply(self, changes: Changes) -> None:
        self.added.extend((s.instrument, s.data_type.value) for s in changes.added)


def body(instrument: str, symbol: str, data_type: str) -> dict[str, object]:
    return {
        "venue": "binance-usdm",
        "instrument": instrument,
        "canonical_symbol": symbol,
        "data_types": [data_type],
    }


def follower(control: ControlService) -> Callable[[bytes | None], Awaitable[None]]:
    """What the control plane hands the bucket's watch: the service follows each value."""

    async def changed(document: bytes | None) -> None:
        await control.follow(document, "bucket")

    return changed


async def test_two_replicas_changing_at_once_keep_both_changes_in_the_bucket_and_both_apply() -> (
    None
):
    async with EmbeddedNats() as server:
        nc = await nats.connect(server.url)
        js = nc.jetstream()
        replicas: list[tuple[ControlService, Recorder]] = []
        watches = []
        for _ in range(2):
            store = ControlBucket(ControlConfig(), "relay")
            runtime = Recorder()
            control = ControlService(VENUES, SUPPORTED, runtime, store)
            await control.follow(await store.open(js), "bucket")
            replicas.append((control, runtime))
            watches.append(asyncio.create_task(store.watch(follower(control))))
        (a, a_runtime), (b, b_runtime) = replicas
        try:
            await asyncio.gather(
                a.add(body("AKROUSDT", "AKRO/USDT", "trade"), "ops-a"),
                b.add(body("CTKUSDT", "CTK/USDT", "ticker"), "ops-b"),
            )
            kv = await js.key_value("relay-control")
            stored, problems = parse_document(
                (await kv.get("relay.streams")).value or b"", SUPPORTED
            )
            assert problems == []
            assert sorted(key[1:] for key in stored.added) == [
                ("AKROUSDT", DataType.TRADE),
                ("CTKUSDT", DataType.TICKER),
            ]

            async def both_follow() -> bool:
                return a.overlay == stored and b.overlay == stored

            await until(both_follow, "both replicas holding the stored document", 10)
        finally:
            for watch in watches:
                watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.gather(*watches)
            await nc.close()
    assert (
        sorted(a_runtime.added)
        == sorted(b_runtime.added)
        == [
            ("AKROUSDT", "trade"),
            ("CTKUSDT", "ticker"),
        ]
    )


async def test_a_bucket_entry_the_venues_protocol_refuses_is_left_out_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A document written by hand (or by another version) adding a candle interval the
    venue does not offer: that entry would fail every connection built with it, so it is
    left out like a rule breach; the other entries apply. Refusals are the registry's."""
    runtime = Recorder()
    control = ControlService(VENUES, supported_data_types(), runtime, refusal=protocol_refusal)
    document = (
        b'{"version":1,"added":['
        b'{"venue":"binance-usdm","instrument":"AKROUSDT","canonical_symbol":"AKRO/USDT",'
        b'"data_type":"candle","depth":0,"candle_interval":"7m"},'
        b'{"venue":"binance-usdm","instrument":"CTKUSDT","canonical_symbol":"CTK/USDT",'
        b'"data_type":"candle","depth":0,"candle_interval":"5m"}],'
        b'"removed":[],"knobs":[]}'
    )
    await control.follow(document, "bucket")
    assert runtime.added == [("CTKUSDT", "candle")]
    assert list(control.overlay.added) == [("binance-usdm", "CTKUSDT", DataType.CANDLE)]
    ignored = [
        r.__dict__["problem"]
        for r in caplog.records
        if r.getMessage() == "control state entry ignored"
    ]
    assert ignored == [
        "added binance-usdm AKROUSDT candle: candle_interval='7m': Binance offers"
        f" {', '.join(binance.FUTURES_CANDLE_INTERVALS)}"
    ]
