"""The bench's figures: latency percentiles, one run's and one baseline's record, the report
(JSON-ready), the text table and the PNG plot."""

from __future__ import annotations

import contextlib
import importlib
import math
import os
import platform
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from relay.domain.errors import RelayError
from relay.infrastructure.embedded_nats import nats_server_binary

SUBSCRIPTIONS_LABEL = "subscriptions"
"""The label of the many-subscriptions run ends with this (``"200 subscriptions"``)."""


@dataclass(frozen=True, slots=True)
class Latency:
    """Frame-read-to-ack latency percentiles of one run, milliseconds (nearest rank)."""

    p50: float
    p99: float
    p999: float
    max: float

    def as_dict(self) -> dict[str, float]:
        """``{"p50": ..., "p99": ..., "p999": ..., "max": ...}``."""
        return {"p50": self.p50, "p99": self.p99, "p999": self.p999, "max": self.max}


def latency_percentiles(latencies_ns: Sequence[int]) -> Latency:
    """Nearest-rank percentiles of nanosecond latencies, in milliseconds (3 decimals).

    ``latency_percentiles([1_000_000] * 10)`` -> ``Latency(1.0, 1.0, 1.0, 1.0)``;
    an empty sequence gives zeros.
    """
    ordered = sorted(latencies_ns)
    if not ordered:
        return Latency(0.0, 0.0, 0.0, 0.0)

    def rank(q: float) -> float:
        value = ordered[max(0, math.ceil(q * len(ordered)) - 1)]
        return round(value / 1e6, 3)

    return Latency(rank(0.50), rank(0.99), rank(0.999), rank(1.0))


@dataclass(frozen=True, slots=True)
class RelayRun:
    """One relay run at one offered load.

    Attributes:
        label: ``"5000/s"``, ``"max"`` or ``"200 subscriptions"``.
        offered_per_s: the fixed offered load, None at maximum load.
        subscriptions: instruments subscribed.
        events: events the relay published and JetStream stored.
        events_per_s: acked events per second (see the module doc for the window).
        wall_s: relay process start to exit.
        latency: frame-read-to-ack percentiles.
        relay_cpu_s: the relay process's CPU seconds (user + system, whole life).
        peak_rss_mb: the relay process's peak RSS.
        duplicates: events the relay suppressed as duplicates (0 expected).
        dropped: events the relay dropped (0 expected).
        event_loop: the relay's event loop, ``"asyncio"`` or ``"uvloop"``.
        simulator_cpu_s: the simulator's CPU seconds while the relay ran (its start,
            reading the capture, left out), None where ``/proc`` is missing.
        machine_cpu_s: CPU seconds of every process on the machine while the relay ran,
            the bench process's own left out (``/proc/stat``), None where it is missing.
    """

    label: str
    offered_per_s: float | None
    subscriptions: int
    events: int
    events_per_s: float
    wall_s: float
    latency: Latency
    relay_cpu_s: float
    peak_rss_mb: float
    duplicates: int
    dropped: int
    event_loop: str
    simulator_cpu_s: float | None
    machine_cpu_s: float | None

    def as_dict(self) -> dict[str, Any]:
        """The run as JSON-ready values."""
        return {
            "label": self.label,
            "offered_events_per_s": self.offered_per_s,
            "subscriptions": self.subscriptions,
            "events": self.events,
            "events_per_s": round(self.events_per_s, 1),
            "wall_s": round(self.wall_s, 3),
            "latency_ms": self.latency.as_dict(),
            "relay_cpu_s": self.relay_cpu_s,
            "relay_cpu_s_per_million_events": per_million(self.relay_cpu_s, self.events),
            "peak_rss_mb": self.peak_rss_mb,
            "duplicates_suppressed": self.duplicates,
            "dropped": self.dropped,
            "event_loop": self.event_loop,
            "simulator_cpu_s": self.simulator_cpu_s,
            "machine_cpu_s": self.machine_cpu_s,
        }


