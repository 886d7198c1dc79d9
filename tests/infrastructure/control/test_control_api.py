"""The control API as an input boundary: tokens, status codes, and any body never a 5xx."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.routing import Mount

from relay.application.control.desired import Changes
from relay.application.control.service import ControlService
from relay.application.control.view import stream_view
from relay.config.control import ControlConfig, ControlToken
from relay.config.model import SubscriptionConfig, VenueConfig
from relay.domain.model import DataType
from relay.infrastructure.control.api import ControlApi, control_routes
from relay.infrastructure.control.openapi import OPENAPI
from relay.infrastructure.venues.registry import (
    protocol_refusal,
    registered_venues,
    supported_data_types,
    venue_spec,
)

OPS = "ops-token-0123456789abcdef"
VIEWER = "viewer-token-0123456789"
SUPPORTED = {"binance-usdm": frozenset({DataType.TRADE, DataType.L2_ORDERBOOK})}
VENUES = (
    VenueConfig(
        id="binance-usdm",
        subscriptions=(SubscriptionConfig("SUSHIUSDT", "SUSHI/USDT", (DataType.TRADE,)),),
    ),
)


class Recorder:
    async def apply(self, changes: Changes) -> None:
        self.last = changes


def app(
    read_requires_token: bool = False,
    loaded: bool = True,
    service: ControlService | None = None,
) -> Starlette:
    config = ControlConfig(
        tokens=(ControlToken("ops", OPS), ControlToken("viewer", VIEWER, read_only=True)),
        read_requires_token=read_requires_token,
        max_body_bytes=2048,
    )
    service = service or ControlService(VENUES, SUPPORTED, Recorder())

    def streams() -> list[dict[str, object]]:
        return [stream_view(s, None, None, 0.0, 0.0, 0) for s in service.streams()]

    async def reconnect(venue: str) -> bool:
        return venue == "binance-usdm"

    ready = asyncio.Event()
    if loaded:
        ready.set()
    api = ControlApi(
        config=config,
        service=service,
        streams=streams,
        status=lambda: {"streams": streams()},
        venues=lambda: [],
        reconnect=reconnect,
        capabilities={"binance-usdm": {"data_types": ["l2_orderbook", "trade"], "depths": None}},
        stopping=asyncio.Event(),
        loaded=ready,
    )
    return Starlette(routes=[Mount("/api/v1", routes=control_routes(api))])


def connect(application: Starlette) -> httpx.AsyncClient:
    """An HTTP client calling the app in this event loop; app exceptions propagate."""
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=application), base_url="http://relay"
    )


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with connect(app()) as test_client:
        yield test_client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


BODY = {
    "venue": "binance-usdm",
    "instrument": "AKROUSDT",
    "canonical_symbol": "AKRO/USDT",
    "data_types": ["l2_orderbook"],
}


async def test_reads_need_no_token_and_changes_need_a_writing_one(
    client: httpx.AsyncClient,
) -> None:
    assert (await client.get("/api/v1/streams")).status_code == 200
    unauthenticated = await client.post("/api/v1/streams", json=BODY)
    assert unauthenticated.status_code == 401
    assert unauthenticated.headers["www-authenticate"] == 'Bearer realm="relay"'
    assert (
        await client.post("/api/v1/streams", json=BODY, headers=bearer("wrong"))
    ).status_code == 401
    assert (
        await client.post("/api/v1/streams", json=BODY, headers=bearer(VIEWER))
    ).status_code == 403
    assert (await client.delete("/api/v1/streams/binance-usdm/SUSHIUSDT")).status_code == 401
    assert (await client.post("/api/v1/venues/binance-usdm/reconnect")).status_code == 401
    added = await client.post("/api/v1/streams", json=BODY, headers=bearer(OPS))
    assert added.status_code == 201
    assert [s["data_type"] for s in added.json()["streams"]] == ["l2_orderbook"]
    assert (await client.post("/api/v1/streams", json=BODY, headers=bearer(OPS))).status_code == 409
    assert (
        await client.post("/api/v1/venues/kraken/reconnect", headers=bearer(OPS))
    ).status_code == 404
    assert (
        await client.post("/api/v1/venues/binance-usdm/reconnect", headers=bearer(OPS))
    ).status_code == 202


CANDLE_VENUES = sorted(
    v for v in registered_venues() if DataType.CANDLE in venue_spec(v).data_types
)


@pytest.mark.parametrize("venue", CANDLE_VENUES)
async def test_a_candle_stream_whose_interval_the_venue_does_not_offer_is_a_422_naming_it(
    venue: str,
) -> None:
    """The control plane asks the venue's protocol, as ``relay validate`` does: a runtime
    candle stream the venue has no channel for is refused with the venue's list and
    nothing is applied; an interval the venue offers is added."""
    runtime = Recorder()
    service = ControlService((), supported_data_types(), runtime, refusal=protocol_refusal)
    body = {
        "venue": venue,
        "instrument": "BTC-USDT",
        "canonical_symbol": "BTC/USDT",
        "data_types": ["candle"],
        "candle_interval": "7m",
    }
    refusal = protocol_refusal(
        VenueConfig(
            id=venue,
            subscriptions=(
                SubscriptionConfig("BTC-USDT", "BTC/USDT", (DataType.CANDLE,), 0, "7m"),
            ),
        )
    )
    assert refusal is not None
    assert "'7m'" in refusal
    async with connect(app(service=service)) as client:
        refused = await client.post("/api/v1/streams", json=body, headers=bearer(OPS))
        assert refused.status_code == 422
        assert refused.json() == {"problems": [{"path": "", "message": refusal}]}
        assert not hasattr(runtime, "last")
        assert service.streams() == []
        offered = next(
            i
            for i in ("1m", "5m")
            if protocol_refusal(
                VenueConfig(
                    id=venue,
                    subscriptions=(
                        SubscriptionConfig("BTC-USDT", "BTC/USDT", (DataType.CANDLE,), 0, i),
                    ),
                )
            )
            is None
        )
        added = await client.post(
            "/api/v1/streams", json={**body, "candle_interval": offered}, headers=bearer(OPS)
        )
        assert added.status_code == 201
        assert [s.candle_interval for s in service.streams()] == [offered]


async def test_reads_need_a_token_when_configured() -> None:
    async with connect(app(read_requires_token=True)) as client:
        assert (await client.get("/api/v1/streams")).status_code == 401
        assert (await client.get("/api/v1/streams", headers=bearer(VIEWER))).status_code == 200
        assert (await client.get("/api/v1/openapi.json")).status_code == 401


async def test_streams_answer_503_until_the_runtime_changes_are_loaded() -> None:
    async with connect(app(loaded=False)) as client:
        assert (await client.get("/api/v1/streams")).json() == {
            "problems": [
                {"path": "", "message": "starting: the runtime changes are not loaded yet"}
            ]
        }
        assert (await client.get("/api/v1/status")).status_code == 200


async def test_a_body_over_the_limit_is_413_and_not_json_is_400(client: httpx.AsyncClient) -> None:
    huge = await client.post(
        "/api/v1/streams", content=b"{" + b" " * 4096 + b"}", headers=bearer(OPS)
    )
    assert (huge.status_code, huge.json()) == (
        413,
        {"problems": [{"path": "", "message": "request body over 2048 bytes"}]},
    )
    broken = await client.post("/api/v1/streams", content=b'{"venue": ', headers=bearer(OPS))
    assert broken.status_code == 400
    assert broken.json()["problems"][0]["message"].startswith("request body is not JSON: ")
    deep = await client.post("/api/v1/streams", content=b"[" * 1500, headers=bearer(OPS))
    assert deep.status_code in (400, 413)


async def test_an_instrument_with_a_slash_is_addressed_in_the_path(
    client: httpx.AsyncClient,
) -> None:
    missing = await client.delete("/api/v1/streams/binance-usdm/XBT/USD", headers=bearer(OPS))
    assert missing.json() == {
        "problems": [{"path": "", "message": "no such stream: binance-usdm XBT/USD"}]
    }
    patched = await client.patch(
        "/api/v1/streams/binance-usdm/SUSHIUSDT/trade", json={"paused": True}, headers=bearer(OPS)
    )
    assert (patched.status_code, patched.json()["state"]) == (200, "paused")
    unknown = await client.patch(
        "/api/v1/streams/binance-usdm/SUSHIUSDT/quotes", json={}, headers=bearer(OPS)
    )
    assert unknown.status_code == 404


async def test_the_openapi_document_names_every_route(client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/v1/openapi.json")).json() == orjson.loads(orjson.dumps(OPENAPI))
    assert sorted(OPENAPI["paths"]) == [
        "/capabilities",
        "/events",
        "/openapi.json",
        "/status",
        "/streams",
        "/streams/{venue}/{instrument}",
        "/streams/{venue}/{instrument}/{data_type}",
        "/venues",
        "/venues/{venue}/reconnect",
    ]


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
FIELDS = st.fixed_dictionaries(
    {},
    optional={
        "venue": st.sampled_from(["binance-usdm", "okx", ""]) | JSON,
        "instrument": st.sampled_from(["AKROUSDT", "SUSHIUSDT", "X/Y", ""]) | JSON,
        "canonical_symbol": st.sampled_from(["AKRO/USDT", "A.B", "${HOME}"]) | JSON,
        "data_types": st.lists(st.sampled_from(["trade", "l2_orderbook", "candle", "x"])) | JSON,
        "depth": st.integers(-5, 200_000) | JSON,
        "paused": st.booleans() | JSON,
        "stale_after_s": st.floats() | JSON,
    },
)
BODIES = st.binary(max_size=64) | (JSON | FIELDS).map(lambda value: json.dumps(value).encode())


def _problems_shape(body: Any) -> bool:
    return (
        isinstance(body, dict)
        and isinstance(body.get("problems"), list)
        and bool(body["problems"])
        and all(
            isinstance(p, dict) and isinstance(p["path"], str) and isinstance(p["message"], str)
            for p in body["problems"]
        )
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=BODIES)
def test_any_body_gets_an_answer_below_500_with_every_problem_listed(body: bytes) -> None:
    async def send() -> list[httpx.Response]:
        async with connect(app()) as client:
            return [
                await client.request(method, path, content=body, headers=bearer(OPS))
                for method, path in (
                    ("POST", "/api/v1/streams"),
                    ("PATCH", "/api/v1/streams/binance-usdm/SUSHIUSDT/trade"),
                )
            ]

    for answer in asyncio.run(send()):
        assert answer.status_code in (200, 201, 400, 409, 413, 422), answer.text
        if answer.status_code >= 400:
            assert _problems_shape(answer.json()), answer.text
