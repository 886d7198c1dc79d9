"""Market data value objects.

Every price, quantity and rate is a :class:`decimal.Decimal` built from the
venue's own decimal string (see :func:`parse_decimal`), never through float.
Times are integer epoch milliseconds and their names end in ``_ms``.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from relay.domain.errors import InvalidValueError


class DataType(enum.Enum):
    """The kinds of event the relay publishes; the value is the subject token."""

    TRADE = "trade"
    TICKER = "ticker"
    L2_ORDERBOOK = "l2_orderbook"
    FUNDING_RATE = "funding_rate"
    LIQUIDATION = "liquidation"
    OPEN_INTEREST = "open_interest"
    CANDLE = "candle"


class Source(enum.Enum):
    """How the relay got an event from the venue; the value is the envelope's ``source``."""

    WS = "ws"
    """From the venue's WebSocket (the default; the envelope leaves ``source`` out)."""
    REST = "rest"
    """A REST poll: data offered only over REST, or the fallback while the WebSocket is down."""


class Side(enum.Enum):
    """Aggressor side of a trade, or the liquidated position's order side."""

    BUY = "BUY"
    SELL = "SELL"


FORBIDDEN_SYMBOL_CHARACTERS = frozenset(".*> \t")


MAX_DECIMAL_EXPONENT = 40
"""Bound on a parsed decimal's exponent and adjusted exponent, either sign.

At most 40 digits after the point and a magnitude below 10**41: every real
price, quantity and rate fits, and no encoder ever formats a value like
``1e999999`` as a million-digit string.
"""


PLAIN_DECIMAL_PATTERN = r"[0-9]{1,41}+(?:\.[0-9]{1,40}+)?+"
"""Unsigned plain decimals (``"7.6110"``) that :func:`parse_decimal` accepts as
they are. The quantifiers are possessive (no backtracking): what follows a run
of digits is never a digit, so they accept the same strings, sooner."""

plain_decimal_match = re.compile(PLAIN_DECIMAL_PATTERN).fullmatch
"""Matches :data:`PLAIN_DECIMAL_PATTERN`: the hot path's shortcut for most venue strings."""


def parse_decimal(field: str, text: object) -> Decimal:
    """Build a finite Decimal of bounded size from a venue's decimal string.

    Args:
        field: name used in the error (``"price"``).
        text: the venue's string, e.g. ``"7.6110"``; ints are accepted too
            (bools are not).

    Returns:
        ``Decimal("7.6110")``: the venue's digits are kept.

    Raises:
        InvalidValueError: ``text`` is not a string or int, is not a decimal,
            is NaN or infinite, or its exponent or adjusted exponent lies
            outside ``-MAX_DECIMAL_EXPONENT..MAX_DECIMAL_EXPONENT`` (40): more
            than 40 digits after the point (``"1e-41"``, ``"0E-50"``) or a
            magnitude of 10**41 or more (``"1e999999"``, a 50-digit integer).
    """
    if type(text) is str and plain_decimal_match(text) is not None:
        return Decimal(text)
    if isinstance(text, str):
        try:
            value = Decimal(text)
        except InvalidOperation:
            raise InvalidValueError(field, text, "not a decimal number") from None
    elif isinstance(text, int) and not isinstance(text, bool):
        value = Decimal(text)
    else:
        raise InvalidValueError(field, text, "expected a decimal string")
    if not value.is_finite():
        raise InvalidValueError(field, text, "not finite")
    exponent = value.as_tuple().exponent
    if (
        not isinstance(exponent, int)
        or not -MAX_DECIMAL_EXPONENT <= exponent <= MAX_DECIMAL_EXPONENT
        or not -MAX_DECIMAL_EXPONENT <= value.adjusted() <= MAX_DECIMAL_EXPONENT
    ):
        raise InvalidValueError(
            field, text, f"exponent beyond +-{MAX_DECIMAL_EXPONENT} (too many digits)"
        )
    return value


def subject_token(canonical_symbol: str) -> str:
    """The subject token of a canonical symbol: ``"BTC/USDT"`` -> ``"btc-usdt"``.

    Raises:
        InvalidValueError: the symbol is empty or holds ``.``, ``*``, ``>`` or
            white space, which would break NATS subject matching.
    """
    if not canonical_symbol:
        raise InvalidValueError("canonical_symbol", canonical_symbol, "empty")
    bad = FORBIDDEN_SYMBOL_CHARACTERS.intersection(canonical_symbol)
    if bad:
        raise InvalidValueError(
            "canonical_symbol",
            canonical_symbol,
            f"must not contain {''.join(sorted(bad))!r} (NATS subject syntax)",
        )
    return canonical_symbol.lower().replace("/", "-")


@dataclass(frozen=True, slots=True)
class Instrument:
    """One instrument of one venue, as configured.

    Attributes:
        venue: venue id (``"binance-usdm"``).
        instrument: the venue's own id (``"SUSHIUSDT"``).
        canonical_symbol: the relay-wide name (``"SUSHI/USDT"``).
        symbol_token: derived subject token (``"sushi-usdt"``).
    """

    venue: str
    instrument: str
    canonical_symbol: str
    symbol_token: str = ""

    def __post_init__(self) -> None:
        if not self.venue or FORBIDDEN_SYMBOL_CHARACTERS.intersection(self.venue):
            raise InvalidValueError("venue", self.venue, "empty or not a subject token")
        if not self.instrument:
            raise InvalidValueError("instrument", self.instrument, "empty")
        object.__setattr__(self, "symbol_token", subject_token(self.canonical_symbol))

    def subject(self, data_type: DataType, prefix: str = "market") -> str:
        """The subject, e.g. ``market.binance-usdm.sushi-usdt.trade``."""
        return f"{prefix}.{self.venue}.{self.symbol_token}.{data_type.value}"


