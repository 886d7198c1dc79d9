"""Tests of the ``[cluster]`` section (relay.config.cluster through the loader)."""

from __future__ import annotations

import pytest

from relay.config.cluster import ClusterConfig, ReplicaMode
from relay.config.errors import ConfigError, ConfigProblem
from relay.config.loader import parse_config
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


def parse(section: str, environ: dict[str, str] | None = None) -> ClusterConfig:
    text = section + "\n" + MINIMAL_VENUE
    config = parse_config(text, source="test.toml", venues=VENUES, environ=environ or {})
    return config.cluster


def test_no_cluster_section_names_the_default_group() -> None:
    assert parse("") == ClusterConfig(group="relay")


@pytest.mark.parametrize("name", ["a", "prod-eu_1", "X" * 64, "0"])
def test_a_group_name_of_allowed_characters_is_kept(name: str) -> None:
    assert parse(f'[cluster]\ngroup = "{name}"') == ClusterConfig(group=name)


def test_the_group_name_is_substituted_from_the_environment() -> None:
    section = '[cluster]\ngroup = "${RELAY_GROUP}"'
    assert parse(section, {"RELAY_GROUP": "eu-west"}) == ClusterConfig(group="eu-west")


@pytest.mark.parametrize("name", ["", "a.b", "a b", "a*", "a>", "é", "X" * 65])
def test_a_group_name_that_cannot_be_a_subject_token_is_refused(name: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse(f'[cluster]\ngroup = "{name}"')

    assert caught.value.problems == (
        ConfigProblem(
            "cluster.group", f"must be 1 to 64 characters from A-Z a-z 0-9 _ -, got {name!r}"
        ),
    )


def test_an_unknown_cluster_key_is_refused_with_a_hint() -> None:
    with pytest.raises(ConfigError) as caught:
        parse('[cluster]\ngrup = "a"')

    assert caught.value.problems == (
        ConfigProblem("cluster.grup", "unknown key (did you mean 'group'?)"),
    )


def test_shards_mode_and_lease_keys_are_read() -> None:
    section = """[cluster]
group = "eu"
shards = 4
shard = 3
mode = "hot_standby"
lease_ttl_s = 5
lease_replicas = 3
standby_ring_events = 500
takeover_catchup_s = 0.5"""
    assert parse(section) == ClusterConfig(
        group="eu",
        shards=4,
        shard=3,
        mode=ReplicaMode.HOT_STANDBY,
        lease_ttl_s=5.0,
        lease_replicas=3,
        standby_ring_events=500,
        takeover_catchup_s=0.5,
    )


def test_the_defaults_are_one_shard_and_single_mode() -> None:
    assert parse("") == ClusterConfig(
        group="relay",
        shards=1,
        shard=0,
        mode=ReplicaMode.SINGLE,
        lease_ttl_s=10.0,
        lease_replicas=1,
        standby_ring_events=10_000,
        takeover_catchup_s=2.0,
    )


@pytest.mark.parametrize(
    ("section", "problems"),
    [
        (
            "shards = 2\nshard = 2",
            (ConfigProblem("cluster.shard", "must be below shards (2), got 2"),),
        ),
        ("shards = 0", (ConfigProblem("cluster.shards", "must be 1 to 1024, got 0"),)),
        (
            'mode = "active"',
            (
                ConfigProblem(
                    "cluster.mode", "must be one of 'single', 'hot_standby', got 'active'"
                ),
            ),
        ),
        (
            "lease_ttl_s = 0\nstandby_ring_events = 0\ntakeover_catchup_s = -1",
            (
                ConfigProblem("cluster.lease_ttl_s", "must be greater than 0 seconds, got 0"),
                ConfigProblem("cluster.standby_ring_events", "must be at least 1, got 0"),
                ConfigProblem("cluster.takeover_catchup_s", "must be at least 0 seconds, got -1"),
            ),
        ),
    ],
)
def test_a_bad_shard_mode_or_lease_key_is_one_problem_each(
    section: str, problems: tuple[ConfigProblem, ...]
) -> None:
    with pytest.raises(ConfigError) as caught:
        parse("[cluster]\n" + section)

    assert caught.value.problems == problems
