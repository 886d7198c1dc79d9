"""The layers' import arrows point inward only (shared/STYLE.md)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "relay"

FORBIDDEN = {
    "domain": (
        "relay.",
        "asyncio",
        "websockets",
        "nats",
        "httpx",
        "starlette",
        "uvicorn",
        "prometheus_client",
        "orjson",
        "betterproto",
        "tomlkit",
        "tenacity",
    ),
    "application": (
        "relay.infrastructure",
        "relay.sim",
        "relay.bootstrap",
        "relay.cli",
        "relay.serialization",
        "websockets",
        "nats",
        "httpx",
        "starlette",
        "uvicorn",
        "prometheus_client",
    ),
    "serialization": (
        "relay.infrastructure",
        "relay.sim",
        "relay.application",
        "relay.config",
        "relay.bootstrap",
        "websockets",
        "nats",
        "httpx",
        "starlette",
    ),
    "infrastructure": ("relay.sim",),
    "config": (
        "relay.infrastructure",
        "relay.sim",
        "relay.application",
        "relay.serialization",
        "relay.bootstrap",
        "websockets",
        "nats",
        "httpx",
        "starlette",
    ),
}
ALLOWED_IN_DOMAIN = ("relay.domain",)


def imports_of(path: Path) -> list[str]:
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layer_imports_nothing_from_outer_layers(layer: str) -> None:
    offending = []
    for path in sorted((PACKAGE / layer).rglob("*.py")):
        if "generated" in path.parts:
            continue
        for name in imports_of(path):
            if name.startswith(ALLOWED_IN_DOMAIN) and layer == "domain":
                continue
            if any(
                name == f
                or name.startswith(f if f.endswith(".") else f + ".")
                or name == f.rstrip(".")
                for f in FORBIDDEN[layer]
            ):
                offending.append(f"{path.relative_to(PACKAGE)}: {name}")
    assert offending == []


SIM_MAY_IMPORT = (
    "relay.domain",
    "relay.application",
    "relay.serialization",
    "relay.infrastructure.venues",
    "relay.sim",
)
"""The simulator (test tooling) may use the inner layers and the venues' own
parsing, book and checksum code; nothing of the relay's service code."""


def test_the_simulator_imports_only_inner_layers_and_the_venue_modules() -> None:
    offending = []
    for path in sorted((PACKAGE / "sim").rglob("*.py")):
        for name in imports_of(path):
            if (name == "relay" or name.startswith("relay.")) and not any(
                name == allowed or name.startswith(allowed + ".") for allowed in SIM_MAY_IMPORT
            ):
                offending.append(f"{path.relative_to(PACKAGE)}: {name}")
    assert offending == []


def test_the_service_composition_root_does_not_import_the_simulator() -> None:
    names = imports_of(PACKAGE / "bootstrap.py")
    assert [name for name in names if name == "relay.sim" or name.startswith("relay.sim.")] == []


CLIENT_MAY_IMPORT = ("relay.domain", "relay.serialization", "relay.client")
"""The consumer SDK: the domain, the serialization and nats-py; none of the service."""


def test_the_client_imports_only_the_domain_the_serialization_and_nats() -> None:
    offending = []
    for path in sorted((PACKAGE / "client").rglob("*.py")):
        for name in imports_of(path):
            relay_name = name == "relay" or name.startswith("relay.")
            if (relay_name and not name.startswith(CLIENT_MAY_IMPORT)) or name.split(".")[0] in (
                "websockets",
                "httpx",
                "starlette",
                "uvicorn",
                "prometheus_client",
                "tomlkit",
                "tenacity",
            ):
                offending.append(f"{path.relative_to(PACKAGE)}: {name}")
    assert offending == []
