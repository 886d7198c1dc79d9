"""Masking of secrets in anything shown: URLs with credentials, passwords, tokens.

The relay never prints a password, token or seed: log lines, ``/health``,
``/metrics`` and validation errors show :data:`MASK` in their place, and URLs
through :func:`mask_url`.
"""

from __future__ import annotations

from typing import Final
from urllib.parse import urlsplit

MASK: Final = "***"
"""What is shown in place of a secret."""


def mask_url(url: str) -> str:
    """``url`` with the secret part of its credentials replaced by :data:`MASK`.

    ``nats://relay:s3cret@host:4222`` -> ``nats://relay:***@host:4222``;
    ``nats://t0ken@host:4222`` (a token) -> ``nats://***@host:4222``. A URL
    without ``scheme://`` (a typo) has everything before its last ``@``
    masked; one without ``@`` is returned as it is.
    """
    scheme, separator, rest = url.partition("://")
    if not separator:
        _, at, host = url.rpartition("@")
        return f"{MASK}@{host}" if at else url
    end = min((rest.find(c) for c in "/?#" if c in rest), default=len(rest))
    userinfo, at, hostport = rest[:end].rpartition("@")
    if not at:
        return url
    user, colon, _ = userinfo.partition(":")
    shown = f"{user}:{MASK}" if colon else MASK
    return f"{scheme}{separator}{shown}@{hostport}{rest[end:]}"


def has_credentials(url: str) -> bool:
    """Whether ``url`` carries a user name, password or token (``user:pw@`` / ``token@``)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.username is not None or parts.password is not None
