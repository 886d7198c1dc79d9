"""Structured logs: one JSON object per line on stderr (or plain text).

Fields passed with ``extra={...}`` become top-level keys of the JSON line:
``{"ts": "2026-11-22T01:02:03.456Z", "level": "WARNING", "logger": "relay.venue",
"msg": "book resync", "venue": "binance-usdm", "instrument": "SUSHIUSDT", "reason": "gap"}``;
in text, ``key=value`` pairs after the message:
``2026-11-22T01:02:03.456Z WARNING relay.venue book resync venue=binance-usdm
instrument=SUSHIUSDT reason=gap``.

uvicorn's loggers (``uvicorn``, ``uvicorn.error``, ``uvicorn.access``) write
through the same formatter (the HTTP server is started with ``log_config=None``,
so uvicorn installs no handler of its own); their WARNING and ERROR lines are
rate-limited (:class:`RateLimitFilter`): a client sending bad requests in a
loop gives one line per :data:`HTTP_ERROR_LOG_INTERVAL_S`, with the count of
lines held back as ``suppressed``. asyncio's logger goes through the same
rate-limited handler: when the process runs out of file descriptors, asyncio's
accept loop reports ``socket.accept() out of system resource`` (with a
traceback) once per attempt, which would otherwise flood the log.
"""

from __future__ import annotations

import logging
import sys
import time

import orjson

from relay.application.log_rate_limit import LogRateLimit
from relay.config.model import LogFormat

_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}

UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")
"""uvicorn's loggers; configured to write through the relay's handler."""

HTTP_ERROR_LOG_INTERVAL_S = 10.0
"""Least seconds between two WARNING/ERROR lines of one uvicorn logger and message."""


def _timestamp(record: logging.LogRecord) -> str:
    return (
        time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        + f".{int(record.msecs):03d}Z"
    )


def _extras(record: logging.LogRecord) -> dict[str, object]:
    """The record's ``extra`` fields, in the order they were given."""
    return {
        key: value
        for key, value in vars(record).items()
        if key not in _STANDARD and not key.startswith("_")
    }


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON line with its ``extra`` fields."""

    def format(self, record: logging.LogRecord) -> str:
        """The JSON line for ``record``."""
        document: dict[str, object] = {
            "ts": _timestamp(record),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        document.update(_extras(record))
        if record.exc_info:
            document["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(document, default=str).decode()


class TextFormatter(logging.Formatter):
    """Formats a record as one line: time, level, logger, message, then ``key=value`` extras.

    ``2026-11-22T01:02:03.456Z WARNING relay.venue order book resync venue=okx
    instrument=BTC-USDT reason=gap``. A value that is empty or holds spaces,
    quotes, ``=`` or control characters is written as a JSON string
    (``error="HTTP 503"``); an exception's traceback follows on the next lines.
    """

    def format(self, record: logging.LogRecord) -> str:
        """The text line for ``record``."""
        parts = [_timestamp(record), record.levelname, record.name, record.getMessage()]
        parts.extend(f"{key}={_text_value(value)}" for key, value in _extras(record).items())
        line = " ".join(parts)
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def _text_value(value: object) -> str:
    text = str(value)
    if not text or any(c.isspace() or c in '"=\\' or not c.isprintable() for c in text):
        return orjson.dumps(text).decode()
    return text


class RateLimitFilter(logging.Filter):
    """Lets through at most one WARNING-or-above record per (logger, message) every interval.

    Records below WARNING pass untouched. A record let through after others of
    its key were held back carries their count as ``suppressed`` (0 when none
    were). The message is the unformatted template (``record.msg``), so lines
    differing only in their arguments count as one.

    Args:
        limit: the rate limit (its interval and clock).
    """

    def __init__(self, limit: LogRateLimit) -> None:
        super().__init__()
        self._limit = limit

    def filter(self, record: logging.LogRecord) -> bool:
        """False: hold the record back."""
        if record.levelno < logging.WARNING:
            return True
        suppressed = self._limit.allow((record.name, str(record.msg)))
        if suppressed is None:
            return False
        record.suppressed = suppressed
        return True


def configure_logging(
    level: str = "INFO",
    fmt: LogFormat = LogFormat.JSON,
    http_error_limit: LogRateLimit | None = None,
) -> None:
    """Send the ``relay``, uvicorn and asyncio loggers to stderr at ``level`` (JSON or text).

    uvicorn's and asyncio's WARNING and ERROR lines go through a :class:`RateLimitFilter`
    (``http_error_limit``; default: one line per logger and message every
    :data:`HTTP_ERROR_LOG_INTERVAL_S`).
    """
    formatter: logging.Formatter = JsonFormatter() if fmt is LogFormat.JSON else TextFormatter()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger("relay")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False
    http_handler = logging.StreamHandler(sys.stderr)
    http_handler.setFormatter(formatter)
    http_handler.addFilter(
        RateLimitFilter(http_error_limit or LogRateLimit(HTTP_ERROR_LOG_INTERVAL_S))
    )
    uvicorn_root = logging.getLogger(UVICORN_LOGGERS[0])
    uvicorn_root.handlers[:] = [http_handler]
    uvicorn_root.propagate = False
    for name in UVICORN_LOGGERS[1:]:
        child = logging.getLogger(name)
        child.handlers[:] = []
        child.propagate = True
    asyncio_logger = logging.getLogger("asyncio")
    asyncio_logger.handlers[:] = [http_handler]
    asyncio_logger.propagate = False
