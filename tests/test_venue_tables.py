"""The README's venue table and docs/venues.md's list every registered venue id, and no other."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from relay.infrastructure.venues.registry import registered_venues

ROOT = Path(__file__).resolve().parent.parent

_ROW = re.compile(r"^\| (`[^|]+`) \|", re.MULTILINE)


def table_ids(text: str) -> list[str]:
    """Venue ids named in the first cell of a table row (``| `a`, `b` | ...``), in order."""
    return [venue for cell in _ROW.findall(text) for venue in re.findall(r"`([a-z0-9-]+)`", cell)]


def section(path: Path, heading: str) -> str:
    """The text of ``path`` from ``heading`` to the next heading of the same level."""
    text = path.read_text(encoding="utf-8")
    start = text.index(heading)
    level = heading.split(" ", 1)[0]
    end = text.find(f"\n{level} ", start + len(heading))
    return text[start : end if end != -1 else len(text)]


@pytest.mark.parametrize(
    ("path", "heading"),
    [(ROOT / "README.md", "## Venues"), (ROOT / "docs" / "venues.md", "## The venues as built")],
)
def test_the_venue_table_lists_each_registered_venue_once(path: Path, heading: str) -> None:
    listed = table_ids(section(path, heading))

    assert sorted(listed) == sorted(registered_venues())
    assert len(listed) == len(set(listed)) == 20