@dataclass(frozen=True, slots=True)
class Baseline:
    """Publishing the relay's payloads straight to JetStream, without the relay.

    Attributes:
        method: ``"publish_async"`` or ``"core_publish"``.
        events: messages published.
        stored: messages the stream held at the end (core publish is not acked).
        errors: publishes rejected (negative acks).
        events_per_s: ``stored`` over the time from the first publish to the last
            ack (publish_async) or to the poll that saw them stored (core publish).
    """

    method: str
    events: int
    stored: int
    errors: int
    events_per_s: float


def per_million(cpu_s: float, events: int) -> float:
    """CPU seconds per million events, 2 decimals (0.0 without events)."""
    return round(cpu_s / events * 1e6, 2) if events else 0.0


def machine() -> dict[str, Any]:
    """CPUs, CPU model, memory, system, Python, nats-server and nats-py versions."""
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.partition(":")[2].strip()
                break
    memory_gb = None
    with contextlib.suppress(OSError, ValueError, IndexError):
        memory_gb = round(int(Path("/proc/meminfo").read_text().split()[1]) / 1024 / 1024, 1)
    server = ""
    with contextlib.suppress(OSError, subprocess.SubprocessError, RelayError):
        server = subprocess.run(
            [str(nats_server_binary()), "--version"],
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "memory_gb": memory_gb,
        "system": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "nats_server": server,
        "nats_py": _version("nats-py"),
    }


