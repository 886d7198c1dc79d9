"""``relay bench``: sustained replay through simulator -> relay -> nats-server, with baselines.

What one ``relay bench`` run does, on this machine (method and figures in
``docs/performance.md``):

1. Builds synthetic capture files (relay-capture version 1) from one recorded
   venue session (``binance-usdm.jsonl`` by default; any venue of
   :func:`relay.bench.sessions.benchable_venues`): its frames repeated until the
   relay will publish the asked number of events, ids and times shifted per
   repetition so that no message id repeats and every order book stays valid
   (:func:`relay.bench.sessions.write_synthetic_capture`).
2. Starts one nats-server (JetStream, file storage, :class:`EmbeddedNats`) and,
   for each offered load, ``relay simulate`` and ``relay run --stats-file`` as
   child processes: fixed loads (5,000 and 20,000 events/s by default, each
   ``load_seconds`` long) and maximum load (``events`` events, as fast as the
   relay takes them). A run ends when the stream holds every expected event;
   the relay is then stopped with SIGTERM and its stats file read
   (:mod:`relay.bench.probe` writes it inside the relay).
3. Publishes the relay's stored messages again without the relay
   (:mod:`relay.bench.baselines`).
4. Runs the relay once more with ``subscriptions`` instruments subscribed
   (renamed copies of the recorded ones) and reports its peak RSS.

Throughput of a relay run: acked events per second, from stream-count polls
every :data:`POLL_S`: events stored between the first poll after the paced
warm-up (see :data:`relay.bench.sessions.WARMUP_S`) and the first poll that saw
every event, over the time between those polls. Latency: the relay's own
frame-read-to-ack nanoseconds (``relay run --stats-file``), percentiles by
nearest rank (:mod:`relay.bench.report`).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import signal
import sys
import tempfile
import time
from array import array
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import nats
import orjson

from relay.bench.baselines import (
    MAX_IN_FLIGHT,
    STREAM,
    baseline_core_publish,
    baseline_publish_async,
    delete_stream,
    read_back,
    stream_count,
)
from relay.bench.errors import BenchError
from relay.bench.report import (
    SUBSCRIPTIONS_LABEL,
    Baseline,
    RelayRun,
    build_report,
    format_table,
    latency_percentiles,
    write_plot,
)
from relay.bench.sessions import (
    SERVED_VENUE,
    SyntheticCapture,
    open_session,
    write_synthetic_capture,
)
from relay.config.loader import parse_config
from relay.config.model import PipelineConfig, StreamConfig
from relay.infrastructure.embedded_nats import EmbeddedNats
from relay.infrastructure.process_stats import cpu_seconds
from relay.infrastructure.venues.registry import supported_data_types
from relay.serialization.formats import codec_for
from relay.sim.captures import CaptureError

DEFAULT_VENUE = "binance-usdm"
"""The venue whose recorded session is benchmarked by default."""
DEFAULT_CAPTURES = Path("../shared/captures")
"""Where recorded sessions are looked for by default, relative to the current directory
(else the sessions shipped in ``relay/demo/``)."""

DEFAULT_EVENTS = 1_000_000
DEFAULT_RATES_PER_S = (5_000.0, 20_000.0)
DEFAULT_LOAD_S = 15.0
"""Seconds of events offered at each fixed load (fewer when ``events`` is smaller)."""
DEFAULT_SUBSCRIPTIONS = 200
SUBSCRIPTION_RUN_MAX_EVENTS = 100_000
"""Events replayed in the many-subscriptions RSS run (fewer when ``events`` is smaller)."""

MAX_QUEUE_EVENTS = PipelineConfig().max_queue_events
"""``[pipeline] max_queue_events`` of the relay under test: the shipped default."""

POLL_S = 0.05
"""Interval of the stream-count polls that time a run."""
STALL_S = 30.0
"""A run whose stream count does not grow for this long is abandoned (BenchError)."""


def session_path(venue: str, captures: Path | None = None) -> Path:
    """The recorded session of ``venue``: ``<captures>/<venue>.jsonl``.

    Without ``captures``: :data:`DEFAULT_CAPTURES` when it holds the venue's
    session, else the session shipped in ``relay/demo/`` (Binance spot and USD-M
    only). The file is not checked here; reading it raises a clear error.
    """
    name = f"{venue}.jsonl"
    if captures is not None:
        return captures / name
    if (DEFAULT_CAPTURES / name).exists():
        return DEFAULT_CAPTURES / name
    from relay.demo import DEMO_DIR

    return DEMO_DIR / name


def relay_config_text(
    nats_url: str, simulator: str, capture: SyntheticCapture, wire_format: str
) -> str:
    """The ``relay run`` config of one bench run (TOML).

    Args:
        nats_url: ``nats://127.0.0.1:PORT``.
        simulator: the simulator's ``host:port``.
        capture: the synthetic capture it serves; every instrument in it is subscribed
            to its ``data_types`` (Binance: trades, tickers, books and candles).
        wire_format: ``"json"`` or ``"protobuf"``.
    """
    parts = [
        f"""[nats]
