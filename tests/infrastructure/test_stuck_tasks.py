"""A stop that never finishes: the relay names what it waits for and exits 4."""

from __future__ import annotations

import re
import subprocess
import sys

import orjson

from relay.infrastructure.stuck_tasks import EXIT_SHUTDOWN_STUCK

STUCK = """
import asyncio, logging
from relay.infrastructure.logs import configure_logging
from relay.infrastructure.stuck_tasks import exit_stuck

async def swallow_cancellation(ready):
    while True:
        try:
            ready.set()
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            pass  # what a library swallowing a cancellation does

async def main():
    ready = asyncio.Event()
    task = asyncio.create_task(swallow_cancellation(ready), name="swallower")
    await ready.wait()
    task.cancel()
    loop = asyncio.get_running_loop()
    loop.call_later(0.2, exit_stuck, loop, 0.2)
    await task

from relay.infrastructure.logs import LogFormat
configure_logging("INFO", LogFormat.JSON)
asyncio.run(main())
"""


def test_a_task_that_ignores_its_cancellation_ends_the_process_with_its_stack_logged() -> None:
    process = subprocess.run(
        [sys.executable, "-c", STUCK], capture_output=True, timeout=60, check=False
    )
    assert process.returncode == EXIT_SHUTDOWN_STUCK, process.stderr.decode()[-2000:]
    [line] = [orjson.loads(line) for line in process.stderr.splitlines()]
    assert line["level"] == "ERROR"
    assert line["msg"] == "stop did not finish; exiting"
    assert line["waited_s"] == 0.2
    tasks = line["pending_tasks"]
    assert set(tasks) == {"Task-1", "swallower"}
    swallower = tasks["swallower"]
    assert swallower[0] == "<string>:10 swallow_cancellation"
    assert re.fullmatch(r"asyncio/locks\.py:\d+ wait", swallower[1])
    assert swallower[2:] == ["FutureIter"]
    assert tasks["Task-1"] == ["<string>:21 main", "FutureIter"]
