"""The ``[cluster]`` section: the relay group a process belongs to.

Relays started with the same ``group`` and the same configuration are one
group: they share the runtime control state (the ``relay-control`` key-value
bucket is keyed by the group name) and cover the same subscriptions.
``docs/configuration.md`` lists the keys and checks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from relay.config.reader import Table

_GROUP_NAME: Final = re.compile(r"[A-Za-z0-9_-]{1,64}")
"""A group name: usable as a NATS subject token and in a key-value key."""


@dataclass(frozen=True, slots=True)
class ClusterConfig:
    """``[cluster]``: which relay group this process is part of.

    Attributes:
        group: the group's name, 1 to 64 characters from ``A-Z a-z 0-9 _ -``
            (default ``"relay"``).
    """

    group: str = "relay"


_DEFAULT: Final = ClusterConfig()


def _group_problem(text: str) -> str | None:
    if _GROUP_NAME.fullmatch(text):
        return None
    return f"must be 1 to 64 characters from A-Z a-z 0-9 _ -, got {text!r}"


def read_cluster(table: Table) -> ClusterConfig:
    """The ``[cluster]`` table as a :class:`ClusterConfig`; problems go to the loader.

    Args:
        table: the loader's view of ``[cluster]`` (empty when absent).

    Returns:
        The section; a key with a problem keeps its default (the loader raises
        :class:`~relay.config.errors.ConfigError` listing every problem).
    """
    return ClusterConfig(group=table.string("group", _DEFAULT.group, _group_problem))
