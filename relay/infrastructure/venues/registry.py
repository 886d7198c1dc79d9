"""The venue registry: each venue module registers the ids it serves.

Generic code looks venues up here by id and never tests a venue name.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

from relay.application.ports import VenueProtocol
from relay.application.registry import Registry
from relay.application.rest_polls import RestPolling
from relay.config.model import VenueConfig
from relay.domain.errors import InvalidValueError, RelayError
from relay.domain.model import DataType


class UnknownVenueError(RelayError):
    """No venue module registered this id."""


VENUE_MODULES = (
    "binance",
    "bitfinex",
    "bitmex",
    "bitstamp",
    "bybit",
    "coinbase",
    "coinbase_exchange",
    "cryptocom",
    "deribit",
    "dydx",
    "gate",
    "hyperliquid",
    "kraken",
    "kraken_futures",
    "okx",
)
"""Modules under ``relay.infrastructure.venues`` that register venues when imported."""


@dataclass(frozen=True, slots=True)
class ListedInstrument:
    """One instrument from a venue's public listing, as ``relay instruments`` prints it.

    Attributes:
        instrument: the venue's own id, as configured (``"BTC-USDT-SWAP"``).
        canonical_symbol: a suggested relay-wide name (``"BTC/USDT:PERP"``).
        kind: ``"spot"``, ``"perpetual"``, ``"future"`` or ``"option"``.
    """

    instrument: str
    canonical_symbol: str
    kind: str


@dataclass(frozen=True, slots=True)
class ListingRequest:
    """One REST request of a venue's instrument listing.

    Attributes:
        path: path and query below the venue's REST base
            (``"/api/v5/public/instruments?instType=SPOT"``).
        json_body: a JSON body to POST (Hyperliquid's ``{"type":"meta"}``), or
            None for a GET.
    """

    path: str
    json_body: str | None = None


@dataclass(frozen=True, slots=True)
class InstrumentListing:
    """How to list a venue's instruments from its public REST API.

    Attributes:
        requests: the requests to make; their answers are parsed one by one.
        parse: ``(request, response body) -> instruments``; raises
            ``ValueError`` (or a subclass) for a body it cannot read.
    """

    requests: tuple[ListingRequest, ...]
    parse: Callable[[ListingRequest, bytes], list[ListedInstrument]]


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
        subscribe_interval_s: least time between two subscribe frames on one
            connection (the venue's subscribe rate limit; 0 = none).
        connect_wait_s: least time between a connection opening and its first
            frame sent (a venue whose rate limit counts from the second the
            connection opened; 0 = none).
        max_subscriptions_per_connection: most ``[[venues.subscriptions]]``
            entries one connection carries, from the venue's streams-per-connection
            limit (0 = no limit); more are spread over several connections.
        split_connections: splits the venue's config into the configs of the
            connections it needs, each served by its own protocol instance (OKX:
            candle subscriptions go to the business endpoint, with ``ws_url``
            set to it); None: one connection. Sharding by
            ``max_subscriptions_per_connection`` applies to each part afterwards.
        instrument_listing: how ``relay instruments`` lists the venue's
            instruments (None: the venue has no public listing).
        live_subscribe: its protocol subscribes and unsubscribes on an open
            connection (:meth:`~relay.application.ports.VenueProtocol.subscribe`),
            so a stream added at runtime joins an existing connection; False: a
            stream added at runtime gets a connection of its own.
        rest_polling: the REST endpoints the venue polls: data it offers only
            over REST, and the fallback while its WebSocket is down
            (:mod:`relay.application.rest_polls`); None: nothing is polled.
    """

    id: str
    data_types: frozenset[DataType]
    default_ws_url: str
    default_rest_url: str
    protocol_factory: Callable[[VenueConfig], VenueProtocol]
    docs: tuple[str, ...] = ()
    rest_weight_per_minute: int = 1200
    max_connection_age_s: float = 0.0
    subscribe_interval_s: float = 0.0
    connect_wait_s: float = 0.0
    max_subscriptions_per_connection: int = 0
    split_connections: Callable[[VenueConfig], Sequence[VenueConfig]] | None = None
    instrument_listing: InstrumentListing | None = None
    live_subscribe: bool = False
    rest_polling: RestPolling | None = None


_REGISTRY: Registry[VenueSpec] = Registry(
    f"relay.infrastructure.venues.{name}" for name in VENUE_MODULES
)


def register(spec: VenueSpec) -> VenueSpec:
    """Add a venue; a second registration of the same id replaces the first."""
    return _REGISTRY.register(spec.id, spec)


def venue_spec(venue_id: str) -> VenueSpec:
    """The spec of a registered venue.

    Raises:
        UnknownVenueError: no such venue id.
    """
    specs = _REGISTRY.entries()
    try:
        return specs[venue_id]
    except KeyError:
        raise UnknownVenueError(
            f"unknown venue {venue_id!r}; known: {', '.join(sorted(specs))}"
        ) from None


def protocol_refusal(config: VenueConfig) -> str | None:
    """What the venue's protocol refuses of ``config`` when built (sans-IO: nothing connects).

    Returns:
        None when the protocol is built; else the refusal's message, for an
        :class:`~relay.domain.errors.InvalidValueError` or ``ValueError`` the
        venue raises (``"candle_interval='7m': Bybit offers 1m, ..."``).

    Raises:
        UnknownVenueError: no such venue id.
    """
    factory = venue_spec(config.id).protocol_factory
    try:
        factory(config)
    except (InvalidValueError, ValueError) as exc:
        return str(exc)
    return None


def registered_venues() -> tuple[str, ...]:
    """Every registered venue id, sorted."""
    return tuple(sorted(_REGISTRY.entries()))


def supported_data_types() -> Mapping[str, frozenset[DataType]]:
    """venue id -> data types it supports, for config validation."""
    return {venue_id: spec.data_types for venue_id, spec in _REGISTRY.entries().items()}


def plan_connections(spec: VenueSpec, config: VenueConfig) -> list[tuple[str, VenueConfig]]:
    """The connections one ``[[venues]]`` section needs: ``[(name, config), ...]``.

    The config is split by ``spec.split_connections`` (if any), then each part
    cut into shards of at most ``spec.max_subscriptions_per_connection``
    subscriptions, in configured order. The first connection is named after the
    venue id, the next ones ``<venue id>#2``, ``#3``...; a part without
    subscriptions gets no connection.
    """
    parts = list(spec.split_connections(config)) if spec.split_connections else [config]
    size = spec.max_subscriptions_per_connection
    shards: list[VenueConfig] = []
    for part in parts:
        subscriptions = part.subscriptions
        if not subscriptions:
            continue
        if not size or len(subscriptions) <= size:
            shards.append(part)
            continue
        for start in range(0, len(subscriptions), size):
            shards.append(replace(part, subscriptions=subscriptions[start : start + size]))
    return [
        (config.id if index == 0 else f"{config.id}#{index + 1}", shard)
        for index, shard in enumerate(shards)
    ]
