"""Parts shared by the end-to-end tests: processes, config, and the checks against recordings.

``verify_jetstream`` reads nothing from the relay's code: it compares what
JetStream stored with the recorded frames (trades, tickers and candles one for
one with equal values; each order book rebuilt from the published snapshot and
deltas equal to the book built independently from the recorded REST snapshot
plus diffs; sequences without holes; message ids unique).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import resource
import signal
import sys
import time
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import betterproto
import nats
import orjson

from relay.bootstrap import Relay
from relay.config.loader import parse_config
from relay.infrastructure.embedded_nats import free_port
from relay.infrastructure.venues.registry import supported_data_types
from relay.serialization.generated import market_data as pb
from support.reference_books import CAPTURES, binance_books, recv_payloads

USDM = {
    "SUSHIUSDT": "SUSHI/USDT",
    "AKROUSDT": "AKRO/USDT",
    "KEEPUSDT": "KEEP/USDT",
    "CTKUSDT": "CTK/USDT",
}
SPOT = {"NKNUSDT": "NKN/USDT", "BLZETH": "BLZ/ETH", "LRCBTC": "LRC/BTC", "RUNEEUR": "RUNE/EUR"}
COINM = {
    "XRPUSD_PERP": "XRP/USD:PERP",
    "ETCUSD_PERP": "ETC/USD:PERP",
    "ETHUSD_210924": "ETH/USD:210924",
    "BCHUSD_PERP": "BCH/USD:PERP",
    "LINKUSD_PERP": "LINK/USD:PERP",
    "EOSUSD_PERP": "EOS/USD:PERP",
    "BTCUSD_211231": "BTC/USD:211231",
    "TRXUSD_PERP": "TRX/USD:PERP",
    "LINKUSD_211231": "LINK/USD:211231",
    "BCHUSD_210924": "BCH/USD:210924",
}
ALL_VENUES = {
    "binance-usdm": ("binance-usdm.jsonl", USDM, True),
    "binance-spot": ("binance-spot.jsonl", SPOT, False),
}
VENUES = ALL_VENUES
BINANCE_VENUES = {**ALL_VENUES, "binance-coinm": ("binance-coinm.jsonl", COINM, True)}
"""Every recorded Binance capture (the default runs use ALL_VENUES)."""


def relay_header(
    nats_url: str, http_port: int, fmt: str = "json", log_level: str = "INFO", nats: str = ""
) -> str:
    """The relay TOML of every end-to-end run, before its ``[[venues]]``: NATS at
    ``nats_url`` with a file stream ``MARKET`` on ``market.>``, ``fmt`` serialization,
    ``/health`` and ``/metrics`` on ``127.0.0.1:http_port``, JSON logs at ``log_level``.

    ``nats``: further ``[nats]`` keys, one per line (``"ack_timeout_s = 2"``).
    """
    return f"""
[nats]
urls = ["{nats_url}"]
{nats}
[[nats.streams]]
name = "MARKET"
subjects = ["market.>"]
storage = "file"
[serialization]
format = "{fmt}"
[http]
listen = "127.0.0.1:{http_port}"
[logging]
level = "{log_level}"
"""


def config_text(
    nats_url: str,
    sim: str,
    http_port: int,
    fmt: str,
    venues: tuple[str, ...] = tuple(ALL_VENUES),
    nats: str = "",
) -> str:
    """Relay TOML for the Binance captures ``venues`` served by the simulator at ``sim``
    (``host:port``), every recorded symbol with trades, tickers, books and candles;
    ``nats``: as :func:`relay_header`."""
    parts = [relay_header(nats_url, http_port, fmt, nats=nats)]
    for venue in venues:
        _, symbols, _ = BINANCE_VENUES[venue]
        parts.append(f"""
[[venues]]
id = "{venue}"
ws_url = "ws://{sim}/{venue}/stream"
rest_url = "http://{sim}/{venue}"
""")
        for instrument, canonical in symbols.items():
            parts.append(f"""
