"""JetStream state the relay keeps: its streams, checked at start and after every reconnect.

:meth:`StreamKeeper.check` asks the server (JetStream API, docs.nats.io/reference/
reference-protocols/nats_api_reference) for its account info, then for every
``[[nats.streams]]`` entry:

- missing (a memory stream after a server restart, a server restarted empty):
  created, whatever ``manage`` says;
- present and equal to the config on the keys the relay sets: nothing;
- present and different: ``manage = "create"`` leaves it exactly as it is and
  logs the differences once (one line); ``manage = "update"`` updates it.

With no ``[[nats.streams]]`` at all, some stream must capture
``<subject_prefix>.>``. Problems come out as two errors: :class:`StreamSetupError`
for what only an operator can fix (one line, no traceback; exit 2 at start) and
:class:`JetStreamUnavailableError` for what may pass by itself (JetStream not
answering: a restarting server, a cluster electing a leader).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Iterator

import nats.errors
from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy as JsDiscardPolicy
from nats.js.api import StorageType as JsStorageType
from nats.js.api import StreamConfig as JsStreamConfig
from nats.js.errors import APIError, NotFoundError, ServiceUnavailableError

from relay.config.model import NatsConfig, StreamConfig, StreamManagement
from relay.domain.errors import RelayError

log = logging.getLogger("relay.nats")

JS_NOT_ENABLED_ERR_CODES = frozenset({10039, 10076})
"""JetStream API ``err_code`` values meaning "JetStream is not enabled" (server or account)."""


class StreamSetupError(RelayError):
    """JetStream or a stream is set up in a way only an operator can fix.

    Attributes:
        reason: one line naming the stream (if any) and what the server said.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class JetStreamUnavailableError(RelayError):
    """JetStream did not answer (timeout, no responders, 503): an outage that may pass."""


def js_stream_config(stream: StreamConfig) -> JsStreamConfig:
    """The nats-py stream configuration of a ``[[nats.streams]]`` entry."""
    return JsStreamConfig(
        name=stream.name,
        subjects=list(stream.subjects),
        storage=JsStorageType(stream.storage.value),
        max_age=stream.max_age_s,
        max_bytes=stream.max_bytes,
        max_msgs_per_subject=stream.max_msgs_per_subject,
        duplicate_window=stream.duplicate_window_s,
        num_replicas=stream.replicas,
        discard=JsDiscardPolicy(stream.discard.value),
    )


def stream_differences(existing: JsStreamConfig, wanted: StreamConfig) -> list[str]:
    """The keys on which a stream on the server differs from its config entry.

    Returns:
        ``["max_bytes: 1048576 on the server, 10737418240 configured", ...]``, in
        the order of ``[[nats.streams]]`` keys; empty when they agree.
    """
    pairs: list[tuple[str, object, object]] = [
        ("subjects", sorted(existing.subjects or []), sorted(wanted.subjects)),
        ("storage", _text(existing.storage, "file"), wanted.storage.value),
        ("max_age_s", float(existing.max_age or 0), wanted.max_age_s),
        ("max_bytes", existing.max_bytes, wanted.max_bytes),
        ("max_msgs_per_subject", existing.max_msgs_per_subject, wanted.max_msgs_per_subject),
        ("duplicate_window_s", float(existing.duplicate_window or 0), wanted.duplicate_window_s),
        ("replicas", existing.num_replicas, wanted.replicas),
        ("discard", _text(existing.discard, "old"), wanted.discard.value),
    ]
    return [
        f"{key}: {have!r} on the server, {want!r} configured"
        for key, have, want in pairs
        if have != want
    ]


def _text(value: object, default: str) -> str:
    """An enum member's value, or the string nats-py left in its place (it does both)."""
    if value is None:
        return default
    return str(getattr(value, "value", value))


