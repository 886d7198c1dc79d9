"""Fixtures of the serialization tests: the events of ``recorded_events``."""

from __future__ import annotations

import pytest
from recorded_events import RECORDED_BY_NAME, RECORDED_EVENTS, RecordedEvent


@pytest.fixture(params=RECORDED_EVENTS, ids=[r.name for r in RECORDED_EVENTS])
def recorded(request: pytest.FixtureRequest) -> RecordedEvent:
    """Each recorded event in turn."""
    event: RecordedEvent = request.param
    return event


@pytest.fixture
def recorded_by_name() -> dict[str, RecordedEvent]:
    """The recorded events by golden file stem."""
    return RECORDED_BY_NAME
