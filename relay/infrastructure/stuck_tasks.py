"""What a relay that cannot stop is waiting for: the pending asyncio tasks and where each waits.

A stop that overruns ``shutdown_timeout_s`` by :data:`SHUTDOWN_GRACE_S` means a
task did not end when cancelled (a library that swallowed the cancellation, or
a loop that never looks at the stop). ``relay run`` then logs one error line
naming every pending task and the innermost frames it waits in, and exits
with :data:`EXIT_SHUTDOWN_STUCK`, instead of hanging until the orchestrator
kills it without a word.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys

log = logging.getLogger("relay")

SHUTDOWN_GRACE_S = 10.0
"""Seconds past ``shutdown_timeout_s`` a stop may take before the relay gives up on it."""

EXIT_SHUTDOWN_STUCK = 4
"""Exit code of a relay whose stop did not finish in time (see the module docstring)."""

FRAMES_PER_TASK = 4
"""Innermost frames named per pending task."""


def pending_tasks(loop: asyncio.AbstractEventLoop) -> dict[str, list[str]]:
    """Every task of ``loop`` not yet done: its name -> its innermost frames, innermost last.

    A frame reads ``"<file>:<line> <function>"``, the file relative to the
    ``sys.path`` entry it is below (``"relay/bootstrap.py:440 _run"``); the last
    entry is the type of what the innermost coroutine awaits (``"FutureIter"``).
    """
    result: dict[str, list[str]] = {}
    for index, task in enumerate(sorted(asyncio.all_tasks(loop), key=lambda t: t.get_name())):
        frames = _awaiting(task.get_coro())
        name = task.get_name()
        result[name if name not in result else f"{name}#{index}"] = frames[-FRAMES_PER_TASK:]
    return result


def _awaiting(coroutine: object) -> list[str]:
    """The frames of ``coroutine`` and of what it awaits, down the ``cr_await`` chain."""
    frames: list[str] = []
    while coroutine is not None and len(frames) < 100:
        frame = getattr(coroutine, "cr_frame", None) or getattr(coroutine, "gi_frame", None)
        if frame is None:
            frames.append(type(coroutine).__name__)
            break
        code = frame.f_code
        frames.append(f"{_short(code.co_filename)}:{frame.f_lineno} {code.co_name}")
        coroutine = getattr(coroutine, "cr_await", None) or getattr(coroutine, "gi_yieldfrom", None)
    return frames


def _short(path: str) -> str:
    """``path`` relative to the longest ``sys.path`` entry it is below (``asyncio/locks.py``)."""
    for prefix in sorted((p for p in sys.path if p), key=len, reverse=True):
        if path.startswith(prefix.rstrip("/") + "/"):
            return path[len(prefix.rstrip("/")) + 1 :]
    return path


def exit_stuck(loop: asyncio.AbstractEventLoop, waited_s: float) -> None:
    """Log the pending tasks (one error line) and end the process with :data:`EXIT_SHUTDOWN_STUCK`.

    ``os._exit``: a task that ignores cancellation would also keep
    ``asyncio.run`` from returning.
    """
    log.error(
        "stop did not finish; exiting",
        extra={"waited_s": round(waited_s, 3), "pending_tasks": pending_tasks(loop)},
    )
    logging.shutdown()
    sys.stderr.flush()
    os._exit(EXIT_SHUTDOWN_STUCK)
