"""The relay against real nats-server processes that require TLS or credentials.

Every mode the ``[nats]`` section offers is served by a nats-server started here
with a config file written to ``tmp_path``: TLS with a private CA (certificates
made with ``trustme``), mutual TLS (``verify: true``), nkey (keys made with
``nkeys``), JWT user credentials (operator, account and user JWTs made offline by
``support.nats_jwt``), user/password and token. Each mode is run three ways:

- ``right``: a real ``relay run`` subprocess against ``relay simulate`` on the
  recorded binance-spot session connects and publishes it completely (what
  JetStream holds is checked against the recording, and equals the relay's
  published count);
- ``wrong`` and ``missing`` credentials: the relay logs one line naming the
  cause, the server sees its attempts spaced by the growing backoff (not the
  0.5 s of nats-py), and ``/health`` says why.

TLS with ``handshake_first`` (TLS before the server's INFO) is run the right way
only: without it on both sides the two wait for each other until the connect
timeout, which is a server that does not answer, not a refusal.

In every run the secrets (password, token, nkey seed) appear in none of the
relay's stderr, ``/health`` or ``/metrics``, nor in ``relay validate``'s output.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import re
import ssl
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import nkeys
import orjson
import pytest
import trustme
from prometheus_client.parser import text_string_to_metric_families
from support.e2e import (
    config_text,
    expected_counts,
    simulator_process,
    start_relay,
    stop_relay,
    stored_messages,
    verify_jetstream,
)
from support.nats_jwt import Operator, new_operator, stranger_account

from relay.infrastructure.embedded_nats import free_port, nats_server_binary
from relay.infrastructure.nats.security import REFUSED_RETRY_BASE_S

pytestmark = pytest.mark.integration

VENUE = ("binance-spot",)
PASSWORD = "pw-Zq81-never-shown"
TOKEN = "tok-Hx55-never-shown"
MODES = ("tls", "mtls", "nkey", "creds", "user", "token")
CASES = ("right", "wrong", "missing")
REFUSALS_SEEN = 5
"""Server-side refusals waited for in the wrong/missing runs (4 waits measured)."""

LOG_SKEW_S = 0.3
"""Allowance for when nats-server logs a refused attempt relative to the attempt."""


@dataclass(frozen=True)
class Pki:
    """Files of a private CA, the server's and the relay's certificates, and a stranger CA."""

    ca: trustme.CA
    ca_file: Path
    other_ca_file: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    stranger_cert: Path
    stranger_key: Path


@dataclass(frozen=True)
class Nkeys:
    """An nkey user the server knows and one it does not (seed files and the public key);
    an operator (JWT auth) with a creds file of its account and one of a stranger account."""

    seed: str
    seed_file: Path
    public_key: str
    other_seed: str
    other_seed_file: Path
    operator: Operator
    creds_file: Path
    other_creds_file: Path


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    root = tmp_path_factory.mktemp("pki")
    ca, other = trustme.CA(), trustme.CA()
    server = ca.issue_cert("127.0.0.1", "localhost")
    client = ca.issue_cert("relay.example")
    stranger = other.issue_cert("relay.example")
    files = {
        "ca.pem": ca.cert_pem,
        "other-ca.pem": other.cert_pem,
        "server.pem": server.cert_chain_pems[0],
        "server.key": server.private_key_pem,
        "client.pem": client.cert_chain_pems[0],
        "client.key": client.private_key_pem,
        "stranger.pem": stranger.cert_chain_pems[0],
        "stranger.key": stranger.private_key_pem,
    }
    for name, blob in files.items():
        blob.write_to_path(str(root / name))
    return Pki(
        ca,
        root / "ca.pem",
        root / "other-ca.pem",
        root / "server.pem",
        root / "server.key",
        root / "client.pem",
        root / "client.key",
        root / "stranger.pem",
        root / "stranger.key",
    )


@pytest.fixture(scope="module")
def user_nkeys(tmp_path_factory: pytest.TempPathFactory) -> Nkeys:
    root = tmp_path_factory.mktemp("nkeys")
    seed = nkeys.encode_seed(os.urandom(32), nkeys.PREFIX_BYTE_USER)
    other = nkeys.encode_seed(os.urandom(32), nkeys.PREFIX_BYTE_USER)
    (root / "relay.nk").write_bytes(seed + b"\n")
    (root / "other.nk").write_bytes(other + b"\n")
    public = nkeys.from_seed(bytearray(seed)).public_key.decode()
    operator = new_operator()
    return Nkeys(
        seed.decode(),
        root / "relay.nk",
        public,
        other.decode(),
        root / "other.nk",
        operator,
        operator.creds(root / "relay.creds"),
        operator.creds(root / "other.creds", account=stranger_account()),
    )


def server_config(mode: str, port: int, store: Path, pki: Pki, keys: Nkeys) -> str:
    """nats-server's config file for one mode (JetStream on, listening on 127.0.0.1:port)."""
    lines = [f'listen: "127.0.0.1:{port}"', f'jetstream {{ store_dir: "{store}" }}']
    if mode in ("tls", "mtls", "tls-first"):
        extra = {
            "mtls": f'\n  ca_file: "{pki.ca_file}"\n  verify: true',
            "tls-first": "\n  handshake_first: true",
        }.get(mode, "")
        lines.append(
            f'tls {{\n  cert_file: "{pki.server_cert}"\n  key_file: "{pki.server_key}"{extra}\n}}'
        )
    elif mode == "nkey":
        lines.append(f'authorization {{ users = [ {{ nkey: "{keys.public_key}" }} ] }}')
    elif mode == "user":
        lines.append(f'authorization {{ user: "relay", password: "{PASSWORD}" }}')
    elif mode == "token":
        lines.append(f'authorization {{ token: "{TOKEN}" }}')
    elif mode == "creds":
        lines.append(keys.operator.server_config)
    return "\n".join(lines) + "\n"


