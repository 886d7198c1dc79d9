"""Log lines: text shows the structured fields; uvicorn's and asyncio's error lines are
rate-limited and written by the relay's formatter."""

from __future__ import annotations

import asyncio
import errno
import logging
from collections.abc import Iterator

import orjson
import pytest

from relay.application.log_rate_limit import LogRateLimit
from relay.config.model import LogFormat
from relay.infrastructure.logs import (
    UVICORN_LOGGERS,
    JsonFormatter,
    RateLimitFilter,
    TextFormatter,
    configure_logging,
)


class Lines(logging.Handler):
    def __init__(self, formatter: logging.Formatter) -> None:
        super().__init__()
        self.setFormatter(formatter)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def logger() -> Iterator[logging.Logger]:
    log = logging.getLogger("relay.test_log_format")
    log.setLevel(logging.DEBUG)
    log.propagate = False
    yield log
    log.handlers.clear()


class FakeClock:
    def __init__(self) -> None:
        self.now = 50.0

    def __call__(self) -> float:
        return self.now


def test_text_lines_carry_the_extra_fields_as_key_value_pairs(logger: logging.Logger) -> None:
    handler = Lines(TextFormatter())
    logger.addHandler(handler)
    logger.warning(
        "order book resync", extra={"venue": "okx", "instrument": "BTC-USDT", "reason": "gap"}
    )
    logger.error(
        "snapshot request failed, retrying",
        extra={"venue": "okx", "error": 'HTTP 503 "busy"', "wait_s": 0.5, "url": ""},
    )
    logger.info("plain")
    timestamps = [line.split(" ", 1)[0] for line in handler.lines]
    assert all(len(ts) == 24 and ts.endswith("Z") and ts[10] == "T" for ts in timestamps)
    assert [line.split(" ", 1)[1] for line in handler.lines] == [
        "WARNING relay.test_log_format order book resync venue=okx instrument=BTC-USDT reason=gap",
        "ERROR relay.test_log_format snapshot request failed, retrying venue=okx "
        'error="HTTP 503 \\"busy\\"" wait_s=0.5 url=""',
        "INFO relay.test_log_format plain",
    ]


def test_text_and_json_lines_carry_the_same_fields(logger: logging.Logger) -> None:
    text, json = Lines(TextFormatter()), Lines(JsonFormatter())
    logger.addHandler(text)
    logger.addHandler(json)
    logger.warning("venue connected", extra={"venue": "kraken", "url": "wss://ws.kraken.com/v2"})
    [document] = [orjson.loads(line) for line in json.lines]
    assert {k: v for k, v in document.items() if k != "ts"} == {
        "level": "WARNING",
        "logger": "relay.test_log_format",
        "msg": "venue connected",
        "venue": "kraken",
        "url": "wss://ws.kraken.com/v2",
    }
    assert text.lines == [
        f"{document['ts']} WARNING relay.test_log_format venue connected "
        "venue=kraken url=wss://ws.kraken.com/v2"
    ]


def test_repeated_warnings_are_held_back_and_the_next_line_counts_them(
    logger: logging.Logger,
) -> None:
    clock = FakeClock()
    handler = Lines(JsonFormatter())
    handler.addFilter(RateLimitFilter(LogRateLimit(10.0, clock=clock)))
    logger.addHandler(handler)
    for attempt in range(5):
        logger.warning("Invalid HTTP request received.")
        logger.error("Exception in ASGI application %d", attempt)
        logger.info("not limited")
    clock.now += 10.0
    logger.warning("Invalid HTTP request received.")
    logger.warning("Invalid HTTP request received.")
    logger.error("Exception in ASGI application %d", 5)
    kept = [orjson.loads(line) for line in handler.lines]
    assert [(d["level"], d["msg"], d.get("suppressed")) for d in kept] == [
        ("WARNING", "Invalid HTTP request received.", 0),
        ("ERROR", "Exception in ASGI application 0", 0),
        ("INFO", "not limited", None),
        ("INFO", "not limited", None),
        ("INFO", "not limited", None),
        ("INFO", "not limited", None),
        ("INFO", "not limited", None),
        ("WARNING", "Invalid HTTP request received.", 4),
        ("ERROR", "Exception in ASGI application 5", 4),
    ]


@pytest.fixture
def configured_loggers() -> Iterator[None]:
    """Restores what configure_logging changes on the loggers it sets up."""
    names = ("relay", *UVICORN_LOGGERS, "asyncio")
    saved = {
        name: (list(log.handlers), log.propagate, log.level)
        for name in names
        for log in (logging.getLogger(name),)
    }
    yield
    for name, (handlers, propagate, level) in saved.items():
        log = logging.getLogger(name)
        log.handlers[:] = handlers
        log.propagate = propagate
        log.setLevel(level)


async def test_asyncios_accept_errors_come_out_as_one_relay_line_per_interval(
    configured_loggers: None, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging("INFO", LogFormat.JSON)
    loop = asyncio.get_running_loop()
    for _ in range(1_000):
        loop.call_exception_handler(
            {
                "message": "socket.accept() out of system resource",
                "exception": OSError(errno.EMFILE, "Too many open files"),
            }
        )
    logging.getLogger("uvicorn.error").warning("Invalid HTTP request received.")
    lines = capsys.readouterr().err.splitlines()
    documents = [orjson.loads(line) for line in lines]
    assert [(d["level"], d["logger"], d["msg"], d["suppressed"]) for d in documents] == [
        ("ERROR", "asyncio", "socket.accept() out of system resource", 0),
        ("WARNING", "uvicorn.error", "Invalid HTTP request received.", 0),
    ]
    assert documents[0]["exc"].endswith("OSError: [Errno 24] Too many open files")
