"""The codec port: how a :class:`~relay.domain.model.MarketEvent` becomes message bytes.

Two formats carry the same envelope (see ``docs/wire-format.md``):

- ``"json"``: compact UTF-8 JSON, ``Content-Type: application/json``
  (:mod:`relay.serialization.json_codec`);
- ``"protobuf"``: ``relay.v1.MarketEvent`` from ``proto/market_data.proto``,
  ``Content-Type: application/protobuf`` (:mod:`relay.serialization.protobuf_codec`).

Both decode back to the same plain dict, the *wire dict*: the JSON document as
:func:`orjson.loads` returns it. This module is the leaf of the package: the
codecs import their shared pieces from here and it imports none of them
(:func:`relay.serialization.formats.codec_for` picks a codec by name).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Final, Protocol

from relay.domain.errors import RelayError
from relay.domain.model import (
    Candle,
    FundingRate,
    L2Update,
    Liquidation,
    MarketEvent,
    OpenInterest,
    Ticker,
    Trade,
)

WireDict = dict[str, Any]
"""A decoded envelope: ``{"venue": ..., "payload": {"type": "trade", ...}}``."""

JSON_CONTENT_TYPE: Final = "application/json"
PROTOBUF_CONTENT_TYPE: Final = "application/protobuf"

PAYLOAD_TYPE: Final[dict[type, str]] = {
    Trade: "trade",
    Ticker: "ticker",
    L2Update: "l2_update",
    FundingRate: "funding_rate",
    OpenInterest: "open_interest",
    Liquidation: "liquidation",
    Candle: "candle",
}
"""The ``payload.type`` word of each payload class (``L2Update`` -> ``"l2_update"``)."""

ENVELOPE_KEYS: Final = (
    "venue",
    "instrument",
    "canonical_symbol",
    "data_type",
    "received_at",
    "exchange_timestamp",
    "sequence",
    "payload",
)
"""The envelope's keys, in the order the JSON codec writes them (a WebSocket event's).

An event from a REST poll has one more, :data:`SOURCE_KEY`, after ``sequence``."""

SOURCE_KEY: Final = "source"
"""The envelope key naming a REST-polled event's source (``"rest"``); absent means ``"ws"``."""


class UnsupportedPayloadError(RelayError):
    """The event's payload is not one of the seven payload classes.

    Attributes:
        payload_type: the class that was found.
    """

    def __init__(self, payload_type: type) -> None:
        super().__init__(f"no wire encoding for payload {payload_type.__qualname__}")
        self.payload_type = payload_type


class WireDecodeError(RelayError):
    """Bytes are not a well-formed envelope of the codec's format.

    Attributes:
        content_type: the format that was expected.
        reason: what was wrong.
    """

    def __init__(self, content_type: str, reason: str) -> None:
        super().__init__(f"not a {content_type} market event: {reason}")
        self.content_type = content_type
        self.reason = reason


class Codec(Protocol):
    """Encodes events for publishing and decodes them back to wire dicts.

    Implementations are stateless and pure: no I/O, safe to share.
    """

    @property
    def content_type(self) -> str:
        """The ``Content-Type`` header value (``"application/json"``)."""
        ...

    def encode(self, event: MarketEvent, sequence: int) -> bytes:
        """The message body of ``event`` with the relay's ``sequence`` (>= 0).

        Raises:
            InvalidValueError: ``sequence`` is negative.
            UnsupportedPayloadError: the payload is not a known payload class.
        """
        ...

    def decode(self, data: bytes) -> WireDict:
        """The wire dict of a message body this codec (or a peer) encoded.

        Raises:
            WireDecodeError: ``data`` is not an envelope of this format.
        """
        ...


def decimal_text(value: Decimal) -> str:
    """The wire text of a decimal: the venue's digits, never exponent notation.

    ``Decimal("7.6110")`` -> ``"7.6110"``; ``Decimal("0.00000063")`` (whose
    ``str`` is ``"6.3E-7"``) -> ``"0.00000063"``; ``Decimal("1E+1")`` -> ``"10"``.
    """
    text = str(value)
    if "E" in text:
        return format(value, "f")
    return text
