"""The runtime control service: change the desired streams, persist them, apply the difference.

Every change (an API request, the bucket's overlay at start, another replica's
change seen in the bucket) goes through one lock: it is checked against the
current desired set, saved (API changes only), and the difference is handed
to the :class:`StreamRuntime`, which touches only the streams it names.
Every change is logged with who made it (the token's name, or ``bucket``).

Saves are compare-and-set: when another replica saved a change since this
process last read the document (:class:`StoreConflict`), its document is read
and taken first, then the request is checked and saved again (up to
``CONFLICT_ATTEMPTS`` times), so two changes made at once through two replicas
are both kept, or the later one is refused as it would be after the first
(409 for a stream the first one added).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import replace
from typing import Protocol, TypeVar

from relay.application.control.desired import (
    Changes,
    DocumentError,
    Knobs,
    Overlay,
    StreamKey,
    StreamSpec,
    config_streams,
    diff,
    effective,
    knobs_problems,
    parse_document,
    request_streams,
)
from relay.config.errors import ConfigProblem
from relay.config.loader import read_stream_request
from relay.config.model import SubscriptionConfig, VenueConfig
from relay.domain.errors import InvalidValueError, RelayError
from relay.domain.model import DataType, subject_token

log = logging.getLogger("relay.control")

T = TypeVar("T")

CONFLICT_ATTEMPTS = 5
"""Saves of one API change tried against a document other replicas keep changing."""


class ControlError(RelayError):
    """A change refused; ``status`` is the HTTP status the API answers.

    Attributes:
        status: 404 (no such stream), 409 (already subscribed), 422 (invalid:
            ``problems`` lists every problem), 503 (the desired state could not
            be saved; nothing changed).
        problems: ``(path, message)`` pairs.
    """

    def __init__(self, status: int, problems: Sequence[ConfigProblem]) -> None:
        super().__init__(
            "; ".join(f"{p.path}: {p.message}" if p.path else p.message for p in problems)
        )
        self.status = status
        self.problems = tuple(problems)


class StoreError(RelayError):
    """The desired state could not be saved (the bucket is unreachable)."""


class StoreConflict(StoreError):
    """The stored document changed since this process last read or wrote it (another
    replica's change): nothing was saved; read it again, then redo the change."""


class StreamRuntime(Protocol):
    """Applies a difference of desired streams to the running connections and pipeline."""

    async def apply(self, changes: Changes) -> None:
        """Subscribe ``added``, unsubscribe ``removed``, retune ``retuned``; nothing else."""
        ...


class DesiredStore(Protocol):
    """Where the overlay document is kept (the ``relay-control`` bucket)."""

    async def save(self, document: bytes) -> None:
        """Store the document, if the stored one is still the one last read or written here.

        Raises:
            StoreConflict: another writer stored a document since (nothing saved).
            StoreError: it could not be stored.
        """
        ...

    async def load(self) -> bytes | None:
        """The stored document now (None: none); later saves compare against it.

        Raises:
            StoreError: it could not be read.
        """
        ...


class ControlService:
    """The desired streams and the changes to them (see the module docstring).

    Args:
        venues: the config's venue sections (all, enabled or not).
        supported: venue id -> the data types it supports.
        runtime: applies differences.
        store: keeps the overlay; None: changes are not kept (no bucket).
        owns: whether this process serves a (venue, instrument): its shard
            (:func:`~relay.application.sharding.shard_of`); None: every one.
            The desired streams are the whole group's (one document for every
            shard), so a change made through any shard is checked against all
            of them and saved; only the owner's runtime applies it, and only
            owned streams are listed.
        refusal: what the venue's protocol refuses of its venue config holding
            one requested subscription (a candle interval the venue does not
            offer), as a message, or None; an add it refuses is a 422 and
            nothing changes. None: not asked (only the config rules apply).
    """

    def __init__(
        self,
        venues: Sequence[VenueConfig],
        supported: Mapping[str, frozenset[DataType]],
        runtime: StreamRuntime,
        store: DesiredStore | None = None,
        owns: Callable[[str, str], bool] | None = None,
        refusal: Callable[[VenueConfig], str | None] | None = None,
    ) -> None:
        self.venues = {venue.id: venue for venue in venues}
        self.owns = owns
        self.refusal = refusal
        self.supported = supported
        self.base = config_streams(venues)
        self.overlay = Overlay()
        self.runtime = runtime
        self.store = store
        self._lock = asyncio.Lock()
        self._current = effective(self.base, self.overlay, self.venues)

    def streams(self) -> list[StreamSpec]:
        """This process's desired streams, ordered by (venue, instrument, data type)."""
        owns = self.owns
        if owns is None:
            return list(self._current.values())
        return [s for s in self._current.values() if owns(s.venue, s.instrument)]

    def stream(self, key: StreamKey) -> StreamSpec | None:
        """One desired stream, or None."""
        return self._current.get(key)

    async def add(self, body: object, who: str) -> list[StreamSpec]:
        """Subscribe the streams a ``POST /api/v1/streams`` body names.

        Raises:
            ControlError: 422 (``body`` breaks a config rule: every problem; or
                the venue's protocol refuses it, see ``refusal``), 409 (a named
                stream is already subscribed), 503 (not saved).
        """
        if not isinstance(body, dict):
            raise ControlError(422, [ConfigProblem("", "expected a JSON object")])
        request, problems = read_stream_request(body, venues=self.supported)
        found = list(problems)
        venue = self.venues.get(request.venue)
        if venue is not None and not venue.enabled and not any(p.path == "venue" for p in found):
            found.append(
                ConfigProblem("venue", f"venue {request.venue!r} is disabled in the config")
            )
        if not found:
            refused = self._refused(
                request.venue,
                SubscriptionConfig(
                    request.instrument,
                    request.canonical_symbol,
                    request.data_types,
                    request.depth,
                    request.candle_interval,
                ),
            )
            if refused is not None:
                found.append(ConfigProblem("", refused))
        if found:
            raise ControlError(422, found)

        async def change() -> list[StreamSpec]:
            current = self._current
            wanted = request_streams(request)
            taken = [
                ConfigProblem(
                    f"data_types[{i}]",
                    f"{s.venue} {s.instrument} {s.data_type.value}: already subscribed",
                )
                for i, s in enumerate(wanted)
                if s.key in current
            ]
            if taken:
                raise ControlError(409, taken)
            self._check_symbol(request.venue, request.instrument, request.canonical_symbol)
            added = dict(self.overlay.added)
            knobs = dict(self.overlay.knobs)
            removed = set(self.overlay.removed)
            for spec in wanted:
                removed.discard(spec.key)
                base = self.base.get(spec.key)
                if base is None:
                    added[spec.key] = spec
                elif base.depth != spec.depth:
                    knobs[spec.key] = Knobs(depth=spec.depth)
            await self._commit(
                Overlay(added, frozenset(removed), knobs), who, "add", [s.key for s in wanted]
            )
            return [self._current[s.key] for s in wanted]

        return await self._changing(change)

    def _refused(self, venue_id: str, subscription: SubscriptionConfig) -> str | None:
        """What the venue's protocol refuses of its venue config holding ``subscription``
        alone (``refusal``), or None."""
        if self.refusal is None:
            return None
        venue = self.venues.get(venue_id) or VenueConfig(id=venue_id, subscriptions=())
        return self.refusal(replace(venue, subscriptions=(subscription,)))

    def _check_symbol(self, venue: str, instrument: str, canonical: str) -> None:
        """422 when the instrument is known under another name, or the name's token is taken."""
        try:
            token = subject_token(canonical)
        except InvalidValueError as exc:
            raise ControlError(422, [ConfigProblem("canonical_symbol", exc.reason)]) from None
        for spec in self._current.values():
            if spec.venue != venue:
                continue
            if spec.instrument == instrument and spec.canonical_symbol != canonical:
                raise ControlError(
                    422,
                    [
                        ConfigProblem(
                            "canonical_symbol",
                            f"{instrument!r} is subscribed as {spec.canonical_symbol!r}",
                        )
                    ],
                )
            if spec.instrument != instrument and subject_token(spec.canonical_symbol) == token:
                raise ControlError(
                    422,
                    [
                        ConfigProblem(
                            "canonical_symbol",
                            f"subject token {token!r} of {canonical!r} is already used by"
                            f" {spec.instrument!r} in venue {venue!r}",
                        )
                    ],
                )

    async def remove(
        self, venue: str, instrument: str, data_type: str | None, who: str
    ) -> list[StreamKey]:
        """Unsubscribe one instrument's streams (one data type, or all of them).

        Raises:
            ControlError: 404 (no such stream), 503 (not saved).
        """

        async def change() -> list[StreamKey]:
            keys = [
                key
                for key in self._current
                if key[0] == venue
                and key[1] == instrument
                and (data_type is None or key[2].value == data_type)
            ]
            if not keys:
                what = f"{venue} {instrument}" + (f" {data_type}" if data_type else "")
                raise ControlError(404, [ConfigProblem("", f"no such stream: {what}")])
            added = {k: s for k, s in self.overlay.added.items() if k not in keys}
            knobs = {k: s for k, s in self.overlay.knobs.items() if k not in keys}
            removed = self.overlay.removed | {k for k in keys if k in self.base}
            await self._commit(Overlay(added, removed, knobs), who, "remove", keys)
            return keys

        return await self._changing(change)

    async def patch(self, key: StreamKey, body: object, who: str) -> StreamSpec:
        """Change one stream's knobs (``paused``, ``depth``, ``stale_after_s``).

        Raises:
            ControlError: 404 (no such stream), 422 (every problem of ``body``), 503.
        """

        async def change() -> StreamSpec:
            if key not in self._current:
                what = f"{key[0]} {key[1]} {key[2].value}"
                raise ControlError(404, [ConfigProblem("", f"no such stream: {what}")])
            if not isinstance(body, dict):
                raise ControlError(422, [ConfigProblem("", "expected a JSON object")])
            knobs, problems = knobs_problems(body, self.overlay.knobs.get(key, Knobs()))
            if "depth" in body and key[2] is not DataType.L2_ORDERBOOK:
                problems.append(ConfigProblem("depth", "only l2_orderbook streams have a depth"))
            if problems:
                raise ControlError(422, problems)
            merged = {**self.overlay.knobs, key: knobs}
            if knobs == Knobs():
                del merged[key]
            await self._commit(replace(self.overlay, knobs=merged), who, "patch", [key], body)
            return self._current[key]

        return await self._changing(change)

    async def _changing(self, change: Callable[[], Awaitable[T]]) -> T:
        """Run an API change under the lock; after a :class:`StoreConflict`, take the stored
        document (another replica's change) and run it again.

        Raises:
            ControlError: what ``change`` raises; 503 when the document cannot be read
                again, or changed under every one of ``CONFLICT_ATTEMPTS`` saves.
        """
        for _ in range(CONFLICT_ATTEMPTS):
            async with self._lock:
                try:
                    return await change()
                except StoreConflict:
                    assert self.store is not None
                    try:
                        document = await self.store.load()
                    except StoreError as exc:
                        raise ControlError(
                            503, [ConfigProblem("", f"not saved, nothing changed: {exc}")]
                        ) from None
                    await self._take(document, "bucket")
        raise ControlError(
            503,
            [
                ConfigProblem(
                    "",
                    "not saved, nothing changed: the control state changed under each of"
                    f" {CONFLICT_ATTEMPTS} saves (other replicas' changes); try again",
                )
            ],
        )

    async def follow(self, document: bytes | None, source: str) -> None:
        """Take an overlay document from the bucket (at start, or another replica's change).

        A document that cannot be read is logged and ignored (the current
        streams stay); entries breaking a rule, or added streams the venue's
        protocol refuses, are logged and left out.
        """
        async with self._lock:
            await self._take(document, source)

    async def _take(self, document: bytes | None, source: str) -> None:
        """Apply a stored document (:meth:`_readable`) when it differs; under the lock."""
        overlay = self._readable(document, source)
        if overlay is not None and overlay != self.overlay:
            await self._commit(overlay, source, "follow", None, save=False)

    def _readable(self, document: bytes | None, source: str) -> Overlay | None:
        """The overlay a stored document holds (empty for none); None when it cannot be
        read (logged). Entries breaking a rule, or added streams the venue's protocol
        refuses (``refusal``), are logged and left out."""
        overlay = Overlay()
        if document:
            try:
                overlay, problems = parse_document(document, self.supported)
            except DocumentError as exc:
                log.error("control state ignored", extra={"source": source, "error": str(exc)})
                return None
            for problem in problems:
                log.warning(
                    "control state entry ignored", extra={"source": source, "problem": problem}
                )
        # An entry the venue's protocol refuses (written by hand, or by another version)
        # would fail every connection built with it: left out, as a rule breach is.
        kept = dict(overlay.added)
        for key, spec in overlay.added.items():
            refused = self._refused(
                spec.venue,
                SubscriptionConfig(
                    spec.instrument,
                    spec.canonical_symbol,
                    (spec.data_type,),
                    spec.depth,
                    spec.candle_interval,
                ),
            )
            if refused is not None:
                del kept[key]
                log.warning(
                    "control state entry ignored",
                    extra={
                        "source": source,
                        "problem": f"added {spec.venue} {spec.instrument}"
                        f" {spec.data_type.value}: {refused}",
                    },
                )
        return overlay if len(kept) == len(overlay.added) else replace(overlay, added=kept)

    def _owned(self, changes: Changes) -> Changes:
        """The part of ``changes`` this process serves (all of it without shards)."""
        owns = self.owns
        if owns is None:
            return changes
        return Changes(
            added=tuple(s for s in changes.added if owns(s.venue, s.instrument)),
            removed=tuple(s for s in changes.removed if owns(s.venue, s.instrument)),
            retuned=tuple(
                (old, new) for old, new in changes.retuned if owns(new.venue, new.instrument)
            ),
        )

    async def _commit(
        self,
        overlay: Overlay,
        who: str,
        action: str,
        keys: Sequence[StreamKey] | None,
        body: object = None,
        *,
        save: bool = True,
    ) -> None:
        """Save (unless ``save`` is false), then apply the difference; under the lock."""
        new = effective(self.base, overlay, self.venues)
        changes = diff(self._current, new)
        if save and self.store is not None:
            try:
                await self.store.save(overlay.document())
            except StoreConflict:
                raise
            except StoreError as exc:
                raise ControlError(
                    503, [ConfigProblem("", f"not saved, nothing changed: {exc}")]
                ) from None
        self.overlay = overlay
        self._current = new
        await self.runtime.apply(self._owned(changes))
        log.info(
            "control change",
            extra={
                "token": who,
                "action": action,
                "streams": [f"{v} {i} {d.value}" for v, i, d in keys] if keys else None,
                "change": body,
                "added": [f"{s.venue} {s.instrument} {s.data_type.value}" for s in changes.added],
                "removed": [
                    f"{s.venue} {s.instrument} {s.data_type.value}" for s in changes.removed
                ],
                "retuned": [
                    f"{s.venue} {s.instrument} {s.data_type.value}" for _, s in changes.retuned
                ],
            },
        )
