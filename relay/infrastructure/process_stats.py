"""Figures about the running process itself: CPU time and peak resident memory."""

from __future__ import annotations

import resource
import sys
from pathlib import Path

from relay.domain.errors import RelayError

_STATUS = Path("/proc/self/status")


class ProcessStatsError(RelayError):
    """The kernel's process status file has no line the figure is read from.

    Attributes:
        path: the file read (``/proc/self/status``).
        key: the missing line's key (``"VmHWM"``).
    """

    def __init__(self, path: Path, key: str) -> None:
        super().__init__(f"{path} has no {key} line")
        self.path = path
        self.key = key


def cpu_seconds() -> float:
    """User + system CPU seconds this process has used so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def peak_rss_mb() -> float:
    """This process's peak resident set size, in MB (2**20 bytes).

    On Linux it is ``VmHWM`` from ``/proc/self/status`` (proc(5)): the high-water
    mark of this program's own memory. ``getrusage().ru_maxrss`` is not used there
    because Linux keeps it across ``execve`` (getrusage(2)): a process started by a
    parent holding 700 MB reports at least 700 MB, whatever it uses itself. Where
    there is no ``/proc`` (macOS), ``ru_maxrss`` is all there is (bytes on macOS,
    kB elsewhere).

    Raises:
        ProcessStatsError: ``/proc/self/status`` is readable but has no ``VmHWM`` line.
    """
    try:
        status = _STATUS.read_text()
    except OSError:
        maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return maxrss / 2**20 if sys.platform == "darwin" else maxrss / 1024
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise ProcessStatsError(_STATUS, "VmHWM")
