"""The control API changes a running relay's streams, touching only the streams it names.

Real parts: nats-server (JetStream), ``relay simulate`` replaying the recorded
binance-usdm session (``--reconnect resume``: REST snapshots are the book at
the replay's position, as the venue's would be), and two ``relay run``
processes of one group (``[cluster] group = "e2e"``): relay A publishes on
``market.>``, relay B (a replica) on ``replica.>``. Both start with the
SUSHIUSDT book and trades from their config files.

One run, in order:

- a change without a token is refused (401), with a read-only token (403); a
  body breaking the config rules gets 422 listing every problem, exactly;
- ``relay streams add`` subscribes CTKUSDT tickers and the API adds the
  AKROUSDT book on A's open connection: their events reach JetStream (the
  tickers equal a run of the recorded ones, the book rebuilt from the stream
  equals the book built from the recording), while the SUSHIUSDT book goes
  on: one snapshot only, sequences without a hole, no resync, no reconnect;
- ``relay streams remove`` unsubscribes CTKUSDT: no ticker of it is stored
  while the SUSHIUSDT book moves on by 20 more messages;
- relay B follows every change through the ``relay-control`` bucket and
  publishes the AKROUSDT book too;
- SUSHIUSDT trades are paused; A is restarted and comes back with the runtime
  changes (AKROUSDT book, CTKUSDT gone, trades paused) from the bucket.

A second run (a relay in this event loop, the simulator in process) registers
binance-usdm without live subscribe: the added book gets a connection of its
own, closed when the book is removed.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import nats
import orjson
import pytest
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError
from support.e2e import (
    WireBook,
    relay_header,
    simulator_process,
    start_relay,
    stop_relay,
    until,
    wire_book,
)
from support.reference_books import CAPTURES, binance_books, recv_payloads

from relay.bootstrap import Relay
from relay.config.loader import parse_config
from relay.infrastructure.embedded_nats import EmbeddedNats, free_port
from relay.infrastructure.venues.registry import register, supported_data_types, venue_spec
from relay.sim.captures import read_capture
from relay.sim.faults import Faults, ReconnectMode
from relay.sim.server import Simulator

pytestmark = pytest.mark.integration

TOKEN = "ops-token-0123456789abcdef"
VIEWER = "viewer-token-0123456789"
CAPTURE = "binance-usdm.jsonl"
SUSHI_BOOK = "market.binance-usdm.sushi-usdt.l2_orderbook"
AKRO_BOOK = "market.binance-usdm.akro-usdt.l2_orderbook"
CTK_TICKER = "market.binance-usdm.ctk-usdt.ticker"


def config(nats_url: str, sim: str, http_port: int, prefix: str) -> str:
    """A relay of group ``e2e`` publishing on ``<prefix>.>`` with SUSHIUSDT book and trades."""
    header = relay_header(nats_url, http_port, nats=f'subject_prefix = "{prefix}"')
    header = header.replace('name = "MARKET"', f'name = "{prefix.upper()}"')
    header = header.replace('subjects = ["market.>"]', f'subjects = ["{prefix}.>"]')
    return f"""{header}
[cluster]
group = "e2e"
[control]
tokens = [{{name = "ops", token = "${{RELAY_CONTROL_TOKEN}}"}},
          {{name = "viewer", token = "{VIEWER}", read_only = true}}]
events_interval_s = 0.2
[[venues]]
id = "binance-usdm"
ws_url = "ws://{sim}/binance-usdm/stream"
rest_url = "http://{sim}/binance-usdm"
[[venues.subscriptions]]
instrument = "SUSHIUSDT"
canonical_symbol = "SUSHI/USDT"
data_types = ["trade", "l2_orderbook"]
"""


async def stored(js: JetStreamContext, stream: str, subject: str) -> int:
    """How many messages of ``subject`` ``stream`` holds (one request: what a poll asks,
    where reading every envelope each 50 ms made an ordered consumer each time)."""
    try:
        info = await js.stream_info(stream, subjects_filter=subject)
    except NotFoundError:
        return 0
    return (info.state.subjects or {}).get(subject, 0)


async def envelopes(js: JetStreamContext, stream: str, subject: str) -> list[dict[str, Any]]:
    """Every stored envelope of ``subject`` in ``stream``, in stream order."""
    count = await stored(js, stream, subject)
    if not count:
        return []
    subscription = await js.subscribe(subject, stream=stream, ordered_consumer=True)
    found = [orjson.loads((await subscription.next_msg(timeout=10)).data) for _ in range(count)]
    await subscription.unsubscribe()
    return found


def rebuilt(book_messages: list[dict[str, Any]]) -> WireBook:
    """The book a consumer builds from the stream's envelopes (``support.e2e.wire_book``)."""
    return wire_book([envelope["payload"] for envelope in book_messages])


