"""Tests of the ``[nats]`` authentication and TLS keys: reading, files, conflicts, masking."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
import trustme

from relay.config.errors import ConfigError, ConfigProblem
from relay.config.loader import parse_config
from relay.config.model import NatsConfig, RelayConfig
from relay.config.secrets import mask_url
from relay.domain.model import DataType

VENUES = {"binance-spot": frozenset({DataType.TRADE})}

MINIMAL_VENUE = """
[[venues]]
id = "binance-spot"
[[venues.subscriptions]]
instrument = "BTCUSDT"
canonical_symbol = "BTC/USDT"
data_types = ["trade"]
"""

CONFLICT = (
    ": set one authentication method"
    " (user/password, token, nkey_seed_file, creds_file or credentials in the URL)"
)


def parse(nats: str, environ: dict[str, str] | None = None) -> RelayConfig:
    return parse_config(
        "[nats]\n" + nats + MINIMAL_VENUE, source="relay.toml", venues=VENUES, environ=environ or {}
    )


def problems(nats: str, environ: dict[str, str] | None = None) -> tuple[ConfigProblem, ...]:
    with pytest.raises(ConfigError) as caught:
        parse(nats, environ)
    return caught.value.problems


SEED_FILE = "SUAGMJH5XLGZKQQWAWKRZJIGMOU4HPFUYLXJMXOO5NLFEO2OJQJIKKRHBNA\n"
CREDS_FILE = (
    "-----BEGIN NATS USER JWT-----\neyJ0.e30.sig\n------END NATS USER JWT------\n\n"
    "-----BEGIN USER NKEY SEED-----\nSUAG\n------END USER NKEY SEED------\n"
)


@pytest.fixture
def files(tmp_path: Path) -> dict[str, str]:
    """Files of the right kinds: a seed, a creds file, a CA, a client certificate and key."""
    ca = trustme.CA()
    client = ca.issue_cert("relay.example")
    (tmp_path / "seed.nk").write_text(SEED_FILE)
    (tmp_path / "user.creds").write_text(CREDS_FILE)
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    client.cert_chain_pems[0].write_to_path(str(tmp_path / "client.pem"))
    client.private_key_pem.write_to_path(str(tmp_path / "client.key"))
    names = ("seed.nk", "user.creds", "ca.pem", "client.pem", "client.key")
    return {name: str(tmp_path / name) for name in names}


def test_every_key_is_read_with_variables_substituted(files: dict[str, str]) -> None:
    environ = {"NATS_PASSWORD": "s3cret", "CA": files["ca.pem"]}
    config = parse(
        f"""
user = "relay"
password = "${{NATS_PASSWORD}}"
tls_ca_file = "${{CA}}"
tls_cert_file = "{files["client.pem"]}"
tls_key_file = "{files["client.key"]}"
tls_verify = false
tls_handshake_first = true
""",
        environ,
    )
    assert config.nats == NatsConfig(
        user="relay",
        password="s3cret",
        tls_ca_file=files["ca.pem"],
        tls_cert_file=files["client.pem"],
        tls_key_file=files["client.key"],
        tls_verify=False,
        tls_handshake_first=True,
    )
    assert config.nats.tls_configured


@pytest.mark.parametrize(
    ("key", "file"), [("token", None), ("nkey_seed_file", "seed.nk"), ("creds_file", "user.creds")]
)
def test_each_other_auth_method_is_read_alone(
    key: str, file: str | None, files: dict[str, str]
) -> None:
    value = files[file] if file else "t0ken"
    config = parse(f'{key} = "${{VALUE}}"\n', {"VALUE": value})
    assert getattr(config.nats, key) == value
    assert not config.nats.tls_configured


def test_defaults_are_no_credentials_and_verified_tls_when_asked() -> None:
    config = parse("")
    assert (config.nats.user, config.nats.password, config.nats.token) == ("", "", "")
    assert (config.nats.nkey_seed_file, config.nats.creds_file) == ("", "")
    assert (config.nats.tls_verify, config.nats.tls_handshake_first) == (True, False)
    assert not config.nats.tls_configured


def test_every_missing_file_or_directory_is_listed(tmp_path: Path) -> None:
    missing = tmp_path / "missing"
    got = problems(
        f"""
