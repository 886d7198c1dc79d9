"""The ``relay`` command: run, validate, simulate, demo, bench, instruments, export, streams."""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from relay.cli_args import count, positive_count, seconds
from relay.cli_simulate import add_simulate_parser
from relay.cli_streams import add_streams_parser
from relay.config.errors import ConfigError
from relay.infrastructure.event_loop import LOOPS

if TYPE_CHECKING:
    from relay.config.model import RelayConfig
    from relay.infrastructure.venues.registry import ListedInstrument

DEFAULT_CONFIG = "config/relay.toml"
EXIT_CONFIG_ERROR = 2


def _config_path(args: argparse.Namespace) -> Path:
    return Path(args.config or os.environ.get("RELAY_CONFIG") or DEFAULT_CONFIG)


def _load_config(path: Path) -> RelayConfig | None:
    """The config at ``path``, or None after printing every problem to stderr."""
    from relay.bootstrap import load

    try:
        return load(path)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return None


def _cmd_validate(args: argparse.Namespace) -> int:
    path = _config_path(args)
    config = _load_config(path)
    if config is None:
        return EXIT_CONFIG_ERROR
    subs = sum(len(v.subscriptions) for v in config.venues)
    print(f"{path}: valid ({len(config.venues)} venues, {subs} subscriptions)")
    if args.shards is not None:
        from relay.application.sharding import split_lines

        pairs = [(v.id, sub.instrument) for v in config.venues for sub in v.subscriptions]
        print("\n".join(split_lines(pairs, args.shards)))
    return 0


