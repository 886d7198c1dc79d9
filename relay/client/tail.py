"""``relay tail``: print the relay's events, or a live top of book, as they arrive.

Built on :class:`~relay.client.client.RelayClient` only (docs/client.md).
"""

from __future__ import annotations

import contextlib
import datetime
import sys
from typing import TextIO

from relay.client.client import ReceivedEvent, RelayClient
from relay.domain.errors import RelayError
from relay.domain.model import Candle, L2Update, MarketEvent, Ticker, Trade
from relay.serialization.json_codec import encode_json


class TailSubjectError(RelayError):
    """A ``relay tail`` subject that is not ``<prefix>.<venue>.<symbol>.<data_type>``."""


def subject_tokens(subject: str) -> tuple[str, str, str, str]:
    """``"market.binance-usdm.*.trade"`` -> ``("market", "binance-usdm", "*", "trade")``.

    Raises:
        TailSubjectError: not four tokens, or a ``>`` wildcard.
    """
    tokens = subject.split(".")
    if len(tokens) != 4 or not all(tokens) or ">" in tokens:
        raise TailSubjectError(
            f"expected <prefix>.<venue>.<symbol>.<data_type> with '*' wildcards, got {subject!r}"
        )
    return tokens[0], tokens[1], tokens[2], tokens[3]


def _summary(event: MarketEvent) -> str:
    p = event.payload
    if isinstance(p, Trade):
        return f"{p.side.value:<4} {p.quantity} @ {p.price}"
    if isinstance(p, Ticker):
        return f"bid {p.bid_quantity} @ {p.bid_price}  ask {p.ask_quantity} @ {p.ask_price}"
    if isinstance(p, L2Update):
        kind = f"snapshot {p.snapshot_part}/{p.snapshot_parts}" if p.is_snapshot else "delta"
        return f"{kind} {len(p.bids)} bids {len(p.asks)} asks"
    if isinstance(p, Candle):
        state = "closed" if p.is_closed else "open"
        return f"{p.interval} o {p.open} h {p.high} l {p.low} c {p.close} v {p.volume} {state}"
    return repr(p)


def format_line(received: ReceivedEvent, as_json: bool) -> str:
    """One output line: the envelope as JSON, or ``time subject #sequence summary``."""
    event = received.event
    if as_json:
        return encode_json(event, received.sequence).decode()
    at = datetime.datetime.fromtimestamp(event.received_at_ms / 1000, tz=datetime.UTC)
    hole = f"  (missed {received.missed})" if received.missed else ""
    return (
        f"{at:%H:%M:%S}.{at.microsecond // 1000:03d}  {received.subject}  "
        f"#{received.sequence}  {_summary(event)}{hole}"
    )


async def tail_events(
    nats_url: str, subject: str, as_json: bool, count: int | None, out: TextIO = sys.stdout
) -> None:
    """Print events of ``subject`` until ``count`` were printed (None: until interrupted).

    Raises:
        TailSubjectError: see :func:`subject_tokens`.
    """
    prefix, venue, symbol, data_type = subject_tokens(subject)
    async with RelayClient(nats_url, subject_prefix=prefix) as client:
        printed = 0
        async with contextlib.aclosing(client.subscribe(venue, symbol, data_type)) as events:
            async for received in events:
                out.write(format_line(received, as_json) + "\n")
                out.flush()
                printed += 1
                if count is not None and printed >= count:
                    return


async def tail_book(
    nats_url: str,
    venue: str,
    symbol: str,
    count: int | None,
    prefix: str = "market",
    out: TextIO = sys.stdout,
) -> None:
    """Print the book's top of book after each change while synced (``count`` lines at most)."""
    async with RelayClient(nats_url, subject_prefix=prefix) as client:
        book = await client.order_book(venue, symbol)
        printed = 0
        async for _ in book.updates():
            if not book.synced:
                out.write(f"#{book.sequence}  not synced (bootstrapping)\n")
                out.flush()
                continue
            bid, ask = book.best_bid, book.best_ask
            bid_text = f"{bid[1]} @ {bid[0]}" if bid else "-"
            ask_text = f"{ask[1]} @ {ask[0]}" if ask else "-"
            out.write(f"#{book.sequence}  bid {bid_text}  ask {ask_text}\n")
            out.flush()
            printed += 1
            if count is not None and printed >= count:
                return
