"""Fixtures shared by the whole test suite."""

from __future__ import annotations

from pathlib import Path

import pytest

CAPTURES_DIR = Path(__file__).resolve().parents[2] / "shared" / "captures"


@pytest.fixture
def captures_dir() -> Path:
    """The recorded venue sessions (``shared/captures``, format in its FORMAT.md)."""
    return CAPTURES_DIR