[[venues.subscriptions]]
instrument = "{instrument}"
canonical_symbol = "{canonical}"
data_types = ["trade", "ticker", "l2_orderbook", "candle"]
""")
    return "".join(parts)


@contextlib.asynccontextmanager
async def simulator_process(
    *args: str, speed: str = "max", options: tuple[str, ...] = ()
) -> AsyncIterator[str]:
    """``relay simulate`` as a child process on the given captures; yields ``host:port``.

    ``options``: further command-line options (``("--reconnect", "resume")``).
    """
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "relay.cli",
        "simulate",
        *[str(CAPTURES / name) for name in args],
        "--port",
        "0",
        "--speed",
        speed,
        *options,
        stdout=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    try:
        line = (await asyncio.wait_for(process.stdout.readline(), 30)).decode()
        match = re.search(r"ws://([\d.]+:\d+)", line)
        assert match, line
        yield match.group(1)
    finally:
        process.terminate()
        await process.wait()


async def start_relay(config: Path, fd_limit: int | None = None) -> asyncio.subprocess.Process:
    """``relay run --config CONFIG`` as a child process (stderr piped).

    ``fd_limit``: its ``RLIMIT_NOFILE`` (soft and hard), as a host with a low limit would set it.
    """

    def limit_fds() -> None:
        if fd_limit is not None:
            resource.setrlimit(resource.RLIMIT_NOFILE, (fd_limit, fd_limit))

    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "relay.cli",
        "run",
        "--config",
        str(config),
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        preexec_fn=limit_fds if fd_limit is not None else None,
    )


async def stop_relay(relay: asyncio.subprocess.Process) -> str:
    """SIGTERM the relay (unless it already ended), wait for it, return its stderr.

    A relay that ended on its own is not an error here: the caller's check of its
    ``returncode`` shows the stderr returned, which says why."""
    with contextlib.suppress(ProcessLookupError):
        relay.send_signal(signal.SIGTERM)
    _, stderr = await asyncio.wait_for(relay.communicate(), 60)
    return stderr.decode()


async def until(
    condition: Callable[[], Awaitable[bool]], what: str, timeout_s: float = 30.0
) -> None:
    """Poll ``condition`` every 50 ms until it holds; fail after ``timeout_s`` naming ``what``."""
    deadline = time.monotonic() + timeout_s
    while not await condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


Stored = list[tuple[str, dict[str, str], bytes]]


async def stored_messages(
    nats_url: str, expected: int, polls: int = 600, **connect_options: Any
) -> Stored:
    """Every message of stream MARKET once it holds at least ``expected`` and its count has
    not moved for a second (subject, headers, data).

    A stream that does not answer (a cluster electing a leader) is asked again.

    Raises:
        AssertionError: the stream still held fewer than ``expected`` after ``polls``
            polls 100 ms apart.

    ``connect_options``: nats-py ``connect`` keywords (credentials, ``tls``).
    """
    nc = await nats.connect(nats_url, **connect_options)
    js = nc.jetstream()
    last, stable = -1, 0
    for _ in range(polls):
        try:
            count = (await js.stream_info("MARKET")).state.messages
        except nats.js.errors.NotFoundError:
            count = 0
        except (nats.errors.TimeoutError, nats.js.errors.ServiceUnavailableError):
            stable = 0
            await asyncio.sleep(0.1)
            continue
        stable = stable + 1 if count == last and count >= expected else 0
        if stable >= 10:
            break
        last = count
        await asyncio.sleep(0.1)
    if last < expected:
        await nc.close()
        raise AssertionError(
            f"stream MARKET holds {last} messages, fewer than the {expected} expected, "
            f"after {polls / 10:g} s"
        )
    messages: Stored = []
    if last > 0:
        # One ordered consumer delivers them in stream order (one request per message
        # through the JetStream API took seconds for the 10,000 of Coinbase Exchange).
        subject = (await js.stream_info("MARKET")).config.subjects or [">"]
        subscription = await js.subscribe(subject[0], stream="MARKET", ordered_consumer=True)
        for _ in range(last):
            msg = await subscription.next_msg(timeout=30)
            messages.append((msg.subject, dict(msg.headers or {}), msg.data))
        await subscription.unsubscribe()
    await nc.close()
    return messages


WireBook = tuple[dict[Decimal, Decimal], dict[Decimal, Decimal]]
"""(bids, asks): price -> quantity, as a consumer holds a book."""


def starts_snapshot(update: dict[str, Any]) -> bool:
    """A snapshot's first (or only) part: where a consumer starts the book afresh (the
    later parts of a split snapshot add to it; docs/wire-format.md, ``snapshot_part``)."""
    return bool(update["is_snapshot"]) and (update.get("snapshot_part") or 1) == 1


def wire_book(updates: list[dict[str, Any]]) -> WireBook:
    """The book a consumer rebuilds from published ``l2_update`` payloads, in order: a
    snapshot's first part starts it afresh, a quantity of 0 removes the level
    (docs/wire-format.md)."""
    book: WireBook = ({}, {})
    for update in updates:
        if starts_snapshot(update):
            book = ({}, {})
        for side, levels in zip(book, (update["bids"], update["asks"]), strict=True):
            for price, quantity in levels:
                if Decimal(quantity) == 0:
                    side.pop(Decimal(price), None)
                else:
                    side[Decimal(price)] = Decimal(quantity)
    return book


def decode(data: bytes, fmt: str) -> dict[str, Any]:
    """The envelope as a dict; protobuf is parsed with the betterproto classes."""
    if fmt == "json":
        return dict(orjson.loads(data))
    event = pb.MarketEvent().parse(data)
    kind = next(
        k
        for k in ("trade", "ticker", "l2_update", "candle")
        if betterproto.which_one_of(event, "payload")[0] == k
    )
    payload = getattr(event, kind)
    if kind == "l2_update":
        body: dict[str, Any] = {
            "bids": [[level.price, level.quantity] for level in payload.bids],
            "asks": [[level.price, level.quantity] for level in payload.asks],
            "is_snapshot": payload.is_snapshot,
        }
    else:
        body = payload.to_pydict(casing=betterproto.Casing.SNAKE, include_default_values=True)
    body["type"] = kind
    return {
        "venue": event.venue,
        "instrument": event.instrument,
        "canonical_symbol": event.canonical_symbol,
        "data_type": event.data_type,
        "sequence": event.sequence,
        "payload": body,
    }


def expected_counts(venues: tuple[str, ...] = tuple(ALL_VENUES)) -> int:
    """Recorded frames other than depth diffs: the least JetStream must end up holding."""
    total = 0
    for venue in venues:
        capture, _, _ = BINANCE_VENUES[venue]
        for frame in recv_payloads(capture):
            if frame["data"].get("e") != "depthUpdate":
                total += 1
    return total


def verify_jetstream(
    messages: Stored,
    fmt: str,
    venues: tuple[str, ...] = tuple(ALL_VENUES),
    skipped: range = range(0),
) -> Counter[str]:
    """Check stored messages against the recordings; returns counts per data type.

    ``l2_snapshot`` counts the snapshot messages among the ``l2_orderbook`` ones:
    one per book when nothing was resynced; a later snapshot replaces the book.
    ``skipped``: indices of recorded frames (of the first venue) the venue never
    delivered; their trades, tickers and candles are not expected, while the
    books must still equal the full recording's (a resync catches up).
    """
    content_type = "application/json" if fmt == "json" else "application/protobuf"
    assert {h["Content-Type"] for _, h, _ in messages} == {content_type}
    msg_ids = [h["Nats-Msg-Id"] for _, h, _ in messages]
    assert len(msg_ids) == len(set(msg_ids))

    envelopes = [(subject, decode(data, fmt)) for subject, _, data in messages]
    by_stream: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
    for subject, env in envelopes:
        token = env["canonical_symbol"].lower().replace("/", "-")
        assert subject == f"market.{env['venue']}.{token}.{env['data_type']}"
        by_stream[(env["venue"], env["instrument"], env["data_type"])].append(env)
    for stream, envs in by_stream.items():
        assert [e["sequence"] for e in envs] == list(range(1, len(envs) + 1)), stream

    seen: Counter[str] = Counter()
    for venue in venues:
        capture, symbols, futures = BINANCE_VENUES[venue]
        frames = [
            f["data"]
            for i, f in enumerate(recv_payloads(capture))
            if venue != venues[0] or i not in skipped
        ]
        for instrument in symbols:
            mine = [
                f
                for f in frames
                if f.get("s") == instrument or f.get("k", {}).get("s") == instrument
            ]
            trades = [
                (str(f["a"]), f["p"], f["q"], "SELL" if f["m"] else "BUY")
                for f in mine
                if f.get("e") == "aggTrade"
            ]
            got_trades = [
                (
                    e["payload"]["trade_id"],
                    e["payload"]["price"],
                    e["payload"]["quantity"],
                    e["payload"]["side"],
                )
                for e in by_stream[(venue, instrument, "trade")]
            ]
            assert got_trades == trades
            tickers = [
                (f["b"], f["B"], f["a"], f["A"])
                for f in mine
                if f.get("e", "bookTicker") == "bookTicker" and "B" in f
            ]
            got_tickers = [
                (
                    e["payload"]["bid_price"],
                    e["payload"]["bid_quantity"],
                    e["payload"]["ask_price"],
                    e["payload"]["ask_quantity"],
                )
                for e in by_stream[(venue, instrument, "ticker")]
            ]
            assert got_tickers == tickers
            candles = [
                (f["k"]["t"], f["k"]["o"], f["k"]["h"], f["k"]["l"], f["k"]["c"], f["k"]["v"])
                for f in mine
                if f.get("e") == "kline"
            ]
            got_candles = [
                (
                    e["payload"]["open_time"],
                    e["payload"]["open"],
                    e["payload"]["high"],
                    e["payload"]["low"],
                    e["payload"]["close"],
                    e["payload"]["volume"],
                )
                for e in by_stream[(venue, instrument, "candle")]
            ]
            assert got_candles == candles
            seen["trade"] += len(trades)
            seen["ticker"] += len(tickers)
            seen["candle"] += len(candles)

        reference = binance_books(capture, futures)
        for instrument in symbols:
            updates = by_stream[(venue, instrument, "l2_orderbook")]
            assert updates[0]["payload"]["is_snapshot"] is True
            seen["l2_snapshot"] += sum(1 for u in updates if u["payload"]["is_snapshot"])
            payloads = [update["payload"] for update in updates]
            assert all(payload["type"] == "l2_update" for payload in payloads)
            assert wire_book(payloads) == reference[instrument], instrument
            seen["l2_orderbook"] += len(updates)
    assert len(envelopes) == sum(seen.values()) - seen["l2_snapshot"]
    print(
        f"\n{fmt}: {len(envelopes)} messages in JetStream: {dict(seen)}; "
        f"{len(by_stream)} streams, sequences without holes"
    )
    return seen


@contextlib.asynccontextmanager
async def relay_in_process(
    nats_url: str, simulator_address: str, venues: tuple[str, ...], venue_settings: str = ""
) -> AsyncIterator[Relay]:
    """A :class:`Relay` running in this event loop against a simulator; stopped on exit.

    ``venue_settings`` is TOML inserted in every ``[[venues]]`` table.
    """
    text = config_text(nats_url, simulator_address, free_port(), "json", venues)
    if venue_settings:
        text = text.replace("rest_url = ", venue_settings.strip() + "\nrest_url = ")
    relay = Relay(parse_config(text, source="<test>", venues=supported_data_types()))
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))
    try:
        yield relay
    finally:
        stop.set()
        assert await task == 0


def sample(relay: Relay, name: str, **labels: str) -> float:
    """A metric's value (0 when never set)."""
    value = relay.metrics.registry.get_sample_value(name, labels)
    return 0.0 if value is None else value