urls = ["{nats_url}"]
max_in_flight = {MAX_IN_FLIGHT}
[[nats.streams]]
name = "{STREAM}"
subjects = ["market.>"]
storage = "file"
[serialization]
format = "{wire_format}"
[http]
enabled = false
[pipeline]
max_queue_events = {MAX_QUEUE_EVENTS}
[logging]
level = "WARNING"
format = "text"

[[venues]]
id = "{capture.venue}"
ws_url = "ws://{simulator}/{SERVED_VENUE}{capture.ws_path}"
rest_url = "http://{simulator}/{SERVED_VENUE}"
rest_weight_per_minute = 1000000
"""
    ]
    data_types = ", ".join(f'"{name}"' for name in capture.data_types)
    for instrument, symbol in zip(capture.instruments, capture.symbols, strict=True):
        parts.append(f"""
[[venues.subscriptions]]
instrument = "{instrument}"
canonical_symbol = "{symbol}"
data_types = [{data_types}]
""")
    return "".join(parts)


def _stream_config(config_text: str) -> StreamConfig:
    config = parse_config(config_text, source="<bench>", venues=supported_data_types())
    return config.nats.streams[0]


_CLOCK_TICKS_PER_S = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _process_cpu_s(pid: int) -> float | None:
    """User + system CPU seconds of a live process, from ``/proc/<pid>/stat``."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS_PER_S


def _machine_busy_s() -> float | None:
    """CPU seconds spent by every process since boot (``/proc/stat``: user, nice, system,
    irq, softirq; idle, iowait and a VM's steal left out)."""
    try:
        first = Path("/proc/stat").read_text().splitlines()[0].split()
    except OSError:
        return None
    ticks = [int(value) for value in first[1:8]]
    return (sum(ticks) - ticks[3] - ticks[4]) / _CLOCK_TICKS_PER_S


# --------------------------------------------------------------------------- child processes


@contextlib.asynccontextmanager
async def _simulator(capture: Path, log: TextIO) -> Any:
    """``relay simulate CAPTURE --port 0 --speed realtime`` as a child; yields (host:port, pid)."""
    env = {**os.environ, "WEBSOCKETS_MAX_LINE_LENGTH": "1048576", "PYTHONUNBUFFERED": "1"}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "relay.cli",
        "simulate",
        str(capture),
        "--port",
        "0",
        "--speed",
        "realtime",
        stdout=asyncio.subprocess.PIPE,
        stderr=log,
        env=env,
    )
    assert process.stdout is not None
    try:
        line = (await asyncio.wait_for(process.stdout.readline(), 300)).decode()
        prefix = "relay simulate: listening on ws://"
        if not line.startswith(prefix):
            raise BenchError(f"relay simulate did not start: {line!r} (log: {log.name})")
        yield line[len(prefix) :].split()[0], process.pid
    finally:
        await _stop(process, signal.SIGTERM)


async def _stop(process: asyncio.subprocess.Process, sig: int) -> int:
    """Signal a child and wait for it (SIGKILL after 60 s); its exit code."""
    if process.returncode is None:
        process.send_signal(sig)
        try:
            await asyncio.wait_for(process.wait(), 60)
        except TimeoutError:
            process.kill()
            await process.wait()
    assert process.returncode is not None
    return process.returncode


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


@dataclass(frozen=True, slots=True)
class _Plan:
    label: str
    rate_per_s: float | None
    events: int
    copies: int


