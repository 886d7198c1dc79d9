"""The venue registry: each venue module registers the ids it serves.

Generic code looks venues up here by id and never tests a venue name.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from relay.application.ports import VenueProtocol
from relay.config.model import VenueConfig
from relay.domain.errors import RelayError
from relay.domain.model import DataType


class UnknownVenueError(RelayError):
    """No venue module registered this id."""


@dataclass(frozen=True, slots=True)
class VenueSpec:
    """What the relay knows of one venue id.

    Attributes:
        id: the venue id used in config and subjects (``"binance-usdm"``).
        data_types: the data types its module can publish.
        default_ws_url: the venue's public WebSocket base URL.
        default_rest_url: the venue's public REST base URL ("" if unused).
        protocol_factory: builds a fresh sans-IO protocol for one connection
            attempt from the venue's config.
        docs: the venue documents the module follows.
        rest_weight_per_minute: the venue's documented REST request weight limit.
        max_connection_age_s: the venue closes connections older than this (0 = never);
            the relay rotates them a little earlier.
    """

    id: str
    data_types: frozenset[DataType]
    default_ws_url: str
    default_rest_url: str
    protocol_factory: Callable[[VenueConfig], VenueProtocol]
    docs: tuple[str, ...] = ()
    rest_weight_per_minute: int = 1200
    max_connection_age_s: float = 0.0


_REGISTRY: dict[str, VenueSpec] = {}


def register(spec: VenueSpec) -> VenueSpec:
    """Add a venue; a second registration of the same id replaces the first."""
    _REGISTRY[spec.id] = spec
    return spec


def _load_venue_modules() -> None:
    from relay.infrastructure.venues import binance  # noqa: F401  (registers itself)


def venue_spec(venue_id: str) -> VenueSpec:
    """The spec of a registered venue.

    Raises:
        UnknownVenueError: no such venue id.
    """
    _load_venue_modules()
    try:
        return _REGISTRY[venue_id]
    except KeyError:
        raise UnknownVenueError(
            f"unknown venue {venue_id!r}; known: {', '.join(sorted(_REGISTRY))}"
        ) from None


def supported_data_types() -> Mapping[str, frozenset[DataType]]:
    """venue id -> data types it supports, for config validation."""
    _load_venue_modules()
    return {venue_id: spec.data_types for venue_id, spec in _REGISTRY.items()}
