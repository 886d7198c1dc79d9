"""``relay streams list|add|remove|pause|resume``: the control API (docs/control.md) from a shell.

Each command is one HTTP request to ``--url`` (default ``$RELAY_URL``, else
``http://127.0.0.1:8080``) with the bearer token of ``--token`` (default
``$RELAY_CONTROL_TOKEN``). A refusal is printed as one line on stderr,
``relay streams: <status>: <path>: <message>; ...``, exit code 1; an
unreachable relay likewise.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any
from urllib.parse import quote

import httpx
import orjson

DEFAULT_URL = "http://127.0.0.1:8080"
EXIT_REFUSED = 1
TIMEOUT_S = 10.0

_COLUMNS = (
    ("VENUE", "venue"),
    ("INSTRUMENT", "instrument"),
    ("DATA_TYPE", "data_type"),
    ("STATE", "state"),
    ("EV/S", "events_per_s"),
    ("EVENTS", "events_total"),
    ("AGE_S", "last_event_age_s"),
    ("RESYNCS", "resyncs"),
    ("ORIGIN", "origin"),
)


class Refused(Exception):
    """The relay refused the request or could not be reached; the message is one line."""


def _request(args: argparse.Namespace, method: str, path: str, body: object = None) -> Any:
    token = args.token if args.token is not None else os.environ.get("RELAY_CONTROL_TOKEN", "")
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    url = args.url.rstrip("/") + "/api/v1" + path
    try:
        response = httpx.request(
            method,
            url,
            headers=headers,
            content=None if body is None else orjson.dumps(body),
            timeout=TIMEOUT_S,
        )
    except httpx.HTTPError as exc:
        raise Refused(f"cannot reach {args.url}: {exc}") from None
    try:
        answer = orjson.loads(response.content) if response.content else None
    except orjson.JSONDecodeError:
        answer = None
    if response.status_code >= 400:
        problems = answer.get("problems") if isinstance(answer, dict) else None
        if isinstance(problems, list) and problems:
            text = "; ".join(
                f"{p.get('path')}: {p.get('message')}" if p.get("path") else str(p.get("message"))
                for p in problems
                if isinstance(p, dict)
            )
        else:
            text = response.reason_phrase or "error"
        raise Refused(f"{response.status_code}: {text}")
    return answer


def _table(rows: list[dict[str, Any]]) -> str:
    cells = [[h for h, _ in _COLUMNS]] + [
        ["-" if row.get(k) is None else str(row.get(k)) for _, k in _COLUMNS] for row in rows
    ]
    widths = [max(len(r[i]) for r in cells) for i in range(len(_COLUMNS))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells
    )


def _stream_path(venue: str, instrument: str) -> str:
    return f"/streams/{quote(venue, safe='')}/{quote(instrument, safe='/')}"


def _run(args: argparse.Namespace) -> None:
    action = args.action
    if action == "list":
        answer = _request(args, "GET", "/streams")
        rows = answer["streams"]
        print(orjson.dumps(answer).decode() if args.json else _table(rows))
    elif action == "add":
        body: dict[str, object] = {
            "venue": args.venue,
            "instrument": args.instrument,
            "canonical_symbol": args.canonical_symbol,
            "data_types": args.data_types,
        }
        if args.depth is not None:
            body["depth"] = args.depth
        if args.candle_interval is not None:
            body["candle_interval"] = args.candle_interval
        answer = _request(args, "POST", "/streams", body)
        for row in answer["streams"]:
            print(f"added {row['venue']} {row['instrument']} {row['data_type']}")
    elif action == "remove":
        path = _stream_path(args.venue, args.instrument)
        if args.data_type:
            path += f"?data_type={quote(args.data_type)}"
        answer = _request(args, "DELETE", path)
        for key in answer["removed"]:
            print(f"removed {key['venue']} {key['instrument']} {key['data_type']}")
    else:
        paused = action == "pause"
        path = _stream_path(args.venue, args.instrument) + f"/{quote(args.data_type, safe='')}"
        row = _request(args, "PATCH", path, {"paused": paused})
        print(f"{row['venue']} {row['instrument']} {row['data_type']}: {row['state']}")


def cmd_streams(args: argparse.Namespace) -> int:
    """Run one ``relay streams`` action; 0, or :data:`EXIT_REFUSED` after one line on stderr."""
    try:
        _run(args)
    except Refused as exc:
        print(f"relay streams: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    return 0


def add_streams_parser(sub: Any) -> None:
    """Add ``relay streams ...`` to the ``relay`` command's subparsers."""
    streams = sub.add_parser(
        "streams", help="list, add, remove, pause and resume streams of a running relay"
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--url",
        default=os.environ.get("RELAY_URL", DEFAULT_URL),
        help=f"the relay's HTTP address (default $RELAY_URL, else {DEFAULT_URL})",
    )
    common.add_argument("--token", default=None, help="bearer token (default $RELAY_CONTROL_TOKEN)")
    actions = streams.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", parents=[common], help="every stream and its state")
    listing.add_argument("--json", action="store_true", help="the API's JSON answer")
    add = actions.add_parser("add", parents=[common], help="subscribe an instrument's data types")
    add.add_argument("venue")
    add.add_argument("instrument")
    add.add_argument("canonical_symbol")
    add.add_argument("data_types", nargs="+", metavar="DATA_TYPE")
    add.add_argument("--depth", type=int, default=None, help="published book depth")
    add.add_argument("--candle-interval", default=None, help="candle interval (1m)")
    remove = actions.add_parser("remove", parents=[common], help="unsubscribe an instrument")
    remove.add_argument("venue")
    remove.add_argument("instrument")
    remove.add_argument("--data-type", default=None, help="only this data type")
    for name, text in (("pause", "read but do not publish"), ("resume", "publish again")):
        knob = actions.add_parser(name, parents=[common], help=text)
        knob.add_argument("venue")
        knob.add_argument("instrument")
        knob.add_argument("data_type")
    streams.set_defaults(func=cmd_streams)
