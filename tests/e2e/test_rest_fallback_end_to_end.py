"""The REST fallback and REST-only polling through real parts.

One run: a real nats-server, ``relay simulate`` on the recorded Binance USD-M
session at 1.25 times real time (the 31 s recording in 25 s) with
``--reconnect resume --refuse-ws-after 2 --refuse-ws-for 20`` (2 s after the
relay connects, its WebSocket is dropped and refused for 20 s while the
recording's clock runs on; frames of those 20 s are never sent over the
WebSocket), and ``relay run`` subscribed to the
four recorded symbols' trades, tickers and open interest, with
``rest_fallback_after_s = 1``. The stream's duplicate window is 100 ms (the server's least), so
JetStream removes no duplicate the relay might publish: what is stored is
what the relay sent.

Checked against the recording (``shared/captures/binance-usdm.jsonl``, read
here independently of the relay's code): every recorded aggregate trade is
stored exactly once with its recorded values, some via REST (``source`` =
``rest``) and some via the WebSocket after the outage; no message id twice;
REST tickers during the outage; open interest only from REST, each value the
simulator's documented derivation; the fallback's gauge, counters and log lines
show it started once and stopped once, and no poll ran after it stopped.
"""

from __future__ import annotations

import json
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from prometheus_client.parser import text_string_to_metric_families
from support.e2e import (
    USDM,
    relay_header,
    simulator_process,
    start_relay,
    stop_relay,
    stored_messages,
    until,
)
from support.reference_books import records

from relay.infrastructure.embedded_nats import EmbeddedNats, free_port

pytestmark = pytest.mark.integration

CAPTURE = "binance-usdm.jsonl"
VENUE = "binance-usdm"
SPEED = 1.25
OUTAGE_AFTER_S = 2
OUTAGE_FOR_S = 20


def recorded_trades() -> dict[tuple[str, str], dict[str, Any]]:
    """(symbol, aggregate trade id) -> the recorded ``aggTrade`` data, with the record's
    offset from the first frame (``offset_s``)."""
    trades: dict[tuple[str, str], dict[str, Any]] = {}
    first_t: float | None = None
    for record in records(CAPTURE):
        if record["kind"] != "recv":
            continue
        first_t = record["t"] if first_t is None else first_t
        data = json.loads(record["data"])["data"]
        if data.get("e") == "aggTrade":
            trades[(data["s"], str(data["a"]))] = {**data, "offset_s": record["t"] - first_t}
    return trades


def open_interest_values(
    trades: dict[tuple[str, str], dict[str, Any]],
) -> set[tuple[str, int, str]]:
    """Every (symbol, time, open interest) the simulator can answer (``binance_rest``):
    the running sum of recorded ``q`` per symbol at each trade's ``T``, and ``"0"`` at
    the first trade's ``T - 1``."""
    values: set[tuple[str, int, str]] = set()
    totals: dict[str, Decimal] = {}
    for (symbol, _), data in trades.items():
        if symbol not in totals:
            values.add((symbol, data["T"] - 1, "0"))
        totals[symbol] = totals.get(symbol, Decimal(0)) + Decimal(data["q"])
        values.add((symbol, data["T"], str(totals[symbol])))
    return values


def assert_derived_open_interest(
    envelopes: list[dict[str, Any]], trades: dict[tuple[str, str], dict[str, Any]]
) -> None:
    """Each open interest envelope is one the simulator can answer (open_interest_values)."""
    derived = open_interest_values(trades)
    for envelope in envelopes:
        value = (
            envelope["instrument"],
            envelope["exchange_timestamp"],
            envelope["payload"]["open_interest"],
        )
        assert value in derived, value


def config(nats_url: str, sim: str, http_port: int) -> str:
    header = relay_header(nats_url, http_port).replace(
        'storage = "file"', 'storage = "file"\nduplicate_window_s = 0.1'
    )
    subscriptions = "".join(
        f"""
[[venues.subscriptions]]
instrument = "{instrument}"
canonical_symbol = "{canonical}"
data_types = ["trade", "ticker", "open_interest"]
"""
        for instrument, canonical in USDM.items()
    )
    return f"""{header}
[[venues]]
id = "{VENUE}"
ws_url = "ws://{sim}/{VENUE}/stream"
rest_url = "http://{sim}/{VENUE}"
reconnect_base_s = 0.2
reconnect_cap_s = 0.5
breaker_failure_threshold = 1000
rest_weight_per_minute = 1000000
rest_poll_interval_s = 1
rest_fallback_after_s = 1
rest_fallback_interval_s = 0.5
{subscriptions}"""


