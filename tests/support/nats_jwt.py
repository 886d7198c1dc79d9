"""NATS decentralized auth made offline: operator, account and user JWTs and a ``.creds`` file.

The JWTs follow nats-io/jwt v2 (the format nats-server 2.x decodes): a header
``{"typ": "JWT", "alg": "ed25519-nkey"}``, claims with ``iss`` (the signer's
public nkey), ``sub`` (the subject's public nkey), ``iat``, ``jti`` and a
``nats`` object whose ``type`` is ``operator``, ``account`` or ``user``
(``version`` 2); all three parts base64url without padding, the signature an
Ed25519 signature (the ``nkeys`` package) of ``header.payload`` by the issuer.
A creds file is the user JWT and the user's seed between the ``-----BEGIN NATS
USER JWT-----`` / ``-----BEGIN USER NKEY SEED-----`` markers nats-py parses.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nkeys

UNLIMITED = {"subs": -1, "data": -1, "payload": -1, "imports": -1, "exports": -1}
JETSTREAM = {"mem_storage": -1, "disk_storage": -1, "streams": -1, "consumer": -1}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _keypair(prefix: int) -> tuple[bytes, Any]:
    seed = nkeys.encode_seed(os.urandom(32), prefix)
    return seed, nkeys.from_seed(bytearray(seed))


def _public(pair: Any) -> str:
    return str(pair.public_key.decode())


def encode_jwt(issuer: Any, subject: str, name: str, claims: dict[str, Any]) -> str:
    """A JWT of ``claims`` (the ``nats`` object) about ``subject``, signed by ``issuer``'s nkey."""
    header = _b64(json.dumps({"typ": "JWT", "alg": "ed25519-nkey"}).encode())
    body: dict[str, Any] = {
        "jti": "",
        "iat": int(time.time()),
        "iss": _public(issuer),
        "name": name,
        "sub": subject,
        "nats": {**claims, "version": 2},
    }
    digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).digest()
    body["jti"] = base64.b32encode(digest).decode().rstrip("=")
    payload = _b64(json.dumps(body).encode())
    signature = _b64(issuer.sign(f"{header}.{payload}".encode()))
    return f"{header}.{payload}.{signature}"


@dataclass(frozen=True)
class Operator:
    """An operator with a system account and one JetStream-enabled account.

    ``server_config`` is the nats-server config text that trusts the operator
    (memory resolver preloaded with both accounts).
    """

    server_config: str
    _account: Any

    def creds(self, path: Path, *, account: Any = None) -> Path:
        """Write a creds file for a new user of this operator's account (or of ``account``)."""
        seed, user = _keypair(nkeys.PREFIX_BYTE_USER)
        claims = {"pub": {}, "sub": {}, **UNLIMITED, "type": "user"}
        token = encode_jwt(account or self._account, _public(user), "relay", claims)
        path.write_text(
            f"-----BEGIN NATS USER JWT-----\n{token}\n------END NATS USER JWT------\n\n"
            f"-----BEGIN USER NKEY SEED-----\n{seed.decode()}\n------END USER NKEY SEED------\n"
        )
        return path


def new_operator() -> Operator:
    """A fresh operator, system account and account (keys made here, nothing on disk)."""
    _, operator = _keypair(nkeys.PREFIX_BYTE_OPERATOR)
    _, system = _keypair(nkeys.PREFIX_BYTE_ACCOUNT)
    _, account = _keypair(nkeys.PREFIX_BYTE_ACCOUNT)
    operator_jwt = encode_jwt(operator, _public(operator), "operator", {"type": "operator"})
    limits = {**UNLIMITED, "wildcards": True, "conn": -1, "leaf": -1}
    system_jwt = encode_jwt(operator, _public(system), "SYS", {"limits": limits, "type": "account"})
    account_jwt = encode_jwt(
        operator,
        _public(account),
        "RELAY",
        {"limits": {**limits, **JETSTREAM}, "type": "account"},
    )
    config = (
        f'operator: "{operator_jwt}"\n'
        f"system_account: {_public(system)}\n"
        "resolver: MEMORY\n"
        f'resolver_preload: {{ {_public(account)}: "{account_jwt}",'
        f' {_public(system)}: "{system_jwt}" }}\n'
    )
    return Operator(config, account)


def stranger_account() -> Any:
    """An account key no operator here signed: users it signs are refused."""
    return _keypair(nkeys.PREFIX_BYTE_ACCOUNT)[1]