def relay_keys(mode: str, case: str, pki: Pki, keys: Nkeys) -> str:
    """The relay's ``[nats]`` security keys for a mode and case (right, wrong, missing)."""
    if case == "missing":
        return {
            "tls": "",  # no CA of its own: the system's CAs do not know the private one
            "mtls": f'tls_ca_file = "{pki.ca_file}"\n',  # trusts the server, has no cert
        }.get(mode, "")
    right = case == "right"
    if mode == "tls":
        return f'tls_ca_file = "{pki.ca_file if right else pki.other_ca_file}"\n'
    if mode == "mtls":
        cert, key = (
            (pki.client_cert, pki.client_key) if right else (pki.stranger_cert, pki.stranger_key)
        )
        return f'tls_ca_file = "{pki.ca_file}"\ntls_cert_file = "{cert}"\ntls_key_file = "{key}"\n'
    if mode == "nkey":
        return f'nkey_seed_file = "{keys.seed_file if right else keys.other_seed_file}"\n'
    if mode == "creds":
        return f'creds_file = "{keys.creds_file if right else keys.other_creds_file}"\n'
    if mode == "user":
        return f'user = "relay"\npassword = "{PASSWORD if right else "not-the-password"}"\n'
    return f'token = "{TOKEN if right else "not-the-token"}"\n'


def expected_reason(mode: str, case: str, pki: Pki, keys: Nkeys) -> str:
    """The one line the relay must log and show in ``/health`` when refused."""
    untrusted = "nats: TLS: the server's certificate is not trusted (unable to get local"
    if mode == "tls":
        ca = pki.other_ca_file if case == "wrong" else "the system's CAs"
        return f"{untrusted} issuer certificate; CA file: {ca})"
    if mode == "mtls":
        if case == "wrong":
            return f"nats: TLS: the server refused the client certificate {pki.stranger_cert}"
        return (
            "nats: TLS: the server requires a client certificate and none is configured"
            " (tls_cert_file, tls_key_file)"
        )
    if case == "missing":
        return "nats: authorization violation: the server wants credentials and none are configured"
    who = {
        "nkey": f"the nkey seed in {keys.other_seed_file}",
        "creds": f"the credentials in {keys.other_creds_file}",
        "user": 'user "relay"',
        "token": "token ***",
    }[mode]
    return f"nats: authorization violation for {who}"


