"""The ``[recording]`` section: raw venue traffic written to capture files.

Kept in its own module (model and reader) so the section is added to the
loader by one call; ``docs/configuration.md`` lists the keys and checks.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from relay.config.reader import Table


class RecordingFullPolicy(enum.Enum):
    """``[recording] full_policy``: what a full recording queue does with a new record."""

    DROP_NEWEST = "drop_newest"
    """The new record is not written; it is counted in ``relay_recording_dropped_total``.
    The venue reader never waits for the recording (the only policy)."""


@dataclass(frozen=True, slots=True)
class RecordingConfig:
    """``[recording]``: raw venue traffic recorded as zstd relay-capture/1 files.

    Attributes:
        enabled: record (default false).
        dir: directory of the capture files (created if missing); required when enabled.
        max_file_bytes: start a new file once the current one holds this many
            compressed bytes; 0 = no size limit. Default 256 MiB.
        max_file_age_s: start a new file once the current one is this old
            (seconds); 0 = no age limit. Default 3600.
        max_queue_records: bound of the queue between the venue readers and the
            writer thread.
        full_policy: what a full queue does (:class:`RecordingFullPolicy`).
        compression_level: zstd level, 1 (fast) to 19.
    """

    enabled: bool = False
    dir: str = ""
    max_file_bytes: int = 256 * 1024 * 1024
    max_file_age_s: float = 3600.0
    max_queue_records: int = 100_000
    full_policy: RecordingFullPolicy = RecordingFullPolicy.DROP_NEWEST
    compression_level: int = 3


_DEFAULT: Final = RecordingConfig()

MAX_COMPRESSION_LEVEL: Final = 19

MIN_FILE_BYTES: Final = 1024
"""Least ``max_file_bytes`` other than 0 (one header and a few frames)."""


def read_recording(table: Table) -> RecordingConfig:
    """The ``[recording]`` table as a :class:`RecordingConfig`; problems go to the loader.

    Args:
        table: the loader's view of ``[recording]`` (empty when absent).

    Returns:
        The section; a key with a problem keeps its default (the loader raises
        :class:`~relay.config.errors.ConfigError` listing every problem).
    """
    enabled = table.boolean("enabled", _DEFAULT.enabled)
    directory = table.string("dir", _DEFAULT.dir)
    if enabled and not directory and not table.failed("dir"):
        table.report("dir", "must name a directory when recording is enabled")
    max_file_bytes = table.integer("max_file_bytes", _DEFAULT.max_file_bytes, minimum=0)
    if 0 < max_file_bytes < MIN_FILE_BYTES:
        table.report(
            "max_file_bytes",
            f"must be 0 (no size limit) or at least {MIN_FILE_BYTES}, got {max_file_bytes}",
        )
        max_file_bytes = _DEFAULT.max_file_bytes
    return RecordingConfig(
        enabled=enabled,
        dir=directory,
        max_file_bytes=max_file_bytes,
        max_file_age_s=table.seconds("max_file_age_s", _DEFAULT.max_file_age_s, positive=False),
        max_queue_records=table.integer("max_queue_records", _DEFAULT.max_queue_records, minimum=1),
        full_policy=RecordingFullPolicy(
            table.one_of(
                "full_policy",
                _DEFAULT.full_policy.value,
                tuple(policy.value for policy in RecordingFullPolicy),
            )
        ),
        compression_level=table.integer(
            "compression_level",
            _DEFAULT.compression_level,
            minimum=1,
            maximum=MAX_COMPRESSION_LEVEL,
        ),
    )
