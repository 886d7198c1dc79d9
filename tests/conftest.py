"""Fixtures shared by the whole test suite."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.recorded_events import RECORDED_BY_NAME, RECORDED_EVENTS, RecordedEvent

CAPTURES_DIR = Path(__file__).resolve().parents[2] / "shared" / "captures"


@pytest.fixture
def captures_dir() -> Path:
    """The recorded venue sessions (``shared/captures``, format in its FORMAT.md)."""
    return CAPTURES_DIR


@pytest.fixture(params=RECORDED_EVENTS, ids=[r.name for r in RECORDED_EVENTS])
def recorded(request: pytest.FixtureRequest) -> RecordedEvent:
    """Each event of ``support.recorded_events`` in turn (the serialization tests)."""
    event: RecordedEvent = request.param
    return event


@pytest.fixture
def recorded_by_name() -> dict[str, RecordedEvent]:
    """The events of ``support.recorded_events`` by golden file stem."""
    return RECORDED_BY_NAME