def _shard(text: str) -> tuple[int, int]:
    from relay.config.cluster import parse_shard

    try:
        return parse_shard(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _cmd_run(args: argparse.Namespace) -> int:
    from relay.bootstrap import Relay
    from relay.infrastructure.event_loop import EventLoopError, loop_factory
    from relay.infrastructure.logs import configure_logging

    try:
        factory = loop_factory(args.loop)
    except EventLoopError as exc:
        print(exc, file=sys.stderr)
        return EXIT_CONFIG_ERROR

    config = _load_config(_config_path(args))
    if config is None:
        return EXIT_CONFIG_ERROR
    if args.shard is not None:
        from dataclasses import replace

        shard, shards = args.shard
        config = replace(config, cluster=replace(config.cluster, shard=shard, shards=shards))
    configure_logging(config.logging.level, config.logging.format)

    async def main() -> int:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        if args.stats_file is None:
            return await Relay(config).run(stop)
        from relay.bench.probe import StatsProbe

        probe = StatsProbe()
        relay = Relay(config, on_acked=probe.on_acked)
        try:
            return await relay.run(stop)
        finally:
            probe.write(args.stats_file, relay)

    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(main())


def _add_loop_option(parser: argparse.ArgumentParser, help_text: str) -> None:
    """``--loop asyncio|uvloop`` (default asyncio), the same choices wherever it is offered."""
    parser.add_argument("--loop", choices=LOOPS, default="asyncio", help=help_text)


def _cmd_demo(args: argparse.Namespace) -> int:
    from relay.demo import run_demo

    return asyncio.run(run_demo(args.seconds, args.speed))


def _cmd_tail(args: argparse.Namespace) -> int:
    from relay.client.tail import TailSubjectError, tail_book, tail_events

    try:
        if args.book:
            if len(args.target) != 2:
                print("relay tail --book: expected VENUE SYMBOL", file=sys.stderr)
                return 2
            venue, symbol = args.target
            asyncio.run(tail_book(args.nats, venue, symbol, args.count))
        else:
            if len(args.target) != 1:
                print("relay tail: expected one SUBJECT", file=sys.stderr)
                return 2
            asyncio.run(tail_events(args.nats, args.target[0], args.json, args.count))
    except TailSubjectError as exc:
        print(f"relay tail: {exc}", file=sys.stderr)
        return 2
    except (OSError, TimeoutError) as exc:
        print(f"relay tail: cannot reach NATS at {args.nats}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    return 0


def _rate(text: str) -> float:
    """A positive, finite events-per-second value."""
    value = float(text)
    if not math.isfinite(value) or value <= 0.0:
        raise ValueError(text)
    return value


def _cmd_bench(args: argparse.Namespace) -> int:
    from relay.bench.runner import DEFAULT_RATES_PER_S, BenchOptions, run_bench, session_path
    from relay.bench.sessions import benchable_venues

    if args.venue not in benchable_venues():
        print(
            f"relay bench: --venue {args.venue!r}: no bench reader"
            f" (readers: {', '.join(benchable_venues())})",
            file=sys.stderr,
        )
        return EXIT_CONFIG_ERROR
    options = BenchOptions(
        events=args.events,
        wire_format=args.format,
        rates_per_s=tuple(args.rate) if args.rate else DEFAULT_RATES_PER_S,
        load_s=args.load_seconds,
        subscriptions=args.subscriptions,
        source=args.capture or session_path(args.venue, args.captures),
        out_dir=args.out,
        as_json=args.json,
        loop=args.loop,
    )
    return asyncio.run(run_bench(options))


EXIT_LISTING_ERROR = 1


def _cmd_instruments(args: argparse.Namespace) -> int:
    import httpx

    from relay.infrastructure.instruments import (
        InstrumentListingError,
        list_instruments,
        render_table,
        render_toml,
    )
    from relay.infrastructure.venues.registry import UnknownVenueError, venue_spec

    try:
        spec = venue_spec(args.venue)
    except UnknownVenueError as exc:
        print(f"relay instruments: {exc}", file=sys.stderr)
        return EXIT_CONFIG_ERROR

    async def fetch() -> list[ListedInstrument]:
        async with httpx.AsyncClient() as http:
            return await list_instruments(spec, args.rest_url or spec.default_rest_url, http)

    try:
        instruments = asyncio.run(fetch())
    except InstrumentListingError as exc:
        print(f"relay instruments: {exc}", file=sys.stderr)
        return EXIT_LISTING_ERROR
    if args.match:
        needle = args.match.upper()
        instruments = [
            i
            for i in instruments
            if needle in i.instrument.upper() or needle in i.canonical_symbol.upper()
        ]
    if args.toml:
        types = sorted(t.value for t in spec.data_types)
        print(render_toml(instruments, types), end="")
    else:
        print(render_table(instruments))
        print(f"{len(instruments)} instruments", file=sys.stderr)
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    try:
        from relay.export import ProgressBar, show_progress
        from relay.export.jetstream import ExportError, Window
        from relay.export.run import export, parse_time
    except ImportError as exc:
        print(
            f"relay export: needs pyarrow ({exc.name} is not installed):"
            " pip install 'relay[export]'",
            file=sys.stderr,
        )
        return EXIT_CONFIG_ERROR
    try:
        window = Window(
            args.subject,
            None if args.since is None else parse_time(args.since),
            None if args.until is None else parse_time(args.until),
        )
        progress = ProgressBar(sys.stderr) if show_progress(args.progress) else None
        written = asyncio.run(export(args.nats_url, window, args.out, progress))
    except (ExportError, OSError) as exc:
        print(f"relay export: {exc}", file=sys.stderr)
        return EXIT_CONFIG_ERROR
    if not written:
        print(f"no messages on {args.subject} in the window; nothing written")
    for data_type, (path, rows) in written.items():
        print(f"{path}: {rows} rows ({data_type})")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    parser = argparse.ArgumentParser(
        prog="relay", description="Crypto market data from venues to NATS JetStream."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser(
        "run",
        help="run the relay (live venues by default)",
        description="Run the relay. Exit 0 after SIGTERM/SIGINT; 2 on a bad config (every"
        " problem listed) or when JetStream cannot be used at start (one line).",
    )
    run.add_argument("--config", help=f"config file (default $RELAY_CONFIG or {DEFAULT_CONFIG})")
    run.add_argument(
        "--stats-file",
        type=Path,
        default=None,
        help="benchmarks: record frame-to-ack latencies; write counts, CPU and RSS here at exit",
    )
    run.add_argument("--shard", type=_shard, metavar="K/N", help="cover shard K of N ([cluster])")
    _add_loop_option(
        run, "event loop: asyncio (default) or uvloop (when installed; see docs/performance.md)"
    )
    run.set_defaults(func=_cmd_run)

    validate = sub.add_parser("validate", help="check a config file; exit 2 listing every problem")
    validate.add_argument("--config", help="config file")
    validate.add_argument(
        "--shards", type=positive_count, metavar="N", help="print the split into N shards"
    )
    validate.set_defaults(func=_cmd_validate)

    add_simulate_parser(sub)

    demo = sub.add_parser("demo", help="embedded NATS + simulator + relay on shipped recordings")
    demo.add_argument("--seconds", type=float, default=20.0)
    demo.add_argument("--speed", default="realtime", help="simulator speed")
    demo.set_defaults(func=_cmd_demo)

    tail = sub.add_parser(
        "tail",
        help="print the relay's events as they arrive, or a live top of book (docs/client.md)",
    )
    tail.add_argument(
        "target",
        nargs="+",
        help="SUBJECT ('market.binance-usdm.*.trade'), or with --book: VENUE SYMBOL",
    )
    tail.add_argument("--book", action="store_true", help="a live top of book of VENUE SYMBOL")
    tail.add_argument("--json", action="store_true", help="one JSON envelope per line")
    tail.add_argument("--nats", default="nats://127.0.0.1:4222", help="NATS server URL")
    tail.add_argument("--count", type=positive_count, default=None, help="stop after N lines")
    tail.set_defaults(func=_cmd_tail)

    bench = sub.add_parser(
        "bench",
        help="throughput, latency and RSS on this machine: simulate -> relay -> nats-server",
        description=(
            "Replay a recorded venue session (Binance, OKX), repeated with ids and times"
            " shifted, through"
            " relay simulate, relay run and a local nats-server (JetStream, file storage):"
            " fixed offered loads, then maximum load, then nats-py publish_async and core"
            " publish of the same payloads, then many subscriptions for RSS."
            " Method: docs/performance.md."
        ),
    )
    bench.add_argument(
        "--events",
        type=positive_count,
        default=1_000_000,
        help="events at maximum load and in the baselines (default 1000000)",
    )
    bench.add_argument("--format", choices=("json", "protobuf"), default="json")
    bench.add_argument(
        "--rate",
        type=_rate,
        action="append",
        metavar="EVENTS_PER_S",
        help="run this fixed offered load instead of 5000 and 20000 (repeatable)",
    )
    bench.add_argument(
        "--load-seconds",
        type=seconds,
        default=15.0,
        metavar="S",
        help="seconds of events at each fixed load, at most --events (default 15)",
    )
    bench.add_argument(
        "--subscriptions",
        type=count,
        default=200,
        metavar="N",
        help="instruments subscribed in the RSS run (default 200; 0 skips it)",
    )
    bench.add_argument(
        "--venue",
        default="binance-usdm",
        metavar="VENUE",
        help="venue whose recorded session is replayed: binance-usdm (default),"
        " binance-spot, binance-coinm, okx",
    )
    bench.add_argument(
        "--captures",
        type=Path,
        default=None,
        metavar="DIR",
        help="directory of recorded sessions, <VENUE>.jsonl (default"
        " ../shared/captures, else the sessions shipped in relay/demo)",
    )
    bench.add_argument(
        "--capture",
        type=Path,
        default=None,
        help="one recorded session file instead of --venue/--captures",
    )
    bench.add_argument(
        "--out",
        type=Path,
        default=Path(),
        metavar="DIR",
        help="where bench-<format>.png is written (default .)",
    )
    bench.add_argument("--json", action="store_true", help="print one JSON object, no plot")
    _add_loop_option(bench, "event loop of the relay under test (relay run --loop)")
    bench.set_defaults(func=_cmd_bench)

    instruments = sub.add_parser(
        "instruments",
        help="list a venue's instruments from its public REST listing (ids for the config)",
    )
    instruments.add_argument("venue", help="venue id, e.g. binance-usdm")
    instruments.add_argument(
        "--match", default="", help="keep instruments whose id or symbol contains this text"
    )
    instruments.add_argument(
        "--toml",
        action="store_true",
        help="print [[venues.subscriptions]] tables to paste into a config",
    )
    instruments.add_argument(
        "--rest-url", default="", help="REST base URL instead of the venue's public one"
    )
    instruments.set_defaults(func=_cmd_instruments)

    export = sub.add_parser(
        "export",
        help="write a stream's messages to Parquet, one file per data type (needs pyarrow)",
    )
    export.add_argument(
        "--subject", required=True, help="subject filter, e.g. 'market.binance-usdm.>'"
    )
    export.add_argument(
        "--since", default=None, help="first stored time: ISO 8601 (UTC if no offset) or epoch ms"
    )
    export.add_argument(
        "--until", default=None, help="last stored time: ISO 8601 (UTC if no offset) or epoch ms"
    )
    export.add_argument(
        "--out",
        required=True,
        type=Path,
        help="output path; OUT.parquet becomes OUT.<data_type>.parquet per data type",
    )
    export.add_argument(
        "--nats-url",
        default=os.environ.get("NATS_URL", "nats://127.0.0.1:4222"),
        help="NATS server (default $NATS_URL, else nats://127.0.0.1:4222)",
    )
    export.add_argument(
        "--progress",
        action="store_true",
        help="draw the progress bar on stderr even when it is not a terminal",
    )
    export.set_defaults(func=_cmd_export)
    add_streams_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``relay`` command; returns the exit code."""
    args = build_parser().parse_args(argv)
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
