"""The Dockerfile, read as instructions: what the image runs, as whom, on which address.

No Docker engine runs on this machine (the client answers, the daemon does not), so the
image itself is not built here; these tests read the Dockerfile with BuildKit's parser
and check what the build and the container depend on against the tree, the relay's own
config loader and a local HTTP server.
"""

from __future__ import annotations

import fnmatch
import subprocess
import sys
import threading
import tomllib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from support.dockerfile import (
    Instruction,
    copy_sources,
    env_values,
    ignore_patterns,
    ignored,
    instructions,
)

from relay.config.loader import load_config
from relay.demo import CAPTURES, DEMO_DIR
from relay.infrastructure.venues.registry import supported_data_types

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = instructions(ROOT / "Dockerfile")


def _one(keyword: str) -> Instruction:
    found = [i for i in DOCKERFILE if i.keyword == keyword]
    assert len(found) == 1, f"{keyword}: {found}"
    return found[0]


def _healthcheck_command() -> list[str]:
    healthcheck = _one("HEALTHCHECK")
    assert healthcheck.exec_form and healthcheck.values[0] == "CMD"
    command = list(healthcheck.values[1:])
    assert command[:2] == ["python", "-c"]
    return command


def _healthcheck_url() -> str:
    (url,) = [word for word in _healthcheck_command()[2].split("'") if word.startswith("http")]
    return url


def test_the_image_runs_as_a_numeric_non_root_user() -> None:
    (value,) = _one("USER").values
    user, _, group = value.partition(":")
    assert user.isdigit() and int(user) != 0
    assert group.isdigit() and int(group) != 0


def test_the_image_config_listens_on_all_interfaces_on_the_exposed_port() -> None:
    env = env_values(DOCKERFILE)
    config_path = Path(env["RELAY_CONFIG"])
    assert config_path.parts[:3] == ("/", "app", "config")
    # The container's config is the tree's config/ (COPY config ./config under /app).
    shipped = ROOT / config_path.relative_to("/app")
    config = load_config(shipped, venues=supported_data_types(), environ=env)
    assert (config.http.host, config.http.port, config.http.enabled) == ("0.0.0.0", 8080, True)
    assert _one("EXPOSE").values == ("8080",)


def test_the_healthcheck_asks_livez_on_the_listening_port() -> None:
    url = urlsplit(_healthcheck_url())
    assert (url.hostname, url.port, url.path) == ("127.0.0.1", 8080, "/livez")
    assert "--timeout=3s" in _one("HEALTHCHECK").flags


class _Probe(BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:
        self.send_response(self.status if self.path == "/livez" else 404)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


@pytest.fixture
def probe_server() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Probe)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


def test_the_healthcheck_command_passes_on_200_and_fails_otherwise(
    probe_server: ThreadingHTTPServer,
) -> None:
    """The HEALTHCHECK's own command, run against a local server on another port."""
    command = _healthcheck_command()
    port = probe_server.server_address[1]
    code = command[2].replace("127.0.0.1:8080", f"127.0.0.1:{port}")
    results = []
    for status in (200, 503):
        _Probe.status = status
        run = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=30)
        results.append(run.returncode)
    assert results[0] == 0 and results[1] != 0


def test_the_entrypoint_is_the_relay_command_running_the_config() -> None:
    for keyword, values in (("ENTRYPOINT", ("relay",)), ("CMD", ("run",))):
        instruction = _one(keyword)
        assert (instruction.exec_form, instruction.values) == (True, values)


def test_every_copy_source_exists_and_is_in_the_build_context() -> None:
    patterns = ignore_patterns(ROOT / ".dockerignore")
    sources = copy_sources(DOCKERFILE)
    assert sources == ["pyproject.toml", "README.md", "relay", "config"]
    for source in sources:
        assert (ROOT / source).exists(), source
        assert not ignored(source, patterns), source
    # What the image must not carry, and the matcher really matching.
    for left_out in (".git", ".venv", "tests", "relay/demo/__pycache__/x.pyc"):
        assert ignored(left_out, patterns), left_out


def test_the_demo_sessions_and_their_notice_go_into_the_installed_package() -> None:
    """`relay demo` replays relay/demo/*.jsonl (copied with `COPY relay`); pip installs
    them only when pyproject's package data lists them, NOTICE (the attribution) too."""
    globs = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"
    ]["relay"]
    shipped = [*CAPTURES, "NOTICE"]
    assert DEMO_DIR == ROOT / "relay" / "demo"
    for name in shipped:
        assert (DEMO_DIR / name).is_file(), name
        assert any(fnmatch.fnmatch(f"demo/{name}", glob) for glob in globs), name
    notice = (DEMO_DIR / "NOTICE").read_text()
    assert "cryptofeed" in notice and "Bryant Moscon" in notice and "XFree86 1.1" in notice
