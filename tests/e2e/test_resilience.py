"""Fault injection against real parts: a real nats-server, killed; the simulator's fault knobs."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import nats
import pytest
from prometheus_client.parser import text_string_to_metric_families
from support.e2e import (
    config_text,
    expected_counts,
    relay_in_process,
    sample,
    simulator_process,
    start_relay,
    stop_relay,
    stored_messages,
    until,
    verify_jetstream,
)
from support.reference_books import CAPTURES, records

from relay.infrastructure.embedded_nats import EmbeddedNats, free_port
from relay.sim.captures import read_capture
from relay.sim.faults import Faults
from relay.sim.server import Simulator

USDM_ONLY = ("binance-usdm",)
USDM_EXPECTED = {"trade": 91, "ticker": 613, "candle": 67, "l2_orderbook": 756, "l2_snapshot": 4}

pytestmark = pytest.mark.integration


async def health_of(client: httpx.AsyncClient, port: int) -> tuple[int, str]:
    response = await client.get(f"http://127.0.0.1:{port}/health", timeout=2)
    return response.status_code, str(response.json()["status"])


async def metric_total(client: httpx.AsyncClient, port: int, name: str) -> float:
    """The sum over all label sets of counter ``name`` (without ``_total``) on ``/metrics``."""
    response = await client.get(f"http://127.0.0.1:{port}/metrics", timeout=2)
    return sum(
        sample.value
        for family in text_string_to_metric_families(response.text)
        if family.name == name
        for sample in family.samples
        if sample.name == name + "_total"
    )


OUTAGE_AFTER_PUBLISHED = (200, 700)
"""Events acknowledged by JetStream before each of the two outages (of 1,531)."""

READ_DURING_OUTAGE = 100
"""Events the relay reads while NATS is down, before it is started again: buffered."""


async def test_nats_killed_twice_during_a_paced_replay_loses_and_duplicates_nothing(
    tmp_path: Path,
) -> None:
    store = tmp_path / "store"
    store.mkdir()
    server = EmbeddedNats(store_dir=store)
    await server.start()
    http_port = free_port()
    health_seen: list[tuple[str, int, str]] = []
    async with simulator_process("binance-usdm.jsonl", speed="4") as address:
        config = tmp_path / "relay.toml"
        config.write_text(config_text(server.url, address, http_port, "json", ("binance-usdm",)))
        relay = await start_relay(config)
        try:
            async with httpx.AsyncClient() as client:

                async def healthy() -> bool:
                    try:
                        return (await health_of(client, http_port))[1] == "healthy"
                    except httpx.HTTPError:
                        return False

                async def unhealthy() -> bool:
                    return not await healthy()

                def at_least(name: str, least: float) -> Callable[[], Awaitable[bool]]:
                    async def check() -> bool:
                        return await metric_total(client, http_port, name) >= least

                    return check

                await until(healthy, "the relay healthy")
                for outage, published in enumerate(OUTAGE_AFTER_PUBLISHED, start=1):
                    await until(
                        at_least("relay_events_published", published),
                        f"{published} events published",
                    )
                    await server.kill()
                    read_at_kill = await metric_total(client, http_port, "relay_events_received")
                    await until(unhealthy, "the relay unhealthy")
                    health_seen.append((f"outage {outage}", *await health_of(client, http_port)))
                    await until(
                        at_least("relay_events_received", read_at_kill + READ_DURING_OUTAGE),
                        f"{READ_DURING_OUTAGE} events read while NATS is down",
                    )
                    await server.start()
                    await until(healthy, "the relay healthy again")
                    health_seen.append((f"after {outage}", *await health_of(client, http_port)))
            messages = await stored_messages(
                server.url, expected_counts(("binance-usdm",)), polls=600
            )
        finally:
            stderr = await stop_relay(relay)
            await server.stop()
    assert relay.returncode == 0, stderr[-3000:]
    assert health_seen == [
        ("outage 1", 503, "unhealthy"),
        ("after 1", 200, "healthy"),
        ("outage 2", 503, "unhealthy"),
        ("after 2", 200, "healthy"),
    ]
    assert "NATS disconnected; buffering" in stderr
    seen = verify_jetstream(messages, "json", ("binance-usdm",))
    assert dict(seen) == {
        "trade": 91,
        "ticker": 613,
        "candle": 67,
        "l2_orderbook": 756,
        "l2_snapshot": 4,
    }


async def test_sigterm_under_load_publishes_every_event_read_and_exits_0(tmp_path: Path) -> None:
    async with (
        EmbeddedNats() as server,
        simulator_process("binance-usdm.jsonl", "binance-spot.jsonl") as address,
    ):
        config = tmp_path / "relay.toml"
        text = config_text(server.url, address, free_port(), "json")
        # Few publishes in flight, so a backlog is queued when the signal comes.
        config.write_text(text.replace("urls = [", "max_in_flight = 2\nurls = [", 1))
        relay = await start_relay(config)
        nc = await nats.connect(server.url)
        js = nc.jetstream()
        try:
            for _ in range(300):
                try:
                    if (await js.stream_info("MARKET")).state.messages >= 100:
                        break
                except nats.js.errors.NotFoundError:
                    pass
                await asyncio.sleep(0.02)
            stored_at_signal = (await js.stream_info("MARKET")).state.messages
            signalled = time.monotonic()
            stderr = await stop_relay(relay)
            exit_s = time.monotonic() - signalled
            stored = (await js.stream_info("MARKET")).state.messages
        finally:
            await nc.close()
    assert relay.returncode == 0, stderr[-2000:]
    stopped = next(json.loads(line) for line in stderr.splitlines() if '"msg":"stopped"' in line)
    print(
        f"\nstored at SIGTERM {stored_at_signal}, after exit {stored}, "
        f"exit took {exit_s:.2f} s, relay: {stopped}"
    )
    assert stored_at_signal < stopped["events_read"]
    assert stopped["not_published"] == 0
    assert stopped["dropped"] == 0
    assert stored == stopped["events_read"] - stopped["duplicates_suppressed"]
    assert stored == stopped["published"]
    assert exit_s < 10.0


def usdm_simulator(faults: Faults, speed: float | None = None) -> Simulator:
    return Simulator([read_capture(CAPTURES / "binance-usdm.jsonl")], speed=speed, faults=faults)


async def test_venue_dropped_three_times_reconnects_and_books_match(
    caplog: pytest.LogCaptureFixture,
) -> None:
    faults = Faults(drop_after_frames=300, drop_times=3)
    async with EmbeddedNats() as server, usdm_simulator(faults) as simulator:
        async with relay_in_process(
            server.url, f"127.0.0.1:{simulator.port}", USDM_ONLY, "reconnect_base_s = 0.2"
        ) as relay:
            messages = await stored_messages(server.url, expected_counts(USDM_ONLY))
    waits = [
        r.__dict__["wait_s"]
        for r in caplog.records
        if r.getMessage() == "venue connection lost, reconnecting"
    ]
    print(
        f"\nreconnect waits (s): {waits}; connections served: {simulator.connections_served};"
        f" depth snapshots fetched: {len(simulator.rest_log)};"
        f" duplicates suppressed: {relay.pipeline.duplicates}"
    )
    assert simulator.connections_served == 4
    assert len(waits) == 3
    assert all(0 <= w <= 0.2 * 2 ** (n + 1) for n, w in enumerate(waits))
    assert len(set(waits)) == 3
    assert len(simulator.rest_log) == 16
    assert sample(relay, "relay_venue_reconnects_total", venue="binance-usdm") == 3
    assert dict(verify_jetstream(messages, "json", USDM_ONLY)) == USDM_EXPECTED


async def test_skipped_frames_cause_a_counted_resync_and_a_correct_book() -> None:
    faults = Faults(skip_after_frames=200, skip_frames=5)
    async with EmbeddedNats() as server, usdm_simulator(faults) as simulator:
        async with relay_in_process(server.url, f"127.0.0.1:{simulator.port}", USDM_ONLY) as relay:
            messages = await stored_messages(server.url, expected_counts(USDM_ONLY) - 3)
    resyncs = {
        instrument: sample(
            relay,
            "relay_book_resyncs_total",
            venue="binance-usdm",
            instrument=instrument,
            reason="gap",
        )
        for instrument in ("CTKUSDT", "AKROUSDT", "SUSHIUSDT", "KEEPUSDT")
    }
    print(f"\nresyncs after skipping recorded frames 200-204: {resyncs}")
    assert resyncs == {"CTKUSDT": 1.0, "AKROUSDT": 1.0, "SUSHIUSDT": 0.0, "KEEPUSDT": 0.0}
    seen = verify_jetstream(messages, "json", USDM_ONLY, skipped=range(200, 205))
    assert seen["l2_snapshot"] == 6
    assert (seen["trade"], seen["ticker"], seen["candle"]) == (90, 612, 66)


async def test_stalled_connection_is_replaced_within_stale_after_plus_one_second() -> None:
    faults = Faults(stall_after_frames=100)
    settings = """
