"""Tests of relay.infrastructure.nats.security: options, refusal causes, the backoff."""

from __future__ import annotations

import ssl
from pathlib import Path

import nats.errors
import pytest
import trustme
from cryptography import x509

from relay.config.model import NatsConfig
from relay.infrastructure.nats.security import (
    REFUSED_RETRY_CAP_S,
    RefusalBackoff,
    refusal_reason,
    security_options,
    tls_context,
)

SECRET = "s3cret-never-shown"


def test_no_security_keys_give_no_options() -> None:
    assert security_options(NatsConfig()) == {}
    assert tls_context(NatsConfig()) is None


@pytest.mark.parametrize(
    ("config", "options"),
    [
        (NatsConfig(user="relay", password=SECRET), {"user": "relay", "password": SECRET}),
        (NatsConfig(token=SECRET), {"token": SECRET}),
        (NatsConfig(nkey_seed_file="/k/relay.nk"), {"nkeys_seed": "/k/relay.nk"}),
        (NatsConfig(creds_file="/k/relay.creds"), {"user_credentials": "/k/relay.creds"}),
    ],
)
def test_each_auth_method_becomes_its_nats_py_keyword(
    config: NatsConfig, options: dict[str, str]
) -> None:
    assert security_options(config) == options


def test_tls_files_build_a_context_that_trusts_the_ca_and_presents_the_certificate(
    tmp_path: Path,
) -> None:
    ca = trustme.CA()
    client = ca.issue_cert("relay.example")
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    client.cert_chain_pems[0].write_to_path(str(tmp_path / "c.pem"))
    client.private_key_pem.write_to_path(str(tmp_path / "c.key"))
    config = NatsConfig(
        tls_ca_file=str(tmp_path / "ca.pem"),
        tls_cert_file=str(tmp_path / "c.pem"),
        tls_key_file=str(tmp_path / "c.key"),
        tls_handshake_first=True,
    )
    options = security_options(config)
    context = options.pop("tls")
    assert options == {"tls_handshake_first": True}
    assert isinstance(context, ssl.SSLContext)
    assert (context.verify_mode, context.check_hostname) == (ssl.CERT_REQUIRED, True)
    assert [int(str(cert["serialNumber"]), 16) for cert in context.get_ca_certs()] == [
        x509.load_pem_x509_certificate(ca.cert_pem.bytes()).serial_number
    ]


def test_tls_verify_false_turns_off_certificate_and_host_checks() -> None:
    context = tls_context(NatsConfig(tls_verify=False))
    assert context is not None
    assert (context.verify_mode, context.check_hostname) == (ssl.CERT_NONE, False)


AUTH_VIOLATION = nats.errors.Error("nats: 'Authorization Violation'")


@pytest.mark.parametrize(
    ("config", "reason"),
    [
        (
            NatsConfig(user="relay", password=SECRET),
            'nats: authorization violation for user "relay"',
        ),
        (NatsConfig(token=SECRET), "nats: authorization violation for token ***"),
        (
            NatsConfig(nkey_seed_file="/k/relay.nk"),
            "nats: authorization violation for the nkey seed in /k/relay.nk",
        ),
        (
            NatsConfig(creds_file="/k/relay.creds"),
            "nats: authorization violation for the credentials in /k/relay.creds",
        ),
        (
            NatsConfig(urls=(f"nats://relay:{SECRET}@h:4222",)),
            'nats: authorization violation for user "relay" (from the URL)',
        ),
        (
            NatsConfig(urls=(f"nats://{SECRET}@h:4222",)),
            "nats: authorization violation for token *** (from the URL)",
        ),
        (
            NatsConfig(),
            "nats: authorization violation: the server wants credentials and none are configured",
        ),
    ],
)
def test_an_authorization_violation_names_the_credentials_without_secrets(
    config: NatsConfig, reason: str
) -> None:
    assert refusal_reason(AUTH_VIOLATION, config) == reason
    assert refusal_reason(nats.errors.AuthorizationError(), config) == reason


def test_expired_credentials_are_named_as_the_server_says() -> None:
    exc = nats.errors.Error("nats: 'User Authentication Expired'")
    assert (
        refusal_reason(exc, NatsConfig(creds_file="/k/r.creds"))
        == "nats: user authentication expired for the credentials in /k/r.creds"
    )


@pytest.mark.parametrize(
    "exc",
    [
        ConnectionRefusedError(111, "Connection refused"),
        TimeoutError(),
        nats.errors.NoServersError(),
        nats.errors.Error("nats: 'Maximum Connections Exceeded'"),
        ConnectionResetError("Connection lost"),  # no TLS configured: a network problem
    ],
)
def test_an_unreachable_server_or_other_error_is_not_a_refusal(exc: BaseException) -> None:
    assert refusal_reason(exc, NatsConfig(user="relay", password=SECRET)) is None


def test_backoff_doubles_from_half_a_second_with_jitter_up_to_the_cap() -> None:
    lowest = RefusalBackoff(rng=lambda: 0.0)
    highest = RefusalBackoff(rng=lambda: 0.999999)
    low = [lowest.next_wait_s() for _ in range(10)]
    high = [round(highest.next_wait_s(), 3) for _ in range(10)]
    assert low == [0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 15.0, 15.0, 15.0]
    assert high == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0, 30.0]
    assert max(high) == REFUSED_RETRY_CAP_S
    assert lowest.refusals == 10
    lowest.reset()
    assert (lowest.refusals, lowest.next_wait_s()) == (0, 0.25)


def ssl_alert(reason: str) -> ssl.SSLError:
    """An SSLError as OpenSSL raises it for a TLS alert from the server (``reason`` set)."""
    error = ssl.SSLError(1, f"[SSL: {reason}] alert")
    error.reason = reason
    return error


@pytest.mark.parametrize(
    "exc",
    [
        ssl_alert("TLSV13_ALERT_CERTIFICATE_REQUIRED"),
        ConnectionResetError("Connection lost"),
        BrokenPipeError(32, "Broken pipe"),
    ],
)
def test_every_way_a_server_ends_the_handshake_over_a_missing_certificate_is_one_line(
    exc: BaseException,
) -> None:
    config = NatsConfig(urls=("tls://h:4222",), tls_ca_file="/k/ca.pem")
    assert refusal_reason(exc, config) == (
        "nats: TLS: the server requires a client certificate and none is configured"
        " (tls_cert_file, tls_key_file)"
    )
    with_cert = NatsConfig(
        tls_ca_file="/k/ca.pem", tls_cert_file="/k/c.pem", tls_key_file="/k/c.key"
    )
    assert (
        refusal_reason(exc, with_cert)
        == "nats: TLS: the server refused the client certificate /k/c.pem"
    )
