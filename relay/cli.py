"""The ``relay`` command: run, validate, simulate, demo."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
from pathlib import Path

from relay.config.errors import ConfigError

DEFAULT_CONFIG = "config/relay.toml"
EXIT_CONFIG_ERROR = 2


def _config_path(args: argparse.Namespace) -> Path:
    return Path(args.config or os.environ.get("RELAY_CONFIG") or DEFAULT_CONFIG)


def _cmd_validate(args: argparse.Namespace) -> int:
    from relay.bootstrap import load

    path = _config_path(args)
    try:
        config = load(path)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return EXIT_CONFIG_ERROR
    subs = sum(len(v.subscriptions) for v in config.venues)
    print(f"{path}: valid ({len(config.venues)} venues, {subs} subscriptions)")
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    from relay.bootstrap import Relay, load
    from relay.infrastructure.logs import configure_logging

    path = _config_path(args)
    try:
        config = load(path)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return EXIT_CONFIG_ERROR
    configure_logging(config.logging.level, config.logging.format)

    async def main() -> int:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        return await Relay(config).run(stop)

    return asyncio.run(main())


def _cmd_simulate(args: argparse.Namespace) -> int:
    from relay.infrastructure.simulator import run_simulator

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run_simulator(args.captures, args.host, args.port, args.speed))
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from relay.demo import run_demo

    return asyncio.run(run_demo(args.seconds, args.speed))


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    parser = argparse.ArgumentParser(
        prog="relay", description="Crypto market data from venues to NATS JetStream."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run the relay (live venues by default)")
    run.add_argument("--config", help=f"config file (default $RELAY_CONFIG or {DEFAULT_CONFIG})")
    run.set_defaults(func=_cmd_run)

    validate = sub.add_parser("validate", help="check a config file; exit 2 listing every problem")
    validate.add_argument("--config", help="config file")
    validate.set_defaults(func=_cmd_validate)

    simulate = sub.add_parser("simulate", help="serve recorded sessions as a live venue")
    simulate.add_argument("captures", nargs="+", type=Path, help="capture files (*.jsonl)")
    simulate.add_argument("--host", default="127.0.0.1")
    simulate.add_argument("--port", type=int, default=9000, help="0 picks a free port")
    simulate.add_argument("--speed", default="realtime", help="realtime, max or a factor")
    simulate.set_defaults(func=_cmd_simulate)

    demo = sub.add_parser("demo", help="embedded NATS + simulator + relay on shipped recordings")
    demo.add_argument("--seconds", type=float, default=20.0)
    demo.add_argument("--speed", default="realtime", help="simulator speed")
    demo.set_defaults(func=_cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``relay`` command; returns the exit code."""
    args = build_parser().parse_args(argv)
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