async def _relay_run(
    plan: _Plan,
    source: Path,
    work: Path,
    server: EmbeddedNats,
    js: Any,
    wire_format: str,
    progress: TextIO,
    loop: str = "asyncio",
) -> tuple[RelayRun, str]:
    """Run simulator + relay for one plan; returns the run and the relay config text."""
    name = plan.label.replace("/", "_per_").replace(" ", "_")
    capture = await asyncio.to_thread(
        write_synthetic_capture,
        source,
        work / f"{name}.jsonl",
        plan.events,
        plan.rate_per_s,
        plan.copies,
    )
    await delete_stream(js)
    stats_path = work / f"{name}.stats.json"
    relay_log = work / f"{name}.relay.log"
    with (work / f"{name}.simulator.log").open("w") as sim_log, relay_log.open("w") as log:
        async with _simulator(capture.path, sim_log) as (address, simulator_pid):
            config_text = relay_config_text(server.url, address, capture, wire_format)
            config_path = work / f"{name}.toml"
            config_path.write_text(config_text)
            busy_before, self_before = _machine_busy_s(), cpu_seconds()
            simulator_before = _process_cpu_s(simulator_pid)
            started = time.monotonic()
            relay = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "relay.cli",
                "run",
                "--config",
                str(config_path),
                "--stats-file",
                str(stats_path),
                "--loop",
                loop,
                stderr=log,
            )
            try:
                samples = await _await_stored(
                    js, capture.events, relay, relay_log, progress, plan.label
                )
            finally:
                code = await _stop(relay, signal.SIGTERM)
            wall_s = time.monotonic() - started
            simulator_after = _process_cpu_s(simulator_pid)
            busy_after, self_after = _machine_busy_s(), cpu_seconds()
    if code != 0 or not stats_path.exists():
        raise BenchError(f"relay run exited with {code}:\n{_tail(relay_log)}")
    stats, latencies = read_stats(stats_path)
    machine_cpu_s = (
        round(busy_after - busy_before - (self_after - self_before), 2)
        if busy_before is not None and busy_after is not None
        else None
    )
    simulator_cpu_s = (
        simulator_after - simulator_before
        if simulator_before is not None and simulator_after is not None
        else None
    )
    run = RelayRun(
        label=plan.label,
        offered_per_s=plan.rate_per_s,
        subscriptions=len(capture.instruments),
        events=int(stats["published"]),
        events_per_s=_window_rate(samples, capture, started),
        wall_s=wall_s,
        latency=latency_percentiles(latencies),
        relay_cpu_s=float(stats["cpu_s"]),
        peak_rss_mb=float(stats["peak_rss_mb"]),
        duplicates=int(stats["duplicates_suppressed"]),
        dropped=int(stats["dropped"]),
        event_loop=str(stats["event_loop"]),
        simulator_cpu_s=None if simulator_cpu_s is None else round(simulator_cpu_s, 2),
        machine_cpu_s=machine_cpu_s,
    )
    if run.events != capture.events:
        raise BenchError(
            f"{plan.label}: relay published {run.events} events, expected {capture.events}"
        )
    return run, config_text


def read_stats(path: Path) -> tuple[dict[str, Any], array[int]]:
    """The relay's stats file and its latency file (int64 ns, native order)."""
    stats: dict[str, Any] = orjson.loads(path.read_bytes())
    latencies = array("q")
    latencies.frombytes(Path(stats["latency_file"]).read_bytes())
    return stats, latencies


async def _await_stored(
    js: Any,
    expected: int,
    relay: asyncio.subprocess.Process,
    relay_log: Path,
    progress: TextIO,
    label: str,
) -> list[tuple[float, int]]:
    """Poll the stream until it holds ``expected`` messages; the ``(monotonic s, count)`` polls.

    Raises:
        BenchError: the relay exited, or the count did not grow for :data:`STALL_S`.
    """
    samples: list[tuple[float, int]] = []
    last_count, last_change = -1, time.monotonic()
    next_report = time.monotonic() + 10.0
    while True:
        count = await stream_count(js)
        now = time.monotonic()
        samples.append((now, count))
        if count >= expected:
            return samples
        if count != last_count:
            last_count, last_change = count, now
        if relay.returncode is not None:
            raise BenchError(f"{label}: relay exited early:\n{_tail(relay_log)}")
        if now - last_change > STALL_S:
            raise BenchError(
                f"{label}: stream stuck at {count} of {expected} messages for {STALL_S:g} s:\n"
                f"{_tail(relay_log)}"
            )
        if now >= next_report:
            print(f"relay bench: {label}: {count}/{expected} stored", file=progress, flush=True)
            next_report = now + 10.0
        await asyncio.sleep(POLL_S)


def _window_rate(
    samples: Sequence[tuple[float, int]], capture: SyntheticCapture, started: float
) -> float:
    """Events per second between the first poll past the warm-up and the last poll."""
    end_t, end_count = samples[-1]
    threshold = capture.warmup_events if capture.events > 2 * capture.warmup_events else 1
    for t, count in samples:
        if count >= threshold and t < end_t:
            return (end_count - count) / (end_t - t) if end_count > count else 0.0
    return end_count / (end_t - started)


# --------------------------------------------------------------------------- the whole bench