def client_options(mode: str, pki: Pki, keys: Nkeys) -> dict[str, Any]:
    """The test's own nats-py options to read what JetStream holds."""
    if mode in ("tls", "mtls", "tls-first"):
        context = ssl.create_default_context()
        pki.ca.configure_trust(context)
        if mode == "mtls":
            context.load_cert_chain(pki.client_cert, pki.client_key)
        return {"tls": context, "tls_handshake_first": mode == "tls-first"}
    return {
        "nkey": {"nkeys_seed": str(keys.seed_file)},
        "creds": {"user_credentials": str(keys.creds_file)},
        "user": {"user": "relay", "password": PASSWORD},
        "token": {"token": TOKEN},
    }[mode]


@dataclass
class Server:
    """A nats-server process; its log lines are in ``log``."""

    url: str
    log: Path
    process: subprocess.Popen[bytes]

    def lines(self, pattern: str) -> list[str]:
        return [line for line in self.log.read_text().splitlines() if pattern in line]


@contextlib.contextmanager
def nats_server(mode: str, tmp_path: Path, pki: Pki, keys: Nkeys) -> Iterator[Server]:
    port = free_port()
    conf = tmp_path / "nats.conf"
    conf.write_text(server_config(mode, port, tmp_path / "js", pki, keys))
    log = tmp_path / "nats.log"
    with log.open("wb") as out:
        process = subprocess.Popen([str(nats_server_binary()), "-c", str(conf)], stderr=out)
    scheme = "tls" if mode in ("tls", "mtls", "tls-first") else "nats"
    server = Server(f"{scheme}://127.0.0.1:{port}", log, process)
    try:
        yield server
    finally:
        process.terminate()
        process.wait(10)


async def wait_for(condition: Any, timeout_s: float, what: str) -> None:
    """Poll ``condition()`` every 50 ms until true; fail naming ``what`` after ``timeout_s``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not condition():
        assert loop.time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


@contextlib.asynccontextmanager
async def relay_process(
    config: Path,
) -> AsyncIterator[tuple[asyncio.subprocess.Process, list[str]]]:
    """``relay run``; yields the process and, once it stopped, its stderr as the list's item
    (printed when the body failed: the relay may have ended first, and said why)."""
    relay = await start_relay(config)
    out: list[str] = []
    try:
        yield relay, out
    except BaseException:
        tail = (await stop_relay(relay))[-3000:]
        print(f"\nrelay (exit {relay.returncode}) stderr:\n{tail}")
        raise
    else:
        out.append(await stop_relay(relay))


async def http_get(port: int, path: str) -> httpx.Response:
    async with httpx.AsyncClient() as client:
        return await client.get(f"http://127.0.0.1:{port}{path}")


def log_records(stderr: str) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in stderr.splitlines() if line.startswith("{")]


SERVER_TIME = re.compile(r"\] (\d{4}/\d\d/\d\d \d\d:\d\d:\d\d\.\d+) \[")


def server_times(lines: list[str]) -> list[float]:
    """The nats-server log lines' timestamps, in seconds."""
    result = []
    for line in lines:
        match = SERVER_TIME.search(line)
        assert match, line
        result.append(datetime.strptime(match.group(1), "%Y/%m/%d %H:%M:%S.%f").timestamp())
    return result