nkey_seed_file = "{missing}/seed.nk"
tls_ca_file = "${{CA_FILE}}"
tls_cert_file = "{tmp_path}"
tls_key_file = "{missing}/client.key"
""",
        {"CA_FILE": f"{missing}/ca.pem"},
    )
    assert got == (
        ConfigProblem("nats.tls_cert_file", f"{str(tmp_path)!r} is a directory, not a file"),
        ConfigProblem(
            "nats.tls_key_file",
            f"cannot read the file {str(missing / 'client.key')!r}: No such file or directory",
        ),
        ConfigProblem(
            "nats.nkey_seed_file",
            f"cannot read the file {str(missing / 'seed.nk')!r}: No such file or directory",
        ),
        ConfigProblem(
            "nats.tls_ca_file",
            f"cannot read the file {str(missing / 'ca.pem')!r}: No such file or directory",
        ),
    )


def test_creds_file_that_does_not_exist_is_named(tmp_path: Path) -> None:
    assert problems(f'creds_file = "{tmp_path}/relay.creds"\n') == (
        ConfigProblem(
            "nats.creds_file",
            f"cannot read the file {str(tmp_path / 'relay.creds')!r}: No such file or directory",
        ),
    )


METHODS = {
    "user/password": ('user = "relay"\npassword = "pw"\n', "nats.user"),
    "token": ('token = "t0ken"\n', "nats.token"),
    "nkey_seed_file": ('nkey_seed_file = "{seed.nk}"\n', "nats.nkey_seed_file"),
    "creds_file": ('creds_file = "{user.creds}"\n', "nats.creds_file"),
    "the credentials in the URL": (
        'urls = ["nats://a:b@127.0.0.1:4222", "nats://a:b@127.0.0.1:4223"]\n',
        "nats.urls[0]",
    ),
}


@pytest.mark.parametrize(("first", "second"), list(itertools.combinations(METHODS, 2)))
def test_two_auth_methods_are_refused_with_one_line_naming_both(
    first: str, second: str, files: dict[str, str]
) -> None:
    text = "".join(
        METHODS[name][0]
        .replace("{seed.nk}", files["seed.nk"])
        .replace("{user.creds}", files["user.creds"])
        for name in (second, first)
    )
    assert problems(text) == (
        ConfigProblem(METHODS[second][1], f"conflicts with {first}{CONFLICT}"),
    )


def test_three_auth_methods_give_one_line_per_extra_method() -> None:
    got = problems('user = "relay"\npassword = "pw"\ntoken = "t"\nurls = ["nats://t@h:4222"]\n')
    assert got == (
        ConfigProblem("nats.token", f"conflicts with user/password{CONFLICT}"),
        ConfigProblem("nats.urls[0]", f"conflicts with user/password{CONFLICT}"),
    )


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            'user = "relay"\n',
            ConfigProblem("nats.password", "missing: user is set, so a password is needed"),
        ),
        (
            'password = "pw"\n',
            ConfigProblem("nats.user", "missing: password is set, so a user is needed"),
        ),
        (
            'tls_cert_file = "{client.pem}"\n',
            ConfigProblem(
                "nats.tls_key_file", "missing: tls_cert_file is set, so its key file is needed"
            ),
        ),
        (
            'tls_key_file = "{client.key}"\n',
            ConfigProblem(
                "nats.tls_cert_file", "missing: tls_key_file is set, so its certificate is needed"
            ),
        ),
    ],
)
def test_half_of_a_pair_is_refused(
    text: str, problem: ConfigProblem, files: dict[str, str]
) -> None:
    text = text.replace("{client.pem}", files["client.pem"]).replace(
        "{client.key}", files["client.key"]
    )
    assert problems(text) == (problem,)


SECRET = "hunter2-secret-value"


@pytest.mark.parametrize(
    ("nats", "shown"),
    [
        (f'urls = ["http://relay:{SECRET}@127.0.0.1:4222"]\n', "'http://relay:***@127.0.0.1:4222'"),
        (f'urls = ["{SECRET}@127.0.0.1:4222"]\n', "'***@127.0.0.1:4222'"),
        (f'urls = ["nats://{SECRET}@ 127.0.0.1:4222"]\n', "'nats://***@ 127.0.0.1:4222'"),
    ],
)
def test_credentials_in_a_refused_url_are_masked(nats: str, shown: str) -> None:
    [problem] = problems(nats)
    assert problem.message.endswith(shown)
    assert SECRET not in str(problem)


@pytest.mark.parametrize("key", ["password", "token"])
def test_a_secret_of_the_wrong_type_is_described_without_its_value(key: str) -> None:
    extra = 'user = "relay"\n' if key == "password" else ""
    assert problems(f"{extra}{key} = 918273645\n") == (
        ConfigProblem(f"nats.{key}", "expected a string, got an integer"),
    )


def test_secrets_are_not_in_the_configs_repr() -> None:
    config = parse(f'user = "relay"\npassword = "{SECRET}"\n')
    other = parse(f'token = "{SECRET}"\n')
    assert SECRET not in repr(config) + repr(other)


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("nats://relay:pw@host:4222", "nats://relay:***@host:4222"),
        ("tls://t0ken@host:4222/x?y#z", "tls://***@host:4222/x?y#z"),
        ("nats://host:4222", "nats://host:4222"),
        ("nats://a:b@c@host:4222", "nats://a:***@host:4222"),
        ("user:pw@host:4222", "***@host:4222"),
    ],
)
def test_mask_url_hides_the_secret_part_of_credentials(url: str, masked: str) -> None:
    assert mask_url(url) == masked


def test_files_of_the_wrong_kind_are_each_named_without_their_content(
    files: dict[str, str], tmp_path: Path
) -> None:
    garbage = tmp_path / "garbage"
    garbage.write_text("SECRET-CONTENT not a seed\n")
    got = problems(
        f"""
nkey_seed_file = "{garbage}"
tls_ca_file = "{garbage}"
tls_cert_file = "{files["client.pem"]}"
tls_key_file = "{files["ca.pem"]}"
"""
    )
    assert [problem.path for problem in got] == [
        "nats.nkey_seed_file",
        "nats.tls_ca_file",
        "nats.tls_cert_file",
    ]
    assert (
        got[0].message
        == f"{str(garbage)!r} does not hold an nkey user seed (a line starting with 'SU')"
    )
    assert got[1].message.startswith(f"{str(garbage)!r} is not a PEM file of CA certificates: ")
    assert got[2].message.startswith(
        f"{files['client.pem']!r} and {files['ca.pem']!r} are not a PEM certificate and its"
        " private key: "
    )
    assert "SECRET-CONTENT" not in str(got)


def test_a_creds_file_without_its_sections_is_named(tmp_path: Path) -> None:
    creds = tmp_path / "relay.creds"
    creds.write_text("-----BEGIN NATS USER JWT-----\neyJ0.e30.sig\n")
    assert problems(f'creds_file = "{creds}"\n') == (
        ConfigProblem(
            "nats.creds_file",
            f"{str(creds)!r} is not a NATS credentials file (no -----BEGIN USER NKEY SEED-----)",
        ),
    )
