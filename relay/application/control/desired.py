"""The desired set of streams: the config file's streams, changed at runtime.

Pure bookkeeping, no I/O. A stream is one (venue, instrument, data type)
(:data:`StreamKey`). The config file gives the initial set (``origin =
"config"``); runtime changes are an :class:`Overlay` on it: streams added,
config streams removed, and per-stream knobs (``paused``, ``depth``,
``stale_after_s``). The overlay is what the ``relay-control`` bucket keeps
(:meth:`Overlay.document`), so an edit of the config file still takes effect
under runtime changes made before it.

:func:`diff` compares two effective sets: what to subscribe, unsubscribe and
retune; the same function serves an API change, a restart (the bucket's
overlay over the file) and a replica following another one's change.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import orjson

from relay.config.control import StreamRequest
from relay.config.errors import ConfigProblem
from relay.config.loader import read_stream_request
from relay.config.model import VenueConfig
from relay.domain.model import DataType

StreamKey = tuple[str, str, DataType]
"""One stream: (venue id, venue instrument id, data type)."""

DOCUMENT_VERSION = 1
"""The ``version`` of the overlay document in the bucket (docs/control.md)."""


@dataclass(frozen=True, slots=True)
class StreamSpec:
    """One desired stream with its settings.

    Attributes:
        venue, instrument, data_type: the stream.
        canonical_symbol: the relay-wide name (``"BTC/USDT"``).
        depth: published book depth (0 = the venue's book; books only).
        candle_interval: the candle interval (candles only).
        stale_after_s: silence after which its connection is replaced (0 = not watched).
        paused: read but not published (counted as dropped, ``reason="paused"``).
        origin: ``"config"`` (from the file) or ``"runtime"`` (added by the API).
    """

    venue: str
    instrument: str
    data_type: DataType
    canonical_symbol: str
    depth: int = 0
    candle_interval: str = "1m"
    stale_after_s: float = 0.0
    paused: bool = False
    origin: str = "config"

    @property
    def key(self) -> StreamKey:
        """``(venue, instrument, data_type)``."""
        return (self.venue, self.instrument, self.data_type)


@dataclass(frozen=True, slots=True)
class Knobs:
    """Per-stream settings changed at runtime (None: the config's value)."""

    paused: bool = False
    depth: int | None = None
    stale_after_s: float | None = None


@dataclass(frozen=True, slots=True)
class Overlay:
    """Runtime changes over the config file's streams.

    Attributes:
        added: streams added at runtime, by key.
        removed: config streams removed at runtime.
        knobs: per-stream settings, by key.
    """

    added: Mapping[StreamKey, StreamSpec] = field(default_factory=dict)
    removed: frozenset[StreamKey] = frozenset()
    knobs: Mapping[StreamKey, Knobs] = field(default_factory=dict)

    def document(self) -> bytes:
        """The overlay as the JSON document kept in the bucket (keys sorted, stable).

        Shape::

            {"version": 1,
             "added": [{"venue": "binance-usdm", "instrument": "AKROUSDT",
                        "canonical_symbol": "AKRO/USDT", "data_type": "l2_orderbook",
                        "depth": 0, "candle_interval": "1m"}],
             "removed": [{"venue": "binance-usdm", "instrument": "KEEPUSDT",
                          "data_type": "trade"}],
             "knobs": [{"venue": "binance-usdm", "instrument": "SUSHIUSDT",
                        "data_type": "trade", "paused": true, "depth": null,
                        "stale_after_s": null}]}
        """
        return orjson.dumps(
            {
                "version": DOCUMENT_VERSION,
                "added": [
                    {
                        "venue": s.venue,
                        "instrument": s.instrument,
                        "canonical_symbol": s.canonical_symbol,
                        "data_type": s.data_type.value,
                        "depth": s.depth,
                        "candle_interval": s.candle_interval,
                    }
                    for s in sorted(self.added.values(), key=_order)
                ],
                "removed": [
                    {"venue": v, "instrument": i, "data_type": d.value}
                    for v, i, d in sorted(self.removed, key=_key_order)
                ],
                "knobs": [
                    {
                        "venue": v,
                        "instrument": i,
                        "data_type": d.value,
                        "paused": k.paused,
                        "depth": k.depth,
                        "stale_after_s": k.stale_after_s,
                    }
                    for (v, i, d), k in sorted(self.knobs.items(), key=lambda kv: _key_order(kv[0]))
                ],
            },
            option=orjson.OPT_SORT_KEYS,
        )


def _key_order(key: StreamKey) -> tuple[str, str, str]:
    return (key[0], key[1], key[2].value)


def _order(spec: StreamSpec) -> tuple[str, str, str]:
    return _key_order(spec.key)


class DocumentError(ValueError):
    """A bucket document that is not an overlay (not JSON, wrong shape, wrong version)."""


def parse_document(
    data: bytes, venues: Mapping[str, frozenset[DataType]]
) -> tuple[Overlay, list[str]]:
    """Read an overlay document (shape: :meth:`Overlay.document`).

    Entries that break the config file's rules (an unknown venue, a data type
    the venue does not support...) are left out, each named in the returned
    list of problems; the rest is used.

    Raises:
        DocumentError: not a JSON object of ``version`` 1 with the three arrays.
    """
    try:
        root: Any = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise DocumentError(f"not JSON: {exc}") from None
    if not isinstance(root, dict) or root.get("version") != DOCUMENT_VERSION:
        raise DocumentError(f"not an overlay document of version {DOCUMENT_VERSION}")
    sections: list[list[Any]] = []
    for name in ("added", "removed", "knobs"):
        section = root.get(name)
        if not isinstance(section, list):
            raise DocumentError("added, removed and knobs must be arrays")
        sections.append(section)
    problems: list[str] = []
    added: dict[StreamKey, StreamSpec] = {}
    for index, item in enumerate(sections[0]):
        if not isinstance(item, dict):
            problems.append(f"added[{index}]: not an object")
            continue
        body = {k: v for k, v in item.items() if k != "data_type"}
        body["data_types"] = [item.get("data_type")]
        request, found = read_stream_request(body, venues=venues)
        if found:
            problems.extend(f"added[{index}].{p.path}: {p.message}" for p in found)
            continue
        spec = StreamSpec(
            request.venue,
            request.instrument,
            request.data_types[0],
            request.canonical_symbol,
            request.depth,
            request.candle_interval,
            origin="runtime",
        )
        added[spec.key] = spec
    removed: set[StreamKey] = set()
    knobs: dict[StreamKey, Knobs] = {}
    for name, items in (("removed", sections[1]), ("knobs", sections[2])):
        for index, item in enumerate(items):
            key = _document_key(item, venues)
            if key is None:
                problems.append(f"{name}[{index}]: not a stream of a registered venue")
                continue
            if name == "removed":
                removed.add(key)
                continue
            found_knobs = knobs_problems(item, allow=("venue", "instrument", "data_type"))
            if found_knobs[1]:
                problems.extend(f"knobs[{index}].{p.path}: {p.message}" for p in found_knobs[1])
                continue
            knobs[key] = found_knobs[0]
    return Overlay(added, frozenset(removed), knobs), problems


def _document_key(item: object, venues: Mapping[str, frozenset[DataType]]) -> StreamKey | None:
    if not isinstance(item, dict):
        return None
    venue, instrument, word = item.get("venue"), item.get("instrument"), item.get("data_type")
    if not (isinstance(venue, str) and isinstance(instrument, str) and isinstance(word, str)):
        return None
    try:
        data_type = DataType(word)
    except ValueError:
        return None
    if venue not in venues or data_type not in venues[venue] or not instrument:
        return None
    return (venue, instrument, data_type)


def knobs_problems(
    body: Mapping[str, object], base: Knobs = Knobs(), allow: Iterable[str] = ()
) -> tuple[Knobs, list[ConfigProblem]]:
    """Apply a ``PATCH`` body (any of ``paused``, ``depth``, ``stale_after_s``) to ``base``.

    Returns:
        The knobs and every problem (path = the key): ``paused`` a boolean,
        ``depth`` an integer 0 to 100,000 (or null: the config's),
        ``stale_after_s`` a finite number >= 0 (or null), no other key
        (but ``allow``).
    """
    problems: list[ConfigProblem] = []
    allowed = {"paused", "depth", "stale_after_s", *allow}
    for key in body:
        if key not in allowed:
            problems.append(
                ConfigProblem(key, "unknown key (known keys: paused, depth, stale_after_s)")
            )
    knobs = base
    if "paused" in body:
        paused = body["paused"]
        if isinstance(paused, bool):
            knobs = replace(knobs, paused=paused)
        else:
            problems.append(ConfigProblem("paused", f"expected a boolean, got {_shown(paused)}"))
    if "depth" in body:
        depth = body["depth"]
        if depth is None:
            knobs = replace(knobs, depth=None)
        elif isinstance(depth, bool) or not isinstance(depth, int):
            problems.append(ConfigProblem("depth", f"expected an integer, got {_shown(depth)}"))
        elif not 0 <= depth <= 100_000:
            problems.append(ConfigProblem("depth", f"must be 0 to 100000, got {depth}"))
        else:
            knobs = replace(knobs, depth=depth)
    if "stale_after_s" in body:
        stale = body["stale_after_s"]
        if stale is None:
            knobs = replace(knobs, stale_after_s=None)
        elif isinstance(stale, bool) or not isinstance(stale, int | float):
            problems.append(
                ConfigProblem("stale_after_s", f"expected a number of seconds, got {_shown(stale)}")
            )
        elif not math.isfinite(stale) or stale < 0:
            problems.append(
                ConfigProblem("stale_after_s", f"must be a finite number >= 0, got {stale}")
            )
        else:
            knobs = replace(knobs, stale_after_s=float(stale))
    return knobs, problems


def _shown(value: object) -> str:
    text = orjson.dumps(value).decode() if _jsonable(value) else type(value).__name__
    return text if len(text) <= 40 else text[:37] + "..."


def _jsonable(value: object) -> bool:
    try:
        orjson.dumps(value)
    except TypeError:
        return False
    return True


def config_streams(venues: Iterable[VenueConfig]) -> dict[StreamKey, StreamSpec]:
    """The streams of the config file's enabled venues, by key."""
    streams: dict[StreamKey, StreamSpec] = {}
    for venue in venues:
        if not venue.enabled:
            continue
        for sub in venue.subscriptions:
            for data_type in sub.data_types:
                spec = StreamSpec(
                    venue.id,
                    sub.instrument,
                    data_type,
                    sub.canonical_symbol,
                    sub.depth,
                    sub.candle_interval,
                    venue.stale_after_s.for_type(data_type),
                )
                streams[spec.key] = spec
    return streams


def effective(
    base: Mapping[StreamKey, StreamSpec],
    overlay: Overlay,
    venues: Mapping[str, VenueConfig],
) -> dict[StreamKey, StreamSpec]:
    """The desired streams: ``base`` less ``removed``, plus ``added``, with ``knobs`` applied.

    ``venues``: the config's venue sections, for an added stream's default
    ``stale_after_s`` (a venue not in the file: the defaults).
    """
    streams = {k: s for k, s in base.items() if k not in overlay.removed}
    for key, spec in overlay.added.items():
        if key not in streams:
            venue = venues.get(spec.venue) or VenueConfig(id=spec.venue, subscriptions=())
            streams[key] = replace(spec, stale_after_s=venue.stale_after_s.for_type(key[2]))
    for key, knobs in overlay.knobs.items():
        found = streams.get(key)
        if found is None:
            continue
        spec = found
        streams[key] = replace(
            spec,
            paused=knobs.paused,
            depth=spec.depth if knobs.depth is None else knobs.depth,
            stale_after_s=spec.stale_after_s
            if knobs.stale_after_s is None
            else knobs.stale_after_s,
        )
    return dict(sorted(streams.items(), key=lambda kv: _key_order(kv[0])))


@dataclass(frozen=True, slots=True)
class Changes:
    """What turns one effective set into another.

    Attributes:
        added: streams to subscribe.
        removed: streams to unsubscribe (their books dropped).
        retuned: (old, new) of streams whose settings changed.
    """

    added: tuple[StreamSpec, ...] = ()
    removed: tuple[StreamSpec, ...] = ()
    retuned: tuple[tuple[StreamSpec, StreamSpec], ...] = ()

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.retuned)


def diff(old: Mapping[StreamKey, StreamSpec], new: Mapping[StreamKey, StreamSpec]) -> Changes:
    """The changes from ``old`` to ``new`` (each in key order)."""
    return Changes(
        added=tuple(s for k, s in new.items() if k not in old),
        removed=tuple(s for k, s in old.items() if k not in new),
        retuned=tuple((old[k], s) for k, s in new.items() if k in old and old[k] != s),
    )


def request_streams(request: StreamRequest) -> list[StreamSpec]:
    """The streams a checked ``POST`` request names (origin ``runtime``)."""
    return [
        StreamSpec(
            request.venue,
            request.instrument,
            data_type,
            request.canonical_symbol,
            request.depth,
            request.candle_interval,
            origin="runtime",
        )
        for data_type in request.data_types
    ]
