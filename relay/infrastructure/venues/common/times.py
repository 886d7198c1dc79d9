"""Venue time formats -> epoch milliseconds.

Most venues send epoch milliseconds as integers (read by
:func:`relay.infrastructure.venues.common.wire.integer`). Three send RFC 3339
text in UTC, all in the one form :func:`rfc3339_ms` reads:

- Kraken spot WebSocket v2 (``"2023-09-25T07:48:36.925533Z"``):
  https://docs.kraken.com/api/docs/websocket-v2/trade
- Coinbase Advanced Trade (``"2023-02-09T20:32:50.714964855Z"``, nanoseconds):
  https://docs.cdp.coinbase.com/coinbase-app/advanced-trade-apis/websocket/websocket-channels
- Coinbase Exchange (``"2021-04-17T16:43:37.075687Z"``):
  https://docs.cdp.coinbase.com/exchange/websocket-feed/channels
"""

from __future__ import annotations

import calendar
import re
from datetime import datetime
from typing import Any

from relay.domain.errors import InvalidValueError

_RFC3339_UTC = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[T ]([0-9]{2}):([0-9]{2}):([0-9]{2})"
    r"(?:\.([0-9]{1,9}))?(?:Z|\+00:00)"
).fullmatch


def rfc3339_ms(field: str, raw: Any) -> int:
    """An RFC 3339 UTC time -> epoch ms, the fraction cut (not rounded) to milliseconds.

    Form: ``YYYY-MM-DDTHH:MM:SS[.f]Z`` with 1 to 9 fraction digits; RFC 3339
    also allows a space for ``T`` and ``+00:00`` for ``Z`` (section 5.6), both taken.

    >>> rfc3339_ms("time", "2023-02-09T20:32:50.714964855Z")
    1675974770714

    Raises:
        InvalidValueError: not a string of that form (``expected an RFC 3339 UTC
            time``), or no such date or time of day (``not a valid time``).
    """
    match = _RFC3339_UTC(raw) if isinstance(raw, str) else None
    if match is None:
        raise InvalidValueError(field, raw, "expected an RFC 3339 UTC time")
    year, month, day, hour, minute, second = (int(part) for part in match.groups()[:6])
    try:
        datetime(year, month, day, hour, minute, second)
    except ValueError:
        raise InvalidValueError(field, raw, "not a valid time") from None
    seconds = calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0))
    millis = int((match.group(7) or "0")[:3].ljust(3, "0"))
    return seconds * 1000 + millis
