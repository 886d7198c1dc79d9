"""What ``relay run --stats-file`` installs in the relay under test, and the file it writes.

:class:`StatsProbe` is an :data:`~relay.application.ports.AckObserver`: the
publisher tells it of every acked message, and it keeps the frame-read-to-ack
latency. At exit :meth:`StatsProbe.write` writes the stats file the bench reads
(:func:`relay.bench.runner.read_stats`). Only ``relay run --stats-file`` builds one;
the relay itself knows nothing of the benchmark.
"""

from __future__ import annotations

import asyncio
from array import array
from pathlib import Path
from typing import TYPE_CHECKING

import orjson

from relay.application.ports import OutboundMessage
from relay.infrastructure.process_stats import cpu_seconds, peak_rss_mb

if TYPE_CHECKING:
    from relay.bootstrap import Relay


class StatsProbe:
    """Records every acked message's frame-read-to-ack latency (int64 ns, in ack order).

    Messages without a read time (``read_ns`` 0) are counted by the publisher but
    have no latency.
    """

    def __init__(self) -> None:
        self.latencies_ns: array[int] = array("q")

    def on_acked(self, message: OutboundMessage, now_ns: int) -> None:
        """The :data:`~relay.application.ports.AckObserver` hook."""
        if message.read_ns:
            self.latencies_ns.append(now_ns - message.read_ns)

    def write(self, path: Path, relay: Relay) -> None:
        """Write the stats file of a relay that has stopped (call it in its event loop).

        ``path`` gets a JSON object ``{"events_read", "duplicates_suppressed",
        "published", "dropped", "cpu_s", "peak_rss_mb", "event_loop",
        "latency_file"}`` (``event_loop``: ``"asyncio"`` or ``"uvloop"``);
        ``latency_file`` (``<path>.latency``) holds the latencies as native int64
        nanoseconds, in ack order.

        Raises:
            OSError: the files cannot be written.
        """
        latency_file = path.with_name(path.name + ".latency")
        with latency_file.open("wb") as out:
            self.latencies_ns.tofile(out)
        path.write_bytes(
            orjson.dumps(
                {
                    "events_read": relay.pipeline.accepted,
                    "duplicates_suppressed": relay.pipeline.duplicates,
                    "published": relay.publisher.published,
                    "dropped": relay.publisher.dropped,
                    "cpu_s": round(cpu_seconds(), 3),
                    "peak_rss_mb": round(peak_rss_mb(), 1),
                    "event_loop": type(asyncio.get_running_loop()).__module__.partition(".")[0],
                    "latency_file": str(latency_file),
                }
            )
        )