def assert_no_secret(texts: list[str], keys: Nkeys) -> None:
    creds_seeds = [
        line
        for path in (keys.creds_file, keys.other_creds_file)
        for line in path.read_text().splitlines()
        if line.startswith("SU")
    ]
    assert len(creds_seeds) == 2
    secrets = [PASSWORD, TOKEN, keys.seed, keys.other_seed, "not-the-password", "not-the-token"]
    for secret in secrets + creds_seeds:
        for text in texts:
            assert secret not in text


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("mode", MODES)
async def test_each_nats_security_mode_publishes_with_the_right_credentials_and_says_why_not(
    mode: str, case: str, pki: Pki, user_nkeys: Nkeys, tmp_path: Path
) -> None:
    http_port = free_port()
    config = tmp_path / "relay.toml"
    with nats_server(mode, tmp_path, pki, user_nkeys) as server:
        await wait_for(lambda: server.lines("Server is ready"), 10, "nats-server")
        keys = relay_keys(mode, case, pki, user_nkeys)
        if case == "right":
            await publishes_the_session(mode, server, config, http_port, keys, pki, user_nkeys)
        else:
            reason = expected_reason(mode, case, pki, user_nkeys)
            await is_refused(mode, server, config, http_port, keys, reason, user_nkeys)


async def publishes_the_session(
    mode: str, server: Server, config: Path, http_port: int, keys: str, pki: Pki, nk: Nkeys
) -> None:
    async with simulator_process("binance-spot.jsonl") as simulator:
        write_relay_config(
            config, config_text(server.url, simulator, http_port, "json", VENUE), keys
        )
        async with relay_process(config) as (relay, stderr):
            messages = await stored_messages(
                server.url, expected_counts(VENUE), **client_options(mode, pki, nk)
            )
            health = await http_get(http_port, "/health")
            metrics = (await http_get(http_port, "/metrics")).text
    assert relay.returncode == 0, stderr[0][-2000:]
    assert (health.status_code, health.json()["status"]) == (200, "healthy")
    assert health.json()["nats"] == {
        "connected": True,
        "jetstream_ready": True,
        "problem": "",
        "reason": "",
    }
    published = sum(
        sample.value
        for family in text_string_to_metric_families(metrics)
        for sample in family.samples
        if sample.name == "relay_events_published_total"
    )
    seen = verify_jetstream(messages, "json", VENUE)
    print(f"\n{mode}: JetStream holds {len(messages)}, relay published {published:g}: {dict(seen)}")
    assert published == len(messages)
    assert dict(seen) == {
        "trade": 2,
        "ticker": 84,
        "candle": 2,
        "l2_orderbook": 176,
        "l2_snapshot": 4,
    }
    assert_no_secret([stderr[0], health.text, metrics], nk)


