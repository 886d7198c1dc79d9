"""Tests of the ``[recording]`` section (relay.config.recording through the loader)."""

from __future__ import annotations

import pytest

from relay.config.errors import ConfigError, ConfigProblem
from relay.config.loader import parse_config
from relay.config.recording import RecordingConfig, RecordingFullPolicy
from relay.domain.model import DataType

VENUES = {"binance-spot": frozenset({DataType.TRADE})}

MINIMAL_VENUE = """
[[venues]]
id = "binance-spot"
[[venues.subscriptions]]
instrument = "BTCUSDT"
canonical_symbol = "BTC/USDT"
data_types = ["trade"]
"""


def parse(section: str, environ: dict[str, str] | None = None) -> RecordingConfig:
    text = section + "\n" + MINIMAL_VENUE
    config = parse_config(text, source="test.toml", venues=VENUES, environ=environ or {})
    return config.recording


def problems_of(section: str) -> tuple[ConfigProblem, ...]:
    with pytest.raises(ConfigError) as caught:
        parse(section)
    return caught.value.problems


def test_no_recording_section_leaves_recording_off_with_every_default() -> None:
    assert parse("") == RecordingConfig()
    assert RecordingConfig() == RecordingConfig(
        enabled=False,
        dir="",
        max_file_bytes=268_435_456,
        max_file_age_s=3600.0,
        max_queue_records=100_000,
        full_policy=RecordingFullPolicy.DROP_NEWEST,
        compression_level=3,
    )


def test_every_recording_key_is_read_with_variables_substituted() -> None:
    section = """
[recording]
enabled = true
dir = "${REC_DIR:-/var/lib/relay}/captures"
max_file_bytes = 1048576
max_file_age_s = 600
max_queue_records = 5000
full_policy = "drop_newest"
compression_level = 9
"""
    assert parse(section, {"REC_DIR": "/data"}) == RecordingConfig(
        enabled=True,
        dir="/data/captures",
        max_file_bytes=1_048_576,
        max_file_age_s=600.0,
        max_queue_records=5000,
        full_policy=RecordingFullPolicy.DROP_NEWEST,
        compression_level=9,
    )


def test_every_recording_problem_is_listed_with_its_key_path() -> None:
    section = """
[recording]
enabled = "yes"
max_file_bytes = 100
max_file_age_s = -1
max_queue_records = 0
full_policy = "block"
compression_level = 22
dri = "/tmp"
"""
    assert problems_of(section) == (
        ConfigProblem("recording.dri", "unknown key (did you mean 'dir'?)"),
        ConfigProblem(
            "recording.enabled", "expected a boolean (true or false), got a string 'yes'"
        ),
        ConfigProblem(
            "recording.max_file_bytes", "must be 0 (no size limit) or at least 1024, got 100"
        ),
        ConfigProblem("recording.max_file_age_s", "must be at least 0 seconds, got -1"),
        ConfigProblem("recording.max_queue_records", "must be at least 1, got 0"),
        ConfigProblem("recording.full_policy", "must be one of 'drop_newest', got 'block'"),
        ConfigProblem("recording.compression_level", "must be 1 to 19, got 22"),
    )


def test_enabled_recording_without_a_directory_is_one_problem() -> None:
    assert problems_of("[recording]\nenabled = true\n") == (
        ConfigProblem("recording.dir", "must name a directory when recording is enabled"),
    )