def _version(distribution: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(distribution)
    except PackageNotFoundError:
        return ""


def build_report(
    wire_format: str,
    settings: dict[str, Any],
    runs: Sequence[RelayRun],
    baselines: Sequence[Baseline],
    elapsed_s: float,
) -> dict[str, Any]:
    """The report of a whole bench (see :func:`relay.bench.runner.run_bench` for its keys).

    Args:
        wire_format: ``"json"`` or ``"protobuf"``.
        settings: the ``settings`` object (source, max_in_flight, ...), as given.
        runs: every relay run; one is labelled ``"max"``.
        baselines: ``publish_async`` and ``core_publish``.
        elapsed_s: the whole bench's wall time.
    """
    top = next(run for run in runs if run.offered_per_s is None and run.label == "max")
    many = [run for run in runs if run.label.endswith(SUBSCRIPTIONS_LABEL)]
    by_method = {b.method: b for b in baselines}
    pub_async, core = by_method["publish_async"], by_method["core_publish"]
    other_cpu = (
        round(top.machine_cpu_s - top.relay_cpu_s - top.simulator_cpu_s, 2)
        if top.machine_cpu_s is not None and top.simulator_cpu_s is not None
        else None
    )
    return {
        "events": top.events,
        "format": wire_format,
        "relay_events_per_s": round(top.events_per_s, 1),
        "baseline_publish_async_per_s": round(pub_async.events_per_s, 1),
        "baseline_core_publish_per_s": round(core.events_per_s, 1),
        "ratio_vs_publish_async": round(top.events_per_s / pub_async.events_per_s, 3),
        "ratio_vs_core_publish": round(top.events_per_s / core.events_per_s, 3),
        "latency_ms": top.latency.as_dict(),
        "peak_rss_mb": top.peak_rss_mb,
        "cpu_s_per_million_events": per_million(top.relay_cpu_s, top.events),
        "rss_with_subscriptions_mb": many[0].peak_rss_mb if many else None,
        "subscriptions": many[0].subscriptions if many else 0,
        "cpu_s": {
            "relay": top.relay_cpu_s,
            "simulator": top.simulator_cpu_s,
            "nats_server_and_other": other_cpu,
        },
        "runs": [run.as_dict() for run in runs],
        "baselines": [
            {
                "method": b.method,
                "events": b.events,
                "stored": b.stored,
                "errors": b.errors,
                "events_per_s": round(b.events_per_s, 1),
            }
            for b in baselines
        ],
        "settings": settings,
        "machine": machine(),
        "elapsed_s": round(elapsed_s, 1),
    }


def format_table(report: dict[str, Any]) -> str:
    """The report as a readable text table."""
    lines = [
        f"relay bench: {report['events']} events, format {report['format']}, "
        f"event loop {report['runs'][0]['event_loop'] if report['runs'] else '-'}, "
        f"{report['machine']['cpus']} CPUs ({report['machine']['cpu_model']}), "
        f"{report['machine']['nats_server']}",
        "",
        f"{'run':<20}{'events':>9}{'events/s':>11}{'p50 ms':>10}{'p99 ms':>10}"
        f"{'p99.9 ms':>10}{'max ms':>10}{'CPU s/M':>9}{'RSS MB':>8}",
    ]
    for run in report["runs"]:
        lat = run["latency_ms"]
        lines.append(
            f"{run['label']:<20}{run['events']:>9}{run['events_per_s']:>11.0f}"
            f"{lat['p50']:>10.2f}{lat['p99']:>10.2f}{lat['p999']:>10.2f}{lat['max']:>10.1f}"
            f"{run['relay_cpu_s_per_million_events']:>9.1f}{run['peak_rss_mb']:>8.1f}"
        )
    lines += ["", f"{'throughput (same payloads, same server)':<44}{'events/s':>11}{'relay/x':>9}"]
    lines.append(
        f"{'relay (simulate -> relay -> JetStream ack)':<44}"
        f"{report['relay_events_per_s']:>11.0f}{1.0:>9.3f}"
    )
    for baseline in report["baselines"]:
        ratio = report["relay_events_per_s"] / baseline["events_per_s"]
        name = (
            "nats-py js.publish_async (acked)"
            if baseline["method"] == "publish_async"
            else "nats-py core publish + flush (not acked)"
        )
        lines.append(f"{name:<44}{baseline['events_per_s']:>11.0f}{ratio:>9.3f}")
    cpu = report["cpu_s"]
    lines += [
        "",
        f"max load CPU seconds: relay {cpu['relay']}, simulator {cpu['simulator']}, "
        f"nats-server and other {cpu['nats_server_and_other']}; "
        f"relay {report['cpu_s_per_million_events']} CPU s per million events",
        f"peak RSS: {report['peak_rss_mb']} MB at max load; "
        f"{report['rss_with_subscriptions_mb']} MB with {report['subscriptions']} subscriptions",
        f"elapsed {report['elapsed_s']} s",
    ]
    return "\n".join(lines)


def write_plot(report: dict[str, Any], path: Path) -> bool:
    """Latency percentiles per offered load and throughput bars, as a PNG.

    Returns:
        False when matplotlib is not installed (``pip install 'relay[bench]'``).
    """
    try:
        matplotlib = importlib.import_module("matplotlib")
    except ImportError:
        return False
    matplotlib.use("Agg")
    pyplot = importlib.import_module("matplotlib.pyplot")
    loads = [run for run in report["runs"] if not run["label"].endswith(SUBSCRIPTIONS_LABEL)]
    figure, (left, right) = pyplot.subplots(1, 2, figsize=(12, 4.5))
    names = [f"{run['label']}\n({run['events_per_s']:.0f}/s acked)" for run in loads]
    for key, label in (("p50", "p50"), ("p99", "p99"), ("p999", "p99.9")):
        left.plot(
            names, [max(run["latency_ms"][key], 1e-3) for run in loads], marker="o", label=label
        )
    left.set_yscale("log")
    left.set_ylabel("frame read -> JetStream ack, ms")
    left.set_xlabel("offered load")
    left.set_title(f"relay latency ({report['format']})")
    left.legend()
    left.grid(True, which="both", alpha=0.3)
    bars = [("relay", report["relay_events_per_s"])] + [
        (baseline["method"], baseline["events_per_s"]) for baseline in report["baselines"]
    ]
    right.bar(
        [name for name, _ in bars],
        [value for _, value in bars],
        color=["tab:blue", "tab:orange", "tab:green"],
    )
    for index, (_, value) in enumerate(bars):
        right.annotate(f"{value:,.0f}", (index, value), ha="center", va="bottom")
    right.set_ylabel("events/s")
    right.set_title(f"throughput, {report['events']:,} events, file storage")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    pyplot.close(figure)
    return True
