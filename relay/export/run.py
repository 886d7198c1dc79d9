"""The ``relay export`` job: read the window from JetStream, one Parquet file per data type."""

from __future__ import annotations

import datetime
from pathlib import Path

import pyarrow.parquet as pq

from relay.export import ProgressBar, output_path
from relay.export.jetstream import ExportError, Window, read_messages
from relay.export.tables import StoredMessage, build_tables


def parse_time(text: str) -> datetime.datetime:
    """An ISO 8601 time (``2026-12-01T12:00:00Z``; no offset means UTC) or epoch milliseconds.

    Raises:
        ExportError: neither.
    """
    if text.isdigit():
        return datetime.datetime.fromtimestamp(int(text) / 1000, datetime.UTC)
    try:
        value = datetime.datetime.fromisoformat(text)
    except ValueError:
        raise ExportError(
            f"not a time: {text!r} (ISO 8601 like 2026-12-01T12:00:00Z, or epoch milliseconds)"
        ) from None
    return value if value.tzinfo is not None else value.replace(tzinfo=datetime.UTC)


async def export(
    nats_url: str, window: Window, out: Path, progress: ProgressBar | None
) -> dict[str, tuple[Path, int]]:
    """Export the window to Parquet files (see :mod:`relay.export` for the naming).

    Args:
        nats_url: the NATS server.
        window: subject filter and stored-time window.
        out: the output path the per-type names derive from.
        progress: drawn while reading, or None.

    Returns:
        data type -> (file written, rows), in first-seen order; empty when the
        window holds no message (nothing is written).

    Raises:
        ExportError: see :func:`relay.export.jetstream.read_messages`.
        OSError: a file cannot be written.
    """
    messages: list[StoredMessage] = []

    def report(done: int, total: int) -> None:
        if progress is not None:
            progress.update(done, total)

    try:
        async for message in read_messages(nats_url, window, report):
            messages.append(message)
    finally:
        if progress is not None:
            progress.close()
    written: dict[str, tuple[Path, int]] = {}
    out.parent.mkdir(parents=True, exist_ok=True)
    for data_type, table in build_tables(messages).items():
        path = output_path(out, data_type)
        pq.write_table(table, path)
        written[data_type] = (path, table.num_rows)
    return written