async def is_refused(
    mode: str,
    server: Server,
    config: Path,
    http_port: int,
    keys: str,
    reason: str,
    nk: Nkeys,
    url: str = "",
) -> None:
    pattern = "TLS handshake error" if mode in ("tls", "mtls") else "authentication error"
    write_relay_config(
        config, config_text(url or server.url, "127.0.0.1:9", http_port, "json", VENUE), keys
    )
    async with relay_process(config) as (_, stderr):
        await wait_for(
            lambda: len(server.lines(pattern)) >= REFUSALS_SEEN, 60, f"{REFUSALS_SEEN} refusals"
        )
        health = await http_get(http_port, "/health")
        metrics = (await http_get(http_port, "/metrics")).text
    refusals = server_times(server.lines(pattern))
    gaps = [round(b - a, 3) for a, b in itertools.pairwise(refusals)]
    lines = [r for r in log_records(stderr[0]) if r["msg"] == reason]
    print(f"\n{mode}/{reason}: {len(refusals)} server-side refusals, gaps {gaps} s, lines {lines}")
    assert (health.status_code, health.json()["status"]) == (503, "unhealthy")
    assert health.json()["nats"]["reason"] == reason
    assert health.json()["nats"]["connected"] is False
    # One line for the cause, however many attempts (rate limit: one per 10 s per cause).
    window_s = refusals[-1] - refusals[0]
    assert 1 <= len(lines) <= 1 + int(window_s // 10), stderr[0][-3000:]
    assert (lines[0]["level"], lines[0]["refusals"], lines[0]["suppressed"]) == ("ERROR", 1, 0)
    assert "Traceback" not in stderr[0]
    # Every attempt was recognized as a refusal (none taken for an unreachable server).
    assert [r for r in log_records(stderr[0]) if r["msg"] == "NATS not reachable, retrying"] == []
    # Backoff: the n-th wait is at least half of 0.5 s * 2**n (jitter), so the first
    # REFUSALS_SEEN attempts span at least 0.25 + 0.5 + 1 + 2 = 3.75 s; nats-py's own
    # fixed 0.5 s would make them 2 s.
    least_s = sum(REFUSED_RETRY_BASE_S * 2**n / 2 for n in range(REFUSALS_SEEN - 1))
    assert refusals[REFUSALS_SEEN - 1] - refusals[0] >= least_s - LOG_SKEW_S, gaps
    assert_no_secret([stderr[0], health.text, metrics], nk)


def write_relay_config(path: Path, text: str, keys: str) -> None:
    """The e2e config with the security keys at the top of ``[nats]``."""
    path.write_text(text.replace("[nats]\n", "[nats]\n" + keys, 1))


async def test_secrets_appear_in_no_validation_error_log_line_health_or_metrics(
    pki: Pki, user_nkeys: Nkeys, tmp_path: Path
) -> None:
    # Validation: credentials in URLs (valid and refused ones), a token from the
    # environment that conflicts, a password of the wrong type.
    config = tmp_path / "invalid.toml"
    write_relay_config(
        config,
        config_text(
            f"nats://relay:{PASSWORD}@127.0.0.1:4222", "127.0.0.1:9", 8080, "json", VENUE
        ).replace("urls = [", f'urls = ["relay:{PASSWORD}@typo:4222", ', 1),
        'token = "${RELAY_TEST_TOKEN}"\npassword = 4815162342\n',
    )
    validate = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "relay.cli",
        "validate",
        "--config",
        str(config),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "RELAY_TEST_TOKEN": TOKEN},
    )
    out, err = await validate.communicate()
    shown = out.decode() + err.decode()
    print(f"\nrelay validate (exit {validate.returncode}):\n{shown}")
    assert validate.returncode == 2
    assert shown.splitlines()[1:] == [
        "  nats.urls[0]: must start with nats://, tls://, ws:// or wss://, got '***@typo:4222'",
        "  nats.password: expected a string, got an integer",
        "  nats.urls[1]: conflicts with token: set one authentication method"
        " (user/password, token, nkey_seed_file, creds_file or credentials in the URL)",
    ]
    assert_no_secret([shown], user_nkeys)
    assert "4815162342" not in shown
    # A run with credentials in the URL that the server refuses.
    with nats_server("user", tmp_path, pki, user_nkeys) as server:
        await wait_for(lambda: server.lines("Server is ready"), 10, "nats-server")
        url = server.url.replace("nats://", "nats://relay:not-the-password@")
        reason = 'nats: authorization violation for user "relay" (from the URL)'
        await is_refused(
            "user", server, tmp_path / "relay.toml", free_port(), "", reason, user_nkeys, url
        )


async def test_tls_handshake_first_connects_and_publishes_the_session(
    pki: Pki, user_nkeys: Nkeys, tmp_path: Path
) -> None:
    with nats_server("tls-first", tmp_path, pki, user_nkeys) as server:
        await wait_for(lambda: server.lines("Server is ready"), 10, "nats-server")
        keys = f'tls_ca_file = "{pki.ca_file}"\ntls_handshake_first = true\n'
        await publishes_the_session(
            "tls-first", server, tmp_path / "relay.toml", free_port(), keys, pki, user_nkeys
        )
