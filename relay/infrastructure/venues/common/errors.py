"""The one mapping of a handler's exceptions to :class:`FrameError`, shared by every ``on_frame``.

A venue handler reads fields with ``message["field"]`` and the readers of
:mod:`relay.infrastructure.venues.common.wire`; a missing field raises KeyError
and a bad value InvalidValueError, TypeError or ValueError. Wrapped in
:class:`FrameErrors`, those leave ``on_frame`` as ``FrameError`` with the reason
the metrics count and a detail naming where in the frame it happened.
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType

from relay.application.errors import FrameError
from relay.domain.errors import InvalidValueError
from relay.infrastructure.venues.common import wire

_INVALID: tuple[type[Exception], ...] = (InvalidValueError, TypeError, ValueError)


class FrameErrors:
    """``with FrameErrors(channel): ...``: a handler's read errors as ``FrameError``.

    - KeyError -> ``FrameError("missing_field", "<context>: '<key>'")``
    - InvalidValueError, TypeError, ValueError (and ``also``) ->
      ``FrameError("invalid_value", "<context>: <error>")``

    The detail is cut to :data:`~relay.infrastructure.venues.common.wire.DETAIL_CHARS`
    characters; the context (the frame's channel, topic, event type or method as
    the venue sent it) is shown through :func:`~relay.infrastructure.venues.common.wire.label`.
    Any other exception, FrameError included, passes unchanged.

    Args:
        context: the venue's word that routed the frame.
        also: more exception types that mean an invalid value (Kraken: ArithmeticError).
        on_error: called before a KeyError or invalid value becomes a FrameError
            (Coinbase resyncs its books when a book message is malformed).
    """

    __slots__ = ("_context", "_invalid", "_on_error")

    def __init__(
        self,
        context: object,
        also: tuple[type[Exception], ...] = (),
        on_error: Callable[[], None] | None = None,
    ) -> None:
        self._context = context
        self._invalid = _INVALID + also if also else _INVALID
        self._on_error = on_error

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc is None:
            return
        if isinstance(exc, KeyError):
            if self._on_error is not None:
                self._on_error()
            raise FrameError(
                "missing_field", wire.clip(f"{wire.label(self._context)}: {exc.args[0]!r}")
            ) from None
        if isinstance(exc, self._invalid):
            if self._on_error is not None:
                self._on_error()
            raise FrameError(
                "invalid_value", wire.clip(f"{wire.label(self._context)}: {exc}")
            ) from None