def sequences_whole(book_messages: list[dict[str, Any]]) -> bool:
    return [e["sequence"] for e in book_messages] == list(range(1, len(book_messages) + 1))


async def cli(url: str, *args: str, token: str = TOKEN) -> tuple[int, str, str]:
    """``relay streams ARGS --url URL`` with ``RELAY_CONTROL_TOKEN``: (exit code, out, err)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "relay.cli",
        "streams",
        *args,
        "--url",
        url,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "RELAY_CONTROL_TOKEN": token},
    )
    out, err = await process.communicate()
    return process.returncode or 0, out.decode(), err.decode()


def keys(streams: list[dict[str, Any]]) -> set[tuple[str, str, bool]]:
    return {(s["instrument"], s["data_type"], s["paused"]) for s in streams}


@pytest.fixture
async def nats_server() -> AsyncIterator[EmbeddedNats]:
    server = EmbeddedNats()
    await server.start()
    yield server
    await server.stop()


async def test_runtime_changes_touch_only_named_streams_persist_and_reach_replicas(
    nats_server: EmbeddedNats, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RELAY_CONTROL_TOKEN", TOKEN)
    reference = binance_books(CAPTURE, futures=True)
    recorded_ctk = [
        [f["data"]["b"], f["data"]["B"], f["data"]["a"], f["data"]["A"]]
        for f in recv_payloads(CAPTURE)
        if f.get("stream") == "ctkusdt@bookTicker"
    ]
    nc = await nats.connect(nats_server.url)
    js = nc.jetstream()
    async with (
        simulator_process(CAPTURE, speed="3", options=("--reconnect", "resume")) as sim,
        httpx.AsyncClient(timeout=10) as http,
    ):
        port_a, port_b = free_port(), free_port()
        url_a, url_b = f"http://127.0.0.1:{port_a}", f"http://127.0.0.1:{port_b}"
        path_a, path_b = tmp_path / "a.toml", tmp_path / "b.toml"
        path_a.write_text(config(nats_server.url, sim, port_a, "market"))
        path_b.write_text(config(nats_server.url, sim, port_b, "replica"))
        relay_a, relay_b = await start_relay(path_a), await start_relay(path_b)
        auth = {"Authorization": f"Bearer {TOKEN}"}
        try:

            async def streams(url: str) -> list[dict[str, Any]]:
                try:
                    answer = await http.get(f"{url}/api/v1/streams")
                except httpx.ConnectError:  # restarting
                    return []
                return list(answer.json()["streams"]) if answer.status_code == 200 else []

            async def sushi_streaming() -> bool:
                return await stored(js, "MARKET", SUSHI_BOOK) >= 2

            await until(sushi_streaming, "the SUSHIUSDT book on relay A")

            # Refusals: no token, read-only token, a body breaking the config rules.
            body = {
                "venue": "binance-usdm",
                "instrument": "AKROUSDT",
                "canonical_symbol": "AKRO/USDT",
                "data_types": ["l2_orderbook"],
            }
            anonymous = await http.post(f"{url_a}/api/v1/streams", json=body)
            assert anonymous.status_code == 401
            viewer = {"Authorization": f"Bearer {VIEWER}"}
            assert (
                await http.post(f"{url_a}/api/v1/streams", json=body, headers=viewer)
            ).json() == {"problems": [{"path": "", "message": "token 'viewer' is read-only"}]}
            bad = {**body, "venue": "binance-usdm", "data_types": ["trade", "quotes"], "depth": -1}
            bad["canonical_symbol"] = "AKRO.USDT"
            invalid = await http.post(f"{url_a}/api/v1/streams", json=bad, headers=auth)
            assert invalid.status_code == 422
            assert invalid.json() == {
                "problems": [
                    {
                        "path": "canonical_symbol",
                        "message": "'AKRO.USDT': must not contain '.' (NATS subject syntax)",
                    },
                    {
                        "path": "data_types[1]",
                        "message": "unknown data type 'quotes'; known: trade, ticker,"
                        " l2_orderbook, funding_rate, liquidation, open_interest, candle",
                    },
                    {"path": "depth", "message": "must be 0 to 100000, got -1"},
                ]
            }

            # Add: CTKUSDT tickers by the CLI, the AKROUSDT book by the API.
            code, out, err = await cli(
                url_a, "add", "binance-usdm", "CTKUSDT", "CTK/USDT", "ticker"
            )
            assert (code, out, err) == (0, "added binance-usdm CTKUSDT ticker\n", "")
            added = await http.post(f"{url_a}/api/v1/streams", json=body, headers=auth)
            assert added.status_code == 201
            assert [
                (s["instrument"], s["data_type"], s["origin"]) for s in added.json()["streams"]
            ] == [("AKROUSDT", "l2_orderbook", "runtime")]
            again = await http.post(f"{url_a}/api/v1/streams", json=body, headers=auth)
            assert again.status_code == 409

            async def ctk_tickers() -> bool:
                return await stored(js, "MARKET", CTK_TICKER) >= 5

            await until(ctk_tickers, "CTKUSDT tickers in JetStream")

            async def replica_follows() -> bool:
                return keys(await streams(url_b)) == keys(await streams(url_a))

            await until(replica_follows, "relay B listing relay A's streams")
            code, out, err = await cli(url_a, "remove", "binance-usdm", "CTKUSDT")
            assert (code, out, err) == (0, "removed binance-usdm CTKUSDT ticker\n", "")
            tickers = await envelopes(js, "MARKET", CTK_TICKER)
            sushi_then = await stored(js, "MARKET", SUSHI_BOOK)

            async def sushi_moved_on() -> bool:
                return await stored(js, "MARKET", SUSHI_BOOK) >= sushi_then + 20

            await until(sushi_moved_on, "20 more SUSHIUSDT book messages")
            assert await stored(js, "MARKET", CTK_TICKER) == len(tickers)
            got = [
                [
                    t["payload"][k]
                    for k in ("bid_price", "bid_quantity", "ask_price", "ask_quantity")
                ]
                for t in tickers
            ]
            start = recorded_ctk.index(got[0])
            assert got == recorded_ctk[start : start + len(got)]
            assert sequences_whole(tickers)

            # The books: AKROUSDT (added) and SUSHIUSDT (running) equal the recording's at its end.
            counts: list[tuple[int, int]] = []

            async def books_done() -> bool:
                # Read back only once both counts held still for a poll.
                counts.append(
                    (await stored(js, "MARKET", AKRO_BOOK), await stored(js, "MARKET", SUSHI_BOOK))
                )
                if len(counts) < 2 or counts[-1] != counts[-2] or not counts[-1][0]:
                    return False
                akro = await envelopes(js, "MARKET", AKRO_BOOK)
                sushi = await envelopes(js, "MARKET", SUSHI_BOOK)
                return (
                    bool(akro)
                    and rebuilt(akro) == reference["AKROUSDT"]
                    and rebuilt(sushi) == reference["SUSHIUSDT"]
                )

            await until(books_done, "both books equal to the recording's", timeout_s=40)
            akro = await envelopes(js, "MARKET", AKRO_BOOK)
            sushi = await envelopes(js, "MARKET", SUSHI_BOOK)
            assert [e["payload"]["is_snapshot"] for e in akro].count(True) == 1
            assert akro[0]["payload"]["is_snapshot"] is True and sequences_whole(akro)
            assert [e["payload"]["is_snapshot"] for e in sushi].count(True) == 1
            assert sequences_whole(sushi)
            rows = {(s["instrument"], s["data_type"]): s for s in await streams(url_a)}
            assert rows[("SUSHIUSDT", "l2_orderbook")]["resyncs"] == 0
            assert rows[("AKROUSDT", "l2_orderbook")]["resyncs"] == 0
            assert rows[("AKROUSDT", "l2_orderbook")]["book"]["best_bid"] == [
                str(max(reference["AKROUSDT"][0])),
                str(reference["AKROUSDT"][0][max(reference["AKROUSDT"][0])]),
            ]
            venues = (await http.get(f"{url_a}/api/v1/venues")).json()["venues"]
            assert [(v["id"], v["connections"], v["reconnects"]) for v in venues] == [
                ("binance-usdm", 1, 0)
            ]
            metrics = (await http.get(f"{url_a}/metrics")).text
            assert "relay_book_resyncs_total{" not in metrics
            replica_akro = await envelopes(
                js, "REPLICA", "replica.binance-usdm.akro-usdt.l2_orderbook"
            )
            assert replica_akro and replica_akro[0]["payload"]["is_snapshot"] is True
            async with http.stream("GET", f"{url_a}/api/v1/events") as feed:
                line = await anext(feed.aiter_lines())
            assert line.startswith("data: ")
            assert {s["instrument"] for s in orjson.loads(line[6:])["streams"]} == {
                "AKROUSDT",
                "SUSHIUSDT",
            }

            # Pause SUSHIUSDT trades, restart A: the runtime changes come back from the bucket.
            code, out, err = await cli(url_a, "pause", "binance-usdm", "SUSHIUSDT", "trade")
            assert (code, err) == (0, "")
            await until(replica_follows, "relay B pausing SUSHIUSDT trades")
            await stop_relay(relay_a)
            relay_a = await start_relay(path_a)

            async def restarted() -> bool:
                return bool(await streams(url_a))

            await until(restarted, "relay A answering again")
            assert {
                (s["instrument"], s["data_type"], s["paused"], s["origin"])
                for s in await streams(url_a)
            } == {
                ("AKROUSDT", "l2_orderbook", False, "runtime"),
                ("SUSHIUSDT", "l2_orderbook", False, "config"),
                ("SUSHIUSDT", "trade", True, "config"),
            }
            code, out, err = await cli(
                url_a, "remove", "binance-usdm", "AKROUSDT", token="wrong-token"
            )
            assert (code, out) == (1, "")
            assert err == (
                "relay streams: 401: missing or unknown bearer token (Authorization: Bearer ...)\n"
            )
        finally:
            for relay in (relay_a, relay_b):
                if relay.returncode is None:
                    log = await stop_relay(relay)
                    assert "Traceback" not in log
    await nc.close()


async def test_a_stream_the_venue_cannot_join_live_gets_its_own_connection_closed_on_removal() -> (
    None
):
    """binance-usdm registered without live subscribe: adding the AKROUSDT book opens
    ``binance-usdm#2`` beside the running connection (the SUSHIUSDT book untouched), its
    book equals the recording's, and removing it closes that connection."""
    live = venue_spec("binance-usdm")
    register(dataclasses.replace(live, live_subscribe=False))
    simulator = Simulator(
        [read_capture(CAPTURES / CAPTURE)],
        speed=3.0,
        faults=Faults(reconnect=ReconnectMode.RESUME),
    )
    reference = binance_books(CAPTURE, futures=True)
    try:
        async with EmbeddedNats() as server, simulator, httpx.AsyncClient(timeout=10) as http:
            port = free_port()
            text = config(server.url, f"127.0.0.1:{simulator.port}", port, "market")
            relay = Relay(
                parse_config(
                    text,
                    source="<test>",
                    venues=supported_data_types(),
                    environ={"RELAY_CONTROL_TOKEN": TOKEN},
                )
            )
            stop = asyncio.Event()
            task = asyncio.create_task(relay.run(stop))
            nc = await nats.connect(server.url)
            js = nc.jetstream()
            url = f"http://127.0.0.1:{port}/api/v1"
            auth = {"Authorization": f"Bearer {TOKEN}"}
            try:

                async def sushi_streaming() -> bool:
                    return await stored(js, "MARKET", SUSHI_BOOK) >= 2

                await until(sushi_streaming, "the SUSHIUSDT book")
                body = {
                    "venue": "binance-usdm",
                    "instrument": "AKROUSDT",
                    "canonical_symbol": "AKRO/USDT",
                    "data_types": ["l2_orderbook"],
                }
                assert (
                    await http.post(f"{url}/streams", json=body, headers=auth)
                ).status_code == 201
                assert sorted(relay.health.venues) == ["binance-usdm", "binance-usdm#2"]

                akro_counts: list[int] = []

                async def akro_done() -> bool:
                    # Read back only once the count held still for a poll.
                    akro_counts.append(await stored(js, "MARKET", AKRO_BOOK))
                    if len(akro_counts) < 2 or akro_counts[-1] != akro_counts[-2]:
                        return False
                    akro = await envelopes(js, "MARKET", AKRO_BOOK)
                    return bool(akro) and rebuilt(akro) == reference["AKROUSDT"]

                await until(akro_done, "the AKROUSDT book equal to the recording's", 40)
                assert simulator.connections_served == 2
                venues = (await http.get(f"{url}/venues")).json()["venues"]
                assert [(v["connections"], v["reconnects"]) for v in venues] == [(2, 0)]
                removed = await http.delete(f"{url}/streams/binance-usdm/AKROUSDT", headers=auth)
                assert removed.json() == {
                    "removed": [
                        {
                            "venue": "binance-usdm",
                            "instrument": "AKROUSDT",
                            "data_type": "l2_orderbook",
                        }
                    ]
                }
                assert sorted(relay.health.venues) == ["binance-usdm"]
                assert sorted(relay.connections) == ["binance-usdm"]
                sushi = await envelopes(js, "MARKET", SUSHI_BOOK)
                assert [e["payload"]["is_snapshot"] for e in sushi].count(True) == 1
                assert sequences_whole(sushi)
            finally:
                await nc.close()
                stop.set()
                assert await task == 0
    finally:
        register(live)
