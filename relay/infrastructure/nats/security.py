"""NATS authentication and TLS: nats-py connect options, and why a server refused the relay.

:func:`security_options` turns ``[nats]`` (``user``/``password``, ``token``,
``nkey_seed_file``, ``creds_file``, ``tls_*``) into keyword arguments of nats-py's
``Client.connect`` (nats-py 2.16: ``tls``, ``tls_handshake_first``, ``user``,
``password``, ``token``, ``nkeys_seed``, ``user_credentials``).
:func:`refusal_reason` names the cause of a failed connection attempt in one
line that never contains a secret (``nats: authorization violation for user
"relay"``); :class:`RefusalBackoff` spaces the attempts after a refusal.
"""

from __future__ import annotations

import contextlib
import random
import ssl
from collections.abc import Callable
from typing import Any, Final
from urllib.parse import urlsplit

import nats.errors

from relay.config.model import NatsConfig
from relay.config.secrets import MASK

REFUSED_RETRY_BASE_S: Final = 0.5
"""First wait after the server refused the relay (authorization or TLS); doubles per refusal."""

REFUSED_RETRY_CAP_S: Final = 30.0
"""Longest wait between two attempts while the server keeps refusing the relay."""

_CLIENT_CERT_ALERTS: Final = frozenset(
    {
        "TLSV13_ALERT_CERTIFICATE_REQUIRED",
        "SSLV3_ALERT_BAD_CERTIFICATE",
        "TLSV1_ALERT_UNKNOWN_CA",
        "SSLV3_ALERT_CERTIFICATE_UNKNOWN",
    }
)
"""OpenSSL's names of the alerts a server sends when it wants or refuses the client certificate."""

_SERVER_REFUSALS: Final = (
    "authorization violation",
    "authentication expired",
    "authentication revoked",
    "account authentication expired",
    "user authentication expired",
)


def tls_context(config: NatsConfig) -> ssl.SSLContext | None:
    """The client's TLS context from ``tls_*``; None when no ``tls_*`` key is set.

    Raises:
        OSError, ssl.SSLError: a file cannot be read or is not PEM of the right
            kind (the loader checked that the files exist and can be read).
    """
    if not config.tls_configured:
        return None
    context = ssl.create_default_context(cafile=config.tls_ca_file or None)
    if config.tls_cert_file:
        context.load_cert_chain(config.tls_cert_file, config.tls_key_file or None)
    if not config.tls_verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def security_options(config: NatsConfig) -> dict[str, Any]:
    """nats-py ``connect`` keyword arguments for ``[nats]``'s authentication and TLS.

    Only the keys that are set appear; the loader allows one authentication
    method. ``nkey_seed_file`` and ``creds_file`` are read by nats-py at each
    connection attempt (with the ``nkeys`` package), so a rotated file is used
    on the next reconnect.
    """
    options: dict[str, Any] = {}
    context = tls_context(config)
    if context is not None:
        options["tls"] = context
    if config.tls_handshake_first:
        options["tls_handshake_first"] = True
    if config.user:
        options["user"] = config.user
        options["password"] = config.password
    if config.token:
        options["token"] = config.token
    if config.nkey_seed_file:
        options["nkeys_seed"] = config.nkey_seed_file
    if config.creds_file:
        options["user_credentials"] = config.creds_file
    return options


def credentials_shown(config: NatsConfig) -> str | None:
    """Who the relay says it is, without secrets: ``user "relay"``, ``token ***``, ...

    None when no credentials are configured.
    """
    if config.user:
        return f'user "{config.user}"'
    if config.token:
        return f"token {MASK}"
    if config.nkey_seed_file:
        return f"the nkey seed in {config.nkey_seed_file}"
    if config.creds_file:
        return f"the credentials in {config.creds_file}"
    for url in config.urls:
        with contextlib.suppress(ValueError):
            parts = urlsplit(url)
            if parts.password is not None:
                return f'user "{parts.username}" (from the URL)'
            if parts.username is not None:
                return f"token {MASK} (from the URL)"
    return None


def refusal_reason(exc: BaseException, config: NatsConfig) -> str | None:
    """One line naming why the server refused a connection attempt; None if it did not.

    A refusal is the server answering and saying no: an authorization or
    authentication error (``-ERR 'Authorization Violation'``), a certificate the
    relay does not trust, a TLS handshake the server ends (a client certificate
    it requires or refuses). An unreachable server is not a refusal.

    Args:
        exc: the error nats-py reported for the attempt.
        config: ``[nats]``, to name the credentials and TLS files (never a secret).
    """
    if isinstance(exc, ssl.SSLCertVerificationError):
        trusted = config.tls_ca_file or "the system's CAs"
        return (
            f"nats: TLS: the server's certificate is not trusted ({exc.verify_message};"
            f" CA file: {trusted})"
        )
    # The server ending the handshake over the client certificate shows as an alert
    # or, when the alert loses the race with the close, as a reset connection or a
    # broken pipe (seen 14, 22 and 4 times in 40 attempts without a certificate).
    alert = isinstance(exc, ssl.SSLError) and str(exc.reason) in _CLIENT_CERT_ALERTS
    closed = isinstance(exc, ConnectionError) and not isinstance(exc, ConnectionRefusedError)
    if alert or (closed and config.tls_configured):
        if config.tls_cert_file:
            return f"nats: TLS: the server refused the client certificate {config.tls_cert_file}"
        return (
            "nats: TLS: the server requires a client certificate and none is configured"
            " (tls_cert_file, tls_key_file)"
        )
    if isinstance(exc, ssl.SSLError):
        return f"nats: TLS handshake failed: {exc.reason or exc}"
    if isinstance(exc, nats.errors.AuthorizationError):
        text = "authorization violation"
    elif isinstance(exc, nats.errors.Error):
        text = str(exc).removeprefix("nats: ").strip("'").lower()
        if text not in _SERVER_REFUSALS:
            return None
    else:
        return None
    who = credentials_shown(config)
    if who is None:
        return f"nats: {text}: the server wants credentials and none are configured"
    return f"nats: {text} for {who}"


class RefusalBackoff:
    """Waits between attempts while the server refuses the relay: jittered doubling with a cap.

    The n-th consecutive refusal (from 0) waits a uniformly random time in
    ``[d/2, d]`` with ``d = min(cap_s, base_s * 2**n)``; :meth:`reset` after a
    successful connection starts again from ``base_s``.

    Args:
        base_s: first upper bound (seconds).
        cap_s: largest upper bound (seconds).
        rng: uniform random in [0, 1) (``random.random``; tests pass their own).
    """

    __slots__ = ("_base_s", "_cap_s", "_refusals", "_rng")

    def __init__(
        self,
        base_s: float = REFUSED_RETRY_BASE_S,
        cap_s: float = REFUSED_RETRY_CAP_S,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self._base_s = base_s
        self._cap_s = cap_s
        self._rng = rng
        self._refusals = 0

    @property
    def refusals(self) -> int:
        """Consecutive refusals since the last :meth:`reset`."""
        return self._refusals

    def next_wait_s(self) -> float:
        """Count one refusal; the seconds to wait before the next attempt."""
        ceiling_s = min(self._cap_s, self._base_s * float(2 ** min(self._refusals, 32)))
        self._refusals += 1
        return ceiling_s * (0.5 + self._rng() / 2)

    def reset(self) -> None:
        """A connection succeeded: the next refusal waits ``base_s`` at most again."""
        self._refusals = 0
