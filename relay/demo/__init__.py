"""``relay demo``: the relay on recorded Binance sessions, fully offline.

Starts the bundled nats-server, ``relay simulate`` on the recordings shipped in
this package (binance-usdm.jsonl, binance-spot.jsonl; attribution in NOTICE),
and the relay pointed at them; prints live counts per subject while it runs
and a summary at the end. SIGINT (Ctrl-C) or SIGTERM ends it early, with the
summary, as the time running out does.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import time
from collections import Counter
from pathlib import Path

import nats
from nats.aio.msg import Msg

from relay.bootstrap import Relay
from relay.config.loader import parse_config
from relay.infrastructure.embedded_nats import EmbeddedNats, free_port
from relay.infrastructure.venues.registry import supported_data_types
from relay.sim.captures import read_capture
from relay.sim.server import Simulator

DEMO_DIR = Path(__file__).resolve().parent
CAPTURES = ("binance-usdm.jsonl", "binance-spot.jsonl")

_CONFIG = """
[nats]
urls = ["{nats_url}"]
[[nats.streams]]
name = "MARKET"
subjects = ["market.>"]
storage = "memory"
[http]
listen = "127.0.0.1:{http_port}"
[logging]
level = "WARNING"
format = "text"

[[venues]]
id = "binance-usdm"
ws_url = "{ws}/binance-usdm/stream"
rest_url = "{http}/binance-usdm"
{usdm}

[[venues]]
id = "binance-spot"
ws_url = "{ws}/binance-spot/stream"
rest_url = "{http}/binance-spot"
{spot}
"""

_SUBSCRIPTION = """[[venues.subscriptions]]
instrument = "{instrument}"
canonical_symbol = "{symbol}"
data_types = ["trade", "ticker", "l2_orderbook", "candle"]
"""

USDM = {
    "SUSHIUSDT": "SUSHI/USDT",
    "AKROUSDT": "AKRO/USDT",
    "KEEPUSDT": "KEEP/USDT",
    "CTKUSDT": "CTK/USDT",
}
SPOT = {"NKNUSDT": "NKN/USDT", "BLZETH": "BLZ/ETH", "LRCBTC": "LRC/BTC", "RUNEEUR": "RUNE/EUR"}


def _subscriptions(symbols: dict[str, str]) -> str:
    return "\n".join(_SUBSCRIPTION.format(instrument=i, symbol=s) for i, s in symbols.items())


async def run_demo(seconds: float, speed: str = "realtime") -> int:
    """Run the demo for ``seconds``, or until SIGINT/SIGTERM; prints to stdout. Returns the
    relay's exit code (0 after a clean stop)."""
    from relay.config.model import LogFormat
    from relay.infrastructure.logs import configure_logging
    from relay.sim.replay import parse_speed

    configure_logging("WARNING", LogFormat.TEXT)
    captures = [read_capture(DEMO_DIR / name) for name in CAPTURES]
    async with (
        EmbeddedNats() as server,
        Simulator(captures, host="127.0.0.1", port=0, speed=parse_speed(speed)) as simulator,
    ):
        http_port = free_port()
        config = parse_config(
            _CONFIG.format(
                nats_url=server.url,
                http_port=http_port,
                ws=simulator.ws_base_url,
                http=simulator.base_url,
                usdm=_subscriptions(USDM),
                spot=_subscriptions(SPOT),
            ),
            source="<demo>",
            venues=supported_data_types(),
        )
        counts: Counter[str] = Counter()
        nc = await nats.connect(server.url)

        async def count(msg: Msg) -> None:
            counts[msg.subject] += 1

        await nc.subscribe("market.>", cb=count)
        relay = Relay(config)
        stop = asyncio.Event()
        interrupted = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, interrupted.set)
        started = time.monotonic()
        relay_task = asyncio.create_task(relay.run(stop))
        health: dict[str, object] = {}
        try:
            # The URL is printed once the stream and buckets exist: a client given it
            # (docs/client.md's example) finds them.
            running = asyncio.create_task(relay.running.wait())
            await asyncio.wait((running, relay_task), return_when=asyncio.FIRST_COMPLETED)
            running.cancel()
            print(
                f"relay demo: nats-server {server.url}, simulator {simulator.ws_base_url}, "
                f"/health and /metrics on http://127.0.0.1:{http_port}",
                flush=True,
            )
            while (
                time.monotonic() - started < seconds
                and not relay_task.done()
                and not interrupted.is_set()
            ):
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(1.0):
                        await interrupted.wait()
                _print_live(counts, time.monotonic() - started)
            health = relay.health.report()
        finally:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(sig)
            stop.set()
            code = await relay_task
            stored = (await nc.jetstream().stream_info("MARKET")).state.messages
            await nc.drain()
        _print_summary(counts, relay, time.monotonic() - started)
        print(
            f"stored in JetStream stream MARKET: {stored}; "
            f"/health before stopping: {health.get('status')}",
            flush=True,
        )
        return code


def _print_live(counts: Counter[str], elapsed_s: float) -> None:
    by_type: Counter[str] = Counter()
    for subject, n in counts.items():
        by_type[subject.rsplit(".", 1)[1]] += n
    parts = "  ".join(f"{t}={n}" for t, n in sorted(by_type.items()))
    print(f"[{elapsed_s:5.1f}s] {sum(counts.values()):6d} events  {parts}", flush=True)


def _print_summary(counts: Counter[str], relay: Relay, elapsed_s: float) -> None:
    out = sys.stdout
    out.write(
        f"\nrelay demo: {sum(counts.values())} events on {len(counts)} subjects "
        f"in {elapsed_s:.1f} s\n"
    )
    width = max((len(s) for s in counts), default=10)
    for subject in sorted(counts):
        out.write(f"  {subject:<{width}}  {counts[subject]:6d}\n")
    out.write(
        f"published (acked by JetStream): {relay.publisher.published}, "
        f"dropped: {relay.publisher.dropped}\n"
    )
    out.flush()
