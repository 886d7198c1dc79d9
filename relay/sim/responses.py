"""The simulator's plain HTTP answers: recorded REST bodies, faults and 404s."""

from __future__ import annotations

import email.utils
import http
import json

from websockets.datastructures import Headers
from websockets.http11 import Response

from relay.sim.faults import REST_ERROR_RETRY_AFTER_S

_MANAGED_HEADERS = frozenset(
    {"connection", "content-length", "transfer-encoding", "content-encoding", "keep-alive"}
)


def not_found(target: str, reason: str) -> Response:
    """A 404 with a JSON body ``{"error": reason, "status": 404, "path": target}``."""
    body = json.dumps({"error": reason, "status": 404, "path": target})
    return http_response(http.HTTPStatus.NOT_FOUND, body, ())


def fault_response(status: int, target: str) -> Response:
    """A simulated REST fault: ``status`` with a JSON body; a 429 carries ``Retry-After``."""
    body = json.dumps({"error": "simulated fault", "status": status, "path": target})
    headers: tuple[tuple[str, str], ...] = ()
    if status == http.HTTPStatus.TOO_MANY_REQUESTS:
        headers = (("Retry-After", str(REST_ERROR_RETRY_AFTER_S)),)
    return http_response(status, body, headers)


def http_response(status: int, body: str, headers: tuple[tuple[str, str], ...]) -> Response:
    """An HTTP response with ``body`` (UTF-8) and the recorded ``(name, value)`` headers.

    Hop-by-hop and length headers of the recording are dropped; ``Date`` and
    ``Content-Type: application/json`` are added unless recorded.
    """
    body_bytes = body.encode("utf-8")
    recorded = [(name, value) for name, value in headers if name.lower() not in _MANAGED_HEADERS]
    recorded_names = {name.lower() for name, _ in recorded}
    defaults = [
        ("Date", email.utils.formatdate(usegmt=True)),
        ("Content-Type", "application/json"),
    ]
    response_headers = Headers(
        [(name, value) for name, value in defaults if name.lower() not in recorded_names]
        + recorded
        + [("Connection", "close"), ("Content-Length", str(len(body_bytes)))]
    )
    try:
        reason = http.HTTPStatus(status).phrase
    except ValueError:
        reason = ""
    return Response(status, reason, response_headers, body_bytes)
