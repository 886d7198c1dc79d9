"""Peak RSS must be the process's own, not its parent's (the bench spawns the relay)."""

from __future__ import annotations

import resource
import subprocess
import sys
from pathlib import Path

import pytest

from relay.infrastructure import process_stats
from relay.infrastructure.process_stats import ProcessStatsError, peak_rss_mb

_CHILD = (
    "import resource; from relay.infrastructure.process_stats import peak_rss_mb; "
    "print(peak_rss_mb(), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)"
)


def test_a_child_of_a_large_parent_reports_its_own_peak_rss() -> None:
    held = bytearray(400 * 2**20)
    for offset in range(0, len(held), 4096):  # touch every page so it is resident
        held[offset] = 1
    assert peak_rss_mb() >= 400

    out = subprocess.run(
        [sys.executable, "-c", _CHILD],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    own, inherited = float(out[0]), float(out[1])

    assert own < 100
    # What made this necessary: ru_maxrss carries the parent's 400 MB across execve.
    if sys.platform == "linux":
        assert inherited >= 400
    del held
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 >= 400


def test_a_status_file_without_the_peak_line_is_a_relay_error_naming_file_and_key(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    status = tmp_path / "status"
    status.write_text("Name:\tpython3\nVmRSS:\t  20480 kB\n")
    monkeypatch.setattr(process_stats, "_STATUS", status)
    with pytest.raises(ProcessStatsError) as caught:
        peak_rss_mb()
    assert (caught.value.path, caught.value.key) == (status, "VmHWM")
    assert str(caught.value) == f"{status} has no VmHWM line"