PriceLevel = tuple[Decimal, Decimal]
"""One book level: (price, quantity). Quantity 0 removes the level."""


@dataclass(frozen=True, slots=True)
class Trade:
    """A trade print.

    Attributes:
        trade_id: the venue's trade id (for Binance aggTrade, the aggregate id).
        price, quantity: in quote currency per unit, and in base units (or
            contracts, as the venue counts them).
        side: the aggressor (taker) side.
    """

    trade_id: str
    price: Decimal
    quantity: Decimal
    side: Side


@dataclass(frozen=True, slots=True)
class Ticker:
    """Best bid/ask.

    Attributes:
        bid_price, bid_quantity, ask_price, ask_quantity: top of book.
        update_id: the venue's book update id of this quote, when it sends one.
    """

    bid_price: Decimal
    bid_quantity: Decimal
    ask_price: Decimal
    ask_quantity: Decimal
    update_id: int | None = None


@dataclass(frozen=True, slots=True)
class L2Update:
    """An L2 order book snapshot or delta.

    Attributes:
        bids, asks: (price, quantity) levels; quantity 0 removes the level. A
            snapshot lists every level the relay holds, bids best (highest)
            first, asks best (lowest) first.
        is_snapshot: True when the levels replace the whole book.
        first_update_id, last_update_id: the venue's update id range this
            message covers (for a snapshot both are the snapshot's id).
        snapshot_part, snapshot_parts: a snapshot too large for one message
            is published as parts ``1..snapshot_parts`` in order, each with a
            slice of both sides (part 1 holds the best levels); part 1 replaces
            the book, later parts add their levels, and the book is whole after
            the last one. A snapshot in one message is part 1 of 1; deltas
            carry 1 of 1 and encoders leave the fields out of them. Only
            :func:`relay.application.book_publication.split_snapshot` makes
            parts, and checks them (no check here: this class is built for
            every book message a venue sends).
    """

    bids: tuple[PriceLevel, ...]
    asks: tuple[PriceLevel, ...]
    is_snapshot: bool
    first_update_id: int | None = None
    last_update_id: int | None = None
    snapshot_part: int = 1
    snapshot_parts: int = 1


@dataclass(frozen=True, slots=True)
class FundingRate:
    """A perpetual's funding rate and mark price.

    Attributes:
        rate: funding rate per funding interval, as a fraction (0.0001 = 0.01 %).
        mark_price: mark price, if the venue sends it with the rate.
        index_price: index price, if sent.
        next_funding_time_ms: epoch ms of the next funding, if sent.
    """

    rate: Decimal
    mark_price: Decimal | None = None
    index_price: Decimal | None = None
    next_funding_time_ms: int | None = None


@dataclass(frozen=True, slots=True)
class OpenInterest:
    """Open interest, in contracts or base units as the venue counts them."""

    open_interest: Decimal


@dataclass(frozen=True, slots=True)
class Liquidation:
    """A forced liquidation order.

    Attributes:
        side: the liquidation order's side (SELL liquidates a long).
        price, quantity: order price and quantity.
        order_status: the venue's status word, if sent (``"FILLED"``).
    """

    side: Side
    price: Decimal
    quantity: Decimal
    order_status: str | None = None


@dataclass(frozen=True, slots=True)
class Candle:
    """An OHLCV candle (kline); sent while open and again when closed.

    Attributes:
        interval: the venue's interval word (``"1m"``).
        open_time_ms, close_time_ms: the candle's bounds, epoch ms.
        open, high, low, close: prices.
        volume: base volume; quote_volume: quote volume, if sent.
        trade_count: trades in the candle, if sent.
        is_closed: True when the candle is final.
    """

    interval: str
    open_time_ms: int
    close_time_ms: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal
    is_closed: bool
    quote_volume: Decimal | None = None
    trade_count: int | None = None


Payload = Trade | Ticker | L2Update | FundingRate | OpenInterest | Liquidation | Candle

PAYLOAD_DATA_TYPE: dict[type, DataType] = {
    Trade: DataType.TRADE,
    Ticker: DataType.TICKER,
    L2Update: DataType.L2_ORDERBOOK,
    FundingRate: DataType.FUNDING_RATE,
    OpenInterest: DataType.OPEN_INTEREST,
    Liquidation: DataType.LIQUIDATION,
    Candle: DataType.CANDLE,
}
"""Which data type each payload class is published as."""


@dataclass(frozen=True, slots=True)
class MarketEvent:
    """One normalized event: the envelope published to NATS, less its sequence.

    The relay's ``sequence`` (monotonic per venue, instrument and data type)
    is assigned by the pipeline's sequence tracker and passed to the encoder
    beside the event.

    Attributes:
        instrument: venue, venue-local id and canonical symbol.
        data_type: which payload this is.
        received_at_ms: epoch ms when the relay read the frame.
        exchange_timestamp_ms: the venue's event time, epoch ms, if sent.
        payload: the variant.
        dedup_key: what makes this event unique at the venue (trade id,
            update id, event time); the message id is built from it.
        source: WebSocket (default) or REST poll; not part of the message id, so
            the same trade read both ways has one id.
    """

    instrument: Instrument
    data_type: DataType
    received_at_ms: int
    exchange_timestamp_ms: int | None
    payload: Payload
    dedup_key: str
    source: Source = Source.WS

    @property
    def msg_id(self) -> str:
        """Deterministic ``Nats-Msg-Id``: ``<venue>:<instrument>:<data_type>:<dedup_key>``."""
        i = self.instrument
        return f"{i.venue}:{i.instrument}:{self.data_type.value}:{self.dedup_key}"