[venues.stale_after_s]
ticker = 2.0
l2_orderbook = 2.0
candle = 0
"""
    async with EmbeddedNats() as server, usdm_simulator(faults) as simulator:
        async with relay_in_process(
            server.url, f"127.0.0.1:{simulator.port}", USDM_ONLY, _stale_table(settings)
        ) as relay:
            connection = relay.connections["binance-usdm"]
            stalled_at = replaced_at = None
            stale_reconnects = 0.0
            for _ in range(1000):
                await asyncio.sleep(0.01)
                if stalled_at is None and connection.frames >= 100:
                    stalled_at = time.monotonic()
                if simulator.connections_served >= 2:
                    replaced_at = time.monotonic()
                    # Counted now: once the second connection's replay ends, it too goes
                    # silent and is (rightly) replaced again, as late as the load makes it.
                    stale_reconnects = sample(
                        relay,
                        "relay_stale_reconnects_total",
                        venue="binance-usdm",
                        data_type="ticker",
                    ) + sample(
                        relay,
                        "relay_stale_reconnects_total",
                        venue="binance-usdm",
                        data_type="l2_orderbook",
                    )
                    break
            messages = await stored_messages(server.url, expected_counts(USDM_ONLY))
    assert stalled_at is not None and replaced_at is not None
    print(
        f"\nstall detected and connection replaced {replaced_at - stalled_at:.2f} s after "
        f"the last frame (stale_after_s = 2.0)"
    )
    assert replaced_at - stalled_at <= 3.0
    assert stale_reconnects == 1
    assert dict(verify_jetstream(messages, "json", USDM_ONLY)) == USDM_EXPECTED


def _stale_table(settings: str) -> str:
    """Inline-table form of a ``[venues.stale_after_s]`` section, usable among venue keys."""
    pairs = [line.strip() for line in settings.strip().splitlines()[1:]]
    return "stale_after_s = { " + ", ".join(pairs) + " }"


@pytest.mark.parametrize("status", [429, 500])
async def test_rest_errors_delay_the_book_but_never_corrupt_it(status: int) -> None:
    faults = Faults(rest_error_status=status, rest_error_for_s=3.0)
    async with EmbeddedNats() as server, usdm_simulator(faults) as simulator:
        async with relay_in_process(
            server.url, f"127.0.0.1:{simulator.port}", USDM_ONLY, "rest_weight_per_minute = 1200"
        ):
            messages = await stored_messages(
                server.url, expected_counts(USDM_ONLY) + USDM_EXPECTED["l2_orderbook"]
            )
    log = simulator.rest_log
    statuses = [s for _, _, s in log]
    assert statuses.count(200) == 4
    assert statuses[:4] == [status] * 4
    assert set(statuses) == {status, 200}
    weight = 20
    for i, (start, _, _) in enumerate(log):
        in_minute = [t for t, _, _ in log[i:] if t - start < 60]
        assert weight * len(in_minute) <= 1200
        for end_index in range(i, len(log)):
            # Times are taken at the simulator, not where the bucket granted them: allow
            # 250 ms of network and scheduling jitter (a busy 2-core VM).
            window_s = log[end_index][0] - start + 0.25
            granted = weight * (end_index - i + 1)
            assert granted <= 200 + 1200 * 5 / 6 / 60 * window_s
    print(
        f"\n{status}: {len(log)} REST requests over {log[-1][0] - log[0][0]:.2f} s: "
        f"{statuses}; bucket capacity 200, refill 16.7 weight/s, request weight 20"
    )
    assert dict(verify_jetstream(messages, "json", USDM_ONLY)) == USDM_EXPECTED


async def test_garbage_frames_are_counted_and_skipped() -> None:
    faults = Faults(garbage_every=10)
    async with EmbeddedNats() as server, usdm_simulator(faults) as simulator:
        async with relay_in_process(server.url, f"127.0.0.1:{simulator.port}", USDM_ONLY) as relay:
            messages = await stored_messages(server.url, expected_counts(USDM_ONLY))
    rejected = {
        reason: sample(relay, "relay_frames_rejected_total", venue="binance-usdm", reason=reason)
        for reason in ("not_json", "unknown_event")
    }
    print(f"\ngarbage frames rejected: {rejected}")
    assert sum(rejected.values()) == 1535 // 10
    assert simulator.connections_served == 1
    assert dict(verify_jetstream(messages, "json", USDM_ONLY)) == USDM_EXPECTED


async def test_oversized_frames_are_counted_and_skipped_without_closing() -> None:
    sizes = [len(r["data"].encode()) for r in records("binance-usdm.jsonl") if r["kind"] == "recv"]
    oversized = sum(1 for size in sizes if size > 1024)
    assert oversized == 7
    async with EmbeddedNats() as server, usdm_simulator(Faults()) as simulator:
        async with relay_in_process(
            server.url, f"127.0.0.1:{simulator.port}", USDM_ONLY, "max_frame_bytes = 1024"
        ) as relay:
            await stored_messages(server.url, 771 - 7)
            frames = relay.connections["binance-usdm"].frames
    assert (
        sample(relay, "relay_frames_rejected_total", venue="binance-usdm", reason="oversized")
        == oversized
    )
    assert frames == len(sizes)
    assert simulator.connections_served == 1


async def test_nats_unreachable_at_start_is_retried_until_it_comes_up(
    caplog: pytest.LogCaptureFixture,
) -> None:
    port = free_port()
    async with usdm_simulator(Faults()) as simulator:
        async with relay_in_process(
            f"nats://127.0.0.1:{port}", f"127.0.0.1:{simulator.port}", USDM_ONLY
        ) as relay:

            async def refused() -> bool:
                return any(
                    r.getMessage() in ("NATS error", "NATS not reachable, retrying")
                    for r in caplog.records
                )

            await until(refused, "a refused NATS connection")
            assert relay.health.status().value == "unhealthy"
            async with EmbeddedNats(port=port) as server:
                messages = await stored_messages(server.url, expected_counts(USDM_ONLY))
                assert relay.health.nats_connected
    # nats-py retries the first connection itself; each failed try reaches error_cb.
    failures = [
        r
        for r in caplog.records
        if r.getMessage() in ("NATS error", "NATS not reachable, retrying")
    ]
    assert len(failures) >= 1
    assert dict(verify_jetstream(messages, "json", USDM_ONLY)) == USDM_EXPECTED


async def test_refused_connections_open_the_circuit_breaker_until_the_venue_is_back(
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = """reconnect_base_s = 0.05
reconnect_cap_s = 0.2
breaker_failure_threshold = 2
breaker_reset_timeout_s = 1.0
breaker_success_threshold = 1
stable_after_s = 0.5"""
    async with EmbeddedNats() as server, usdm_simulator(Faults(refuse_for_s=3.0)) as simulator:
        async with relay_in_process(
            server.url, f"127.0.0.1:{simulator.port}", USDM_ONLY, settings
        ) as relay:
            states: list[str] = []
            for _ in range(100):
                await asyncio.sleep(0.05)
                state = relay.health.report()["venues"]["binance-usdm"]["circuit"]  # type: ignore[index]
                if not states or states[-1] != state:
                    states.append(state)
                if state == "closed" and "open" in states:
                    break
            messages = await stored_messages(server.url, expected_counts(USDM_ONLY))
            gauge = sample(relay, "relay_circuit_breaker_state", venue="binance-usdm")
    transitions = [
        (r.__dict__["from"], r.__dict__["to"])
        for r in caplog.records
        if r.getMessage().startswith("circuit breaker ") and "from" in r.__dict__
    ]
    print(f"\n/health circuit states seen: {states}; transitions: {transitions}")
    assert "open" in states and states[-1] == "closed"
    assert transitions[0] == ("closed", "open")
    assert transitions[-1] == ("half_open", "closed")
    assert gauge == 0
    assert dict(verify_jetstream(messages, "json", USDM_ONLY)) == USDM_EXPECTED
