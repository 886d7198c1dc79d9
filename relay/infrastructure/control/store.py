"""The desired streams in the ``relay-control`` key-value bucket, shared by a relay group.

One key per group, ``<group>.streams`` (``[cluster] group``), holding the
overlay document (:meth:`~relay.application.control.desired.Overlay.document`).
:meth:`ControlBucket.open` creates the bucket if missing and reads the key at
start; :meth:`ControlBucket.save` writes an API change, compare-and-set on the
revision last read or written here (another replica's write since is a
:class:`~relay.application.control.service.StoreConflict`; :meth:`ControlBucket.load`
reads the key again); :meth:`ControlBucket.watch` hands every later value of the
key (another replica's change, or this relay's own, which the service recognizes
as no change) to a callback.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

import nats.errors
from nats.js import JetStreamContext
from nats.js.api import KeyValueConfig, StorageType
from nats.js.errors import (
    BucketNotFoundError,
    KeyDeletedError,
    KeyNotFoundError,
    KeyWrongLastSequenceError,
    NotFoundError,
)
from nats.js.kv import KeyValue

from relay.application.control.service import StoreConflict, StoreError
from relay.config.control import ControlConfig
from relay.infrastructure.cancellation import raise_if_cancelled

log = logging.getLogger("relay.control")

WATCH_RETRY_S = 2.0
"""Seconds before the key is watched again after the watch ended (NATS reconnecting)."""


class ControlBucket:
    """The group's desired-streams key (see the module docstring).

    Args:
        config: ``[control]`` (the bucket's name and replicas).
        group: ``[cluster] group``.
    """

    def __init__(self, config: ControlConfig, group: str) -> None:
        self.bucket = config.bucket
        self.replicas = config.replicas
        self.key = f"{group}.streams"
        self._js: JetStreamContext | None = None
        self._kv: KeyValue | None = None
        self.revision = 0
        """The revision of the value last read or written here (0: none)."""

    async def open(self, js: JetStreamContext) -> bytes | None:
        """Create the bucket if missing; the key's value now (None: never written).

        Raises:
            StoreError: the bucket cannot be opened or created, or did not answer.
        """
        self._js = js
        return await self.load()

    async def _open(self) -> KeyValue:
        if self._kv is not None:
            return self._kv
        if self._js is None:
            raise StoreError("not connected to NATS")
        try:
            self._kv = await self._js.key_value(self.bucket)
        except (BucketNotFoundError, NotFoundError):
            self._kv = await self._js.create_key_value(
                KeyValueConfig(
                    bucket=self.bucket,
                    history=5,
                    storage=StorageType.FILE,
                    replicas=self.replicas,
                )
            )
            log.warning("bucket created", extra={"bucket": self.bucket})
        return self._kv

    async def _read(self, kv: KeyValue) -> bytes | None:
        try:
            entry = await kv.get(self.key)
        except KeyDeletedError as exc:  # a save after it must expect the delete marker
            self.revision = (exc.entry.revision or 0) if exc.entry is not None else 0
            return None
        except KeyNotFoundError:
            self.revision = 0
            return None
        self.revision = entry.revision or 0
        return entry.value or None

    async def save(self, document: bytes) -> None:
        """Write the group's document if the key is still at :attr:`revision` (none: absent).

        Raises:
            StoreConflict: another writer changed the key since (nothing written).
            StoreError: the bucket is not reachable (the change is refused with 503).
        """
        try:
            kv = await self._open()
            if self.revision:
                self.revision = await kv.update(self.key, document, last=self.revision)
            else:
                self.revision = await kv.create(self.key, document)
        except KeyWrongLastSequenceError:
            raise StoreConflict(
                f"bucket {self.bucket}: key {self.key} changed since revision {self.revision}"
            ) from None
        except (nats.errors.Error, TimeoutError) as exc:
            raise StoreError(f"bucket {self.bucket}: {exc!r}") from None

    async def load(self) -> bytes | None:
        """The key's value now (None: never written or deleted); :attr:`revision` follows.

        Raises:
            StoreError: the bucket is not reachable.
        """
        try:
            return await self._read(await self._open())
        except (nats.errors.Error, TimeoutError) as exc:
            raise StoreError(f"bucket {self.bucket}: {exc!r}") from None

    async def watch(self, changed: Callable[[bytes | None], Awaitable[None]]) -> None:
        """Hand every new value of the key to ``changed`` (None: deleted), until cancelled.

        The watch is opened again after :data:`WATCH_RETRY_S` when it ends or fails.
        """
        while True:
            raise_if_cancelled()
            try:
                kv = await self._open()
                watcher = await kv.watch(self.key)
                try:
                    raise_if_cancelled()  # opening the watch may have swallowed it
                    async for entry in watcher:
                        if entry is None or (entry.revision or 0) <= self.revision:
                            continue
                        self.revision = entry.revision or 0
                        await changed(entry.value or None)
                finally:
                    # An unsubscribe that fails (the connection closing) must not take the
                    # place of a cancellation: the loop below would open the watch again
                    # and the relay's stop would wait for this task forever.
                    with contextlib.suppress(nats.errors.Error, TimeoutError):
                        await watcher.stop()  # type: ignore[no-untyped-call]
            except (nats.errors.Error, TimeoutError, StoreError) as exc:
                log.warning(
                    "control state watch ended; retrying",
                    extra={"bucket": self.bucket, "error": repr(exc)},
                )
            await asyncio.sleep(WATCH_RETRY_S)
