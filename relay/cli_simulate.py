"""``relay simulate``: its flags (faults) and its command."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from pathlib import Path
from typing import Any

from relay.cli_args import count, positive_count, seconds
from relay.domain.errors import RelayError

EXIT_CONFIG_ERROR = 2


def add_simulate_parser(sub: Any) -> None:
    """Add ``simulate`` to the ``relay`` subcommands (``sub``: argparse's subparsers)."""
    simulate = sub.add_parser(
        "simulate",
        help="serve recorded sessions as a live venue",
        description=(
            "Serve recorded sessions over WebSocket and HTTP on one port, optionally with"
            " faults. Frames are counted per served connection (garbage and poison frames"
            " do not count); --drop-times/--stall-times count connections over the simulator's"
            " life (the first K served). After a skip, and in resume mode, REST depth"
            " snapshots are the book as of the last frame passed (Binance captures)."
        ),
    )
    simulate.add_argument(
        "captures", nargs="+", type=Path, help="capture files (*.jsonl, *.jsonl.zst)"
    )
    simulate.add_argument("--host", default="127.0.0.1")
    simulate.add_argument("--port", type=int, default=9000, help="0 picks a free port")
    simulate.add_argument("--speed", default="realtime", help="realtime, max or a factor")
    faults = simulate.add_argument_group("faults")
    faults.add_argument(
        "--drop-after",
        type=count,
        metavar="N",
        help="close the TCP connection without a close frame (client sees 1006) after N frames",
    )
    faults.add_argument(
        "--drop-times",
        type=positive_count,
        default=1,
        metavar="K",
        help="how many connections --drop-after drops (default 1)",
    )
    faults.add_argument(
        "--stall-after",
        type=count,
        metavar="N",
        help="after N frames stay open but send nothing more",
    )
    faults.add_argument(
        "--stall-times",
        type=positive_count,
        default=1,
        metavar="K",
        help="how many connections --stall-after stalls (default 1)",
    )
    faults.add_argument(
        "--skip-after",
        type=count,
        metavar="N",
        help="once, after N frames, silently skip --skip-frames frames (a sequence gap)",
    )
    faults.add_argument(
        "--skip-frames",
        type=count,
        default=0,
        metavar="M",
        help="how many recorded frames --skip-after leaves out (default 0)",
    )
    faults.add_argument(
        "--garbage-every",
        type=positive_count,
        metavar="N",
        help="after every N frames send a garbage frame (in turn: not JSON, unknown"
        " event, truncated previous frame, random binary)",
    )
    faults.add_argument(
        "--poison-every",
        type=positive_count,
        metavar="N",
        help="after every N frames send a poison frame (in turn: nested 5,000 deep, the"
        " previous frame type-swapped, lists for words, invalid UTF-8, NaN/1e400 prices,"
        " a 1 MB string); every recorded frame is still sent",
    )
    faults.add_argument(
        "--refuse-for",
        type=seconds,
        default=0.0,
        metavar="T",
        help="refuse WebSocket handshakes with HTTP 503 for T seconds from start",
    )
    faults.add_argument(
        "--refuse-ws-after",
        type=seconds,
        default=None,
        metavar="S",
        help="a WebSocket outage mid-session: S seconds after the first WebSocket connection,"
        " drop every open one and refuse handshakes (HTTP 503) for --refuse-ws-for seconds;"
        " REST keeps answering",
    )
    faults.add_argument(
        "--refuse-ws-for",
        type=seconds,
        default=0.0,
        metavar="T",
        help="how long the --refuse-ws-after outage lasts, seconds",
    )
    faults.add_argument(
        "--rest-error",
        type=int,
        choices=(429, 500),
        metavar="429|500",
        help="answer REST requests with this status during --rest-error-for"
        " (429 with Retry-After: 1)",
    )
    faults.add_argument(
        "--rest-error-for",
        type=seconds,
        default=0.0,
        metavar="T",
        help="seconds from start during which REST requests get --rest-error",
    )
    faults.add_argument(
        "--reconnect",
        choices=("restart", "resume"),
        default="restart",
        help="a reconnecting client gets the recording from its first frame (restart,"
        " default) or where real time would be, frames meanwhile lost (resume)",
    )
    simulate.set_defaults(func=_cmd_simulate)


def _cmd_simulate(args: argparse.Namespace) -> int:
    from relay.sim.errors import SimulatorError
    from relay.sim.faults import Faults
    from relay.sim.server import run_simulator

    try:
        faults = Faults(
            drop_after_frames=args.drop_after,
            drop_times=args.drop_times,
            stall_after_frames=args.stall_after,
            stall_times=args.stall_times,
            skip_after_frames=args.skip_after,
            skip_frames=args.skip_frames,
            garbage_every=args.garbage_every,
            poison_every=args.poison_every,
            refuse_for_s=args.refuse_for,
            refuse_ws_after_s=args.refuse_ws_after,
            refuse_ws_for_s=args.refuse_ws_for,
            rest_error_status=args.rest_error,
            rest_error_for_s=args.rest_error_for,
            reconnect=args.reconnect,
        )
    except SimulatorError as exc:
        print(f"relay simulate: {exc}", file=sys.stderr)
        return EXIT_CONFIG_ERROR
    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(run_simulator(args.captures, args.host, args.port, args.speed, faults))
    except (RelayError, OSError) as exc:
        print(f"relay simulate: {exc}", file=sys.stderr)
        return EXIT_CONFIG_ERROR
    return 0
