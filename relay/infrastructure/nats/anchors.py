"""A subject's last stored message, read where a hot standby resumes publishing.

``$JS.API.STREAM.MSG.GET`` (nats-py ``get_last_msg``, not the direct get: the
stream leader answers, so a message it acknowledged is never missed by a
lagging replica) for the stream capturing the subject; its ``Nats-Msg-Id``
header and envelope ``sequence`` (with its ``exchange_timestamp`` and
``received_at``, which tell whether a standby is behind it) make the
:class:`~relay.application.standby.Anchor`.
"""

from __future__ import annotations

import asyncio
import logging

import nats.errors
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from relay.application.log_rate_limit import LogRateLimit
from relay.application.standby import Anchor
from relay.infrastructure.cancellation import raise_if_cancelled
from relay.serialization.codec import WireDecodeError
from relay.serialization.events import decode_envelope

log = logging.getLogger("relay.lease")

RETRY_S = 0.25
"""Wait between two attempts while JetStream does not answer."""


class AnchorReader:
    """Reads anchors, waiting out JetStream outages.

    Args:
        js: a JetStream context whose ``timeout`` bounds each request.
        content_type: the relay's ``Content-Type`` (to decode ``sequence``).
    """

    def __init__(self, js: JetStreamContext, content_type: str) -> None:
        self._js = js
        self._content_type = content_type
        self._streams: dict[str, str] = {}
        self._log_limit = LogRateLimit(10.0)

    async def __call__(self, subject: str) -> Anchor | None:
        """The last message ``subject`` holds; None when it holds none (or no stream captures it).

        A stored message without a message id or a readable ``sequence`` (not the
        relay's) is logged and treated as none. Retries every ``RETRY_S`` while
        JetStream does not answer.
        """
        while True:
            raise_if_cancelled()
            try:
                return await self._read(subject)
            except (nats.errors.Error, OSError, TimeoutError) as exc:
                suppressed = self._log_limit.allow(subject)
                if suppressed is not None:
                    log.warning(
                        "anchor not readable; retrying",
                        extra={"subject": subject, "error": repr(exc), "suppressed": suppressed},
                    )
                await asyncio.sleep(RETRY_S)

    async def _read(self, subject: str) -> Anchor | None:
        stream = self._streams.get(subject)
        try:
            if stream is None:
                stream = self._streams[subject] = await self._js.find_stream_name_by_subject(
                    subject
                )
            msg = await self._js.get_last_msg(stream, subject)
        except NotFoundError:
            return None
        msg_id = (msg.headers or {}).get("Nats-Msg-Id")
        try:
            envelope = decode_envelope(msg.data or b"", self._content_type)
        except WireDecodeError:
            envelope = {}
        sequence = envelope.get("sequence")
        if not msg_id or not isinstance(sequence, int):
            log.warning(
                "last stored message is not the relay's; resuming from none",
                extra={"subject": subject},
            )
            return None
        return Anchor(
            msg_id,
            sequence,
            _ms(envelope.get("exchange_timestamp")),
            _ms(envelope.get("received_at")),
        )


def _ms(value: object) -> int | None:
    """An envelope time (epoch ms) as an int; None when absent or not an integer."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None