@dataclass(frozen=True, slots=True)
class BenchOptions:
    """What ``relay bench`` runs.

    Attributes:
        events: events of the maximum-load run and of the baselines (>= 1).
        wire_format: ``"json"`` or ``"protobuf"``.
        rates_per_s: fixed offered loads, events per second.
        load_s: seconds of events offered at each fixed load (capped at ``events``).
        subscriptions: instruments of the RSS run (a multiple of the source's
            instrument count is used, rounded up); 0 skips it.
        source: the recorded session events are built from (default: the
            ``binance-usdm`` session, see :func:`session_path`).
        out_dir: where the PNG plot is written.
        as_json: print one JSON object instead of the table (no plot).
        loop: ``relay run --loop`` of the relay under test (``asyncio``, ``uvloop``).
    """

    events: int = DEFAULT_EVENTS
    wire_format: str = "json"
    rates_per_s: tuple[float, ...] = DEFAULT_RATES_PER_S
    load_s: float = DEFAULT_LOAD_S
    subscriptions: int = DEFAULT_SUBSCRIPTIONS
    source: Path = field(default_factory=lambda: session_path(DEFAULT_VENUE))
    out_dir: Path = Path()
    as_json: bool = False
    loop: str = "asyncio"


def _plans(options: BenchOptions, instruments: int) -> list[_Plan]:
    plans = [
        _Plan(f"{rate:g}/s", rate, max(1, min(options.events, round(rate * options.load_s))), 1)
        for rate in options.rates_per_s
    ]
    plans.append(_Plan("max", None, options.events, 1))
    if options.subscriptions > 0:
        copies = max(1, math.ceil(options.subscriptions / instruments))
        plans.append(
            _Plan(
                f"{copies * instruments} {SUBSCRIPTIONS_LABEL}",
                None,
                min(options.events, SUBSCRIPTION_RUN_MAX_EVENTS),
                copies,
            )
        )
    return plans


async def collect(options: BenchOptions, progress: TextIO | None = None) -> dict[str, Any]:
    """Run every part of the benchmark; returns the report (see :func:`run_bench`).

    ``progress`` (default stderr) gets one line per run and every 10 s.

    Raises:
        BenchError: a run failed (a child exited, the stream stalled, counts differ).
    """
    progress = progress or sys.stderr
    began = time.monotonic()
    codec = codec_for(options.wire_format)
    instruments = len(open_session(options.source).instruments)
    plans = _plans(options, instruments)
    runs: list[RelayRun] = []
    with tempfile.TemporaryDirectory(prefix="relay-bench-") as tmp:
        work = Path(tmp)
        async with EmbeddedNats(store_dir=work / "jetstream") as server:
            nc = await nats.connect(server.url)
            try:
                js = nc.jetstream()
                baselines: list[Baseline] = []
                for plan in plans:
                    print(
                        f"relay bench: {plan.label}: {plan.events} events ...",
                        file=progress,
                        flush=True,
                    )
                    run, config_text = await _relay_run(
                        plan,
                        options.source,
                        work,
                        server,
                        js,
                        options.wire_format,
                        progress,
                        options.loop,
                    )
                    runs.append(run)
                    if plan.label == "max":
                        print("relay bench: baselines ...", file=progress, flush=True)
                        messages = await read_back(js, run.events)
                        stream = _stream_config(config_text)
                        baselines.append(
                            await baseline_publish_async(nc, stream, messages, codec.content_type)
                        )
                        baselines.append(
                            await baseline_core_publish(nc, stream, messages, codec.content_type)
                        )
                        del messages
            finally:
                await nc.close()
    settings = {
        "source": options.source.name,
        "max_in_flight": MAX_IN_FLIGHT,
        "max_queue_events": MAX_QUEUE_EVENTS,
        "load_s": options.load_s,
        "storage": "file",
        "loop": options.loop,
    }
    return build_report(options.wire_format, settings, runs, baselines, time.monotonic() - began)


async def run_bench(options: BenchOptions, out: TextIO | None = None) -> int:
    """The body of ``relay bench``: run, then print JSON or a table (and write the plot).

    With ``as_json`` prints one JSON object with at least ``events``, ``format``,
    ``relay_events_per_s``, ``baseline_publish_async_per_s``,
    ``baseline_core_publish_per_s``, ``ratio_vs_publish_async``, ``latency_ms``
    (``p50``, ``p99``, ``p999`` at maximum load, ms) and ``peak_rss_mb``; otherwise a
    table, and ``bench-<format>.png`` in ``out_dir`` (skipped, with a message, without
    matplotlib).

    Args:
        options: what to run.
        out: where the JSON or table goes (default stdout); progress goes to stderr.

    Returns:
        The exit code: 0, or 1 when a run failed or the session cannot be read (the
        reason on stderr).
    """
    out = out or sys.stdout
    try:
        report = await collect(options)
    except (BenchError, CaptureError) as exc:
        print(f"relay bench: {exc}", file=sys.stderr)
        return 1
    if options.as_json:
        out.write(orjson.dumps(report).decode() + "\n")
        return 0
    out.write(format_table(report) + "\n")
    plot = options.out_dir / f"bench-{options.wire_format}.png"
    if write_plot(report, plot):
        out.write(f"plot: {plot}\n")
    else:
        out.write("plot: skipped, matplotlib is not installed (pip install 'relay[bench]')\n")
    return 0
