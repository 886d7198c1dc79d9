"""The relay's consumer SDK: events, latest values, live books and stream states from NATS.

Imports only :mod:`relay.domain`, :mod:`relay.serialization` and nats-py
(docs/client.md).
"""

from relay.client.book import BookAssembler
from relay.client.client import LiveBook, NoStreamError, ReceivedEvent, RelayClient, StreamStatus

__all__ = [
    "BookAssembler",
    "LiveBook",
    "NoStreamError",
    "ReceivedEvent",
    "RelayClient",
    "StreamStatus",
]