async def metric(client: httpx.AsyncClient, port: int, name: str, **labels: str) -> float:
    """The sum of the samples ``name`` on ``/metrics`` whose labels include ``labels``."""
    response = await client.get(f"http://127.0.0.1:{port}/metrics", timeout=2)
    return sum(
        sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
        if sample.name == name and labels.items() <= sample.labels.items()
    )


async def test_trades_flow_over_rest_while_the_websocket_is_refused_and_none_is_duplicated(
    tmp_path: Path,
) -> None:
    trades = recorded_trades()
    assert len(trades) == 91
    store = tmp_path / "store"
    store.mkdir()
    server = EmbeddedNats(store_dir=store)
    await server.start()
    http_port = free_port()
    options = (
        "--reconnect",
        "resume",
        "--refuse-ws-after",
        str(OUTAGE_AFTER_S),
        "--refuse-ws-for",
        str(OUTAGE_FOR_S),
    )
    try:
        async with simulator_process(CAPTURE, speed=str(SPEED), options=options) as address:
            path = tmp_path / "relay.toml"
            path.write_text(config(server.url, address, http_port))
            relay = await start_relay(path)
            try:
                async with httpx.AsyncClient() as client:

                    async def gauge(value: float) -> bool:
                        try:
                            found = await metric(
                                client, http_port, "relay_rest_fallback_active", venue=VENUE
                            )
                        except httpx.HTTPError:
                            return False
                        return found == value

                    async def stopped() -> bool:
                        polls = await metric(
                            client, http_port, "relay_rest_polls_total", venue=VENUE
                        )
                        return polls > 0 and await gauge(0.0)

                    await until(lambda: gauge(1.0), "the REST fallback to start", 20)
                    await until(stopped, "the REST fallback to stop", OUTAGE_FOR_S + 15)
                    fallback_polls_at_stop = await metric(
                        client, http_port, "relay_rest_polls_total", endpoint="/fapi/v1/aggTrades"
                    )

                    async def all_trades_published() -> bool:
                        published = await metric(
                            client,
                            http_port,
                            "relay_events_published_total",
                            venue=VENUE,
                            data_type="trade",
                        )
                        return published >= len(trades)

                    await until(all_trades_published, "every recorded trade published", 30)
                    published_trades = await metric(
                        client,
                        http_port,
                        "relay_events_published_total",
                        venue=VENUE,
                        data_type="trade",
                    )
                    fallback_polls_at_end = await metric(
                        client, http_port, "relay_rest_polls_total", endpoint="/fapi/v1/aggTrades"
                    )
                    polls_ok = {
                        endpoint: await metric(
                            client,
                            http_port,
                            "relay_rest_polls_total",
                            endpoint=endpoint,
                            outcome="ok",
                        )
                        for endpoint in (
                            "/fapi/v1/aggTrades",
                            "/fapi/v1/ticker/bookTicker",
                            "/fapi/v1/openInterest",
                        )
                    }
                    polls_failed = await metric(
                        client, http_port, "relay_rest_polls_total", outcome="failed"
                    ) + await metric(
                        client, http_port, "relay_rest_polls_total", outcome="bad_body"
                    )
                    duplicates = await metric(
                        client,
                        http_port,
                        "relay_events_duplicate_total",
                        venue=VENUE,
                        data_type="trade",
                    )
            finally:
                stderr = await stop_relay(relay)
        stored = await stored_messages(server.url, len(trades))
    finally:
        await server.stop()

    envelopes = [orjson.loads(data) for _, _, data in stored]
    print(
        f"\nstored {len(stored)}: "
        + str(Counter((e["data_type"], e.get("source", "ws")) for e in envelopes))
        + f"; polls ok {polls_ok}; trade duplicates suppressed {duplicates:g};"
        f" aggTrades polls at stop {fallback_polls_at_stop:g}, at end {fallback_polls_at_end:g}"
    )
    logs = [orjson.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    messages = [line["msg"] for line in logs]
    assert messages.count("rest fallback started") == 1
    assert messages.count("rest fallback stopped") == 1
    assert fallback_polls_at_end == fallback_polls_at_stop, "a fallback poll after it stopped"
    assert all(count > 0 for count in polls_ok.values()), polls_ok
    assert polls_failed == 0
    # The first REST poll returns the trades the WebSocket had already delivered.
    assert duplicates >= 1
    assert published_trades == len(trades)

    ids = [headers["Nats-Msg-Id"] for _, headers, _ in stored]
    assert len(ids) == len(set(ids)), "a message id stored twice"
    stored_trades = [e for e in envelopes if e["data_type"] == "trade"]
    keys = [(e["instrument"], e["payload"]["trade_id"]) for e in stored_trades]
    assert Counter(keys) == Counter(trades.keys()), "not every recorded trade exactly once"
    for envelope in stored_trades:
        recorded = trades[(envelope["instrument"], envelope["payload"]["trade_id"])]
        assert envelope["payload"]["price"] == recorded["p"]
        assert envelope["payload"]["quantity"] == recorded["q"]
        assert envelope["payload"]["side"] == ("SELL" if recorded["m"] else "BUY")
        assert envelope["exchange_timestamp"] == recorded["T"]
        assert envelope.get("source", "ws") in ("ws", "rest")

    by_source = Counter(e.get("source", "ws") for e in stored_trades)
    assert by_source["rest"] > 0 and by_source["ws"] > 0, by_source
    # Trades recorded during the outage could only come over REST (the WebSocket
    # resumes where the recording's clock is); the WebSocket delivers again after it.
    last_rest = max(i for i, e in enumerate(stored_trades) if e.get("source") == "rest")
    after = [trades[keys[i]]["offset_s"] for i in range(last_rest + 1, len(stored_trades))]
    assert after, "no WebSocket trade after the fallback stopped"
    assert all(
        stored_trades[i].get("source", "ws") == "ws" for i in range(last_rest + 1, len(keys))
    )
    assert min(after) > (OUTAGE_AFTER_S + OUTAGE_FOR_S) * SPEED - 3

    tickers = Counter(e.get("source", "ws") for e in envelopes if e["data_type"] == "ticker")
    assert tickers["rest"] > 0 and tickers["ws"] > 0, tickers

    open_interest = [e for e in envelopes if e["data_type"] == "open_interest"]
    assert open_interest
    assert {e.get("source") for e in open_interest} == {"rest"}
    assert_derived_open_interest(open_interest, trades)
    sequences = Counter((e["instrument"], e["data_type"], e["sequence"]) for e in envelopes)
    assert max(sequences.values()) == 1


async def test_a_connection_of_open_interest_only_opens_no_websocket(tmp_path: Path) -> None:
    """Every subscribed data type is polled over REST: the connection opens no WebSocket
    (Binance would refuse ``?streams=`` with no stream), shows ``polling`` in ``/health``,
    counts as delivering (healthy, ready), and its open interest is the simulator's."""
    trades = recorded_trades()
    http_port = free_port()
    async with EmbeddedNats() as server, simulator_process(CAPTURE, speed="1") as address:
        text = config(server.url, address, http_port).replace(
            '["trade", "ticker", "open_interest"]', '["open_interest"]'
        )
        path = tmp_path / "relay.toml"
        path.write_text(text)
        relay = await start_relay(path)
        try:
            async with httpx.AsyncClient() as client:

                async def every_symbol_polled() -> bool:
                    try:
                        polled = await metric(
                            client, http_port, "relay_rest_polls_total", outcome="ok"
                        )
                    except httpx.HTTPError:
                        return False
                    return polled >= 2 * len(USDM)

                await until(every_symbol_polled, "two rounds of open interest polls", 30)
                health = (await client.get(f"http://127.0.0.1:{http_port}/health")).json()
                ready = await client.get(f"http://127.0.0.1:{http_port}/readyz")
                connected = await metric(client, http_port, "relay_venue_connected", venue=VENUE)
                # A poll answering what the last one did is the same event (same id): put once.
                published = await metric(
                    client, http_port, "relay_events_published_total", venue=VENUE
                )
        finally:
            stderr = await stop_relay(relay)
        stored = await stored_messages(server.url, int(published))
    assert relay.returncode == 0, stderr[-2000:]
    assert health["venues"][VENUE]["state"] == "polling"
    # Its last message is the last REST answer (polled every rest_poll_interval_s = 1).
    assert 0 <= health["venues"][VENUE]["last_message_age_s"] <= 1.5
    assert health["venues"][VENUE]["reconnects"] == 0
    assert (health["status"], ready.status_code, connected) == ("healthy", 200, 0)
    messages = [orjson.loads(line)["msg"] for line in stderr.splitlines() if line.startswith("{")]
    assert "venue connected" not in messages
    assert "rest fallback started" not in messages
    envelopes = [orjson.loads(data) for _, _, data in stored]
    assert len(envelopes) >= published >= len(USDM)
    assert {e["data_type"] for e in envelopes} == {"open_interest"}
    assert {e["instrument"] for e in envelopes} == set(USDM)
    assert_derived_open_interest(envelopes, trades)