@contextlib.contextmanager
def as_unavailable() -> Iterator[None]:
    """Turn what JetStream not answering raises inside the block (503 / no responders, a
    request timeout) into :class:`JetStreamUnavailableError`
    (``"JetStream not answering (timeout)"``); anything else passes unchanged."""
    try:
        yield
    except ServiceUnavailableError as exc:
        raise JetStreamUnavailableError(
            f"JetStream not answering ({exc.description or 'no responders'})"
        ) from None
    except nats.errors.NoRespondersError:
        raise JetStreamUnavailableError("JetStream not answering (no responders)") from None
    except (TimeoutError, nats.errors.TimeoutError):
        raise JetStreamUnavailableError("JetStream not answering (timeout)") from None


async def stream_request(request: Awaitable[object], failure: str) -> None:
    """Await a JetStream stream request (create, update).

    Raises:
        ServiceUnavailableError: JetStream did not answer (retried by the caller).
        StreamSetupError: the server refused it: ``"<failure>: <what the server said>"``.
    """
    try:
        await request
    except ServiceUnavailableError:
        raise
    except APIError as exc:
        raise StreamSetupError(f"{failure}: {_said(exc)}") from None


def _said(error: APIError) -> str:
    return error.description or f"code {error.code}, err_code {error.err_code}"


async def uncaptured_subjects(js: JetStreamContext, subjects: set[str]) -> set[str]:
    """The subjects of ``subjects`` that no stream on the server captures.

    Raises:
        nats.errors.Error, TimeoutError: JetStream did not answer.
    """
    lost = set()
    for subject in subjects:
        try:
            await js.find_stream_name_by_subject(subject)
        except NotFoundError:
            lost.add(subject)
    return lost


class StreamKeeper:
    """Checks JetStream and the configured streams; creates what is missing.

    Args:
        config: ``[nats]`` (its streams and subject prefix).
    """

    def __init__(self, config: NatsConfig) -> None:
        self._config = config
        self._differences_logged: set[str] = set()

    async def check(self, js: JetStreamContext) -> None:
        """Make sure JetStream answers and every configured stream exists.

        Args:
            js: a JetStream context whose ``timeout`` bounds each API request.

        Raises:
            StreamSetupError: JetStream disabled; a stream that cannot be created
                or updated (storage type change, subjects overlapping another
                stream, not enough resources); no stream for the relay's
                subjects when none is configured.
            JetStreamUnavailableError: JetStream did not answer in time.
        """
        try:
            with as_unavailable():
                await js.account_info()
                for stream in self._config.streams:
                    await self._ensure(js, stream)
                if not self._config.streams:
                    await self._find_any(js)
        except APIError as exc:
            if exc.err_code in JS_NOT_ENABLED_ERR_CODES:
                raise StreamSetupError(f"JetStream is not enabled: {_said(exc)}") from None
            raise

    async def _ensure(self, js: JetStreamContext, stream: StreamConfig) -> None:
        try:
            info = await js.stream_info(stream.name)
        except NotFoundError:
            await self._create(js, stream)
            return
        differences = stream_differences(info.config, stream)
        if not differences:
            return
        if stream.manage is StreamManagement.UPDATE:
            await stream_request(
                js.update_stream(js_stream_config(stream)),
                f"stream {stream.name}: cannot update it to the configuration"
                f" ({'; '.join(differences)})",
            )
            log.warning(
                "stream updated to the configuration",
                extra={"stream": stream.name, "differences": differences},
            )
            return
        key = f"{stream.name}:{differences}"
        if key not in self._differences_logged:
            self._differences_logged.add(key)
            log.warning(
                'stream differs from the configuration; left as it is (manage = "create")',
                extra={"stream": stream.name, "differences": differences},
            )

    async def _create(self, js: JetStreamContext, stream: StreamConfig) -> None:
        await stream_request(
            js.add_stream(js_stream_config(stream)), f"stream {stream.name}: cannot create it"
        )
        log.warning(
            "stream created",
            extra={
                "stream": stream.name,
                "subjects": list(stream.subjects),
                "storage": stream.storage.value,
            },
        )

    async def _find_any(self, js: JetStreamContext) -> None:
        subjects = f"{self._config.subject_prefix}.>"
        try:
            await js.find_stream_name_by_subject(subjects)
        except NotFoundError:
            raise StreamSetupError(
                f"no JetStream stream captures {subjects} and [[nats.streams]] configures none;"
                " configure one or create it on the server"
            ) from None
