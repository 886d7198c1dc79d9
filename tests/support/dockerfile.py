"""A Dockerfile read with BuildKit's own parser, and a .dockerignore matcher, for the
image tests.

The ``dockerfile`` package wraps the Go parser Docker uses
(``github.com/moby/buildkit/frontend/dockerfile/parser``): one :class:`Instruction` per
instruction, continuation lines joined, flags (``--timeout=3s``) apart from the values,
``json`` true for the exec form of ``CMD``/``ENTRYPOINT``/``HEALTHCHECK CMD``.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from pathlib import Path

import dockerfile


class UnsupportedDockerfile(Exception):
    """The Dockerfile or .dockerignore uses a form these helpers do not read."""


@dataclass(frozen=True, slots=True)
class Instruction:
    """One instruction: ``keyword`` upper-cased (``COPY``), its ``flags`` and ``values``,
    ``exec_form`` true for a JSON-array form."""

    keyword: str
    flags: tuple[str, ...]
    values: tuple[str, ...]
    exec_form: bool


def instructions(path: Path) -> list[Instruction]:
    """The instructions of the Dockerfile at ``path``, in order.

    Raises:
        dockerfile.GoParseError: the file is not a valid Dockerfile.
    """
    return [
        Instruction(command.cmd.upper(), command.flags, command.value, command.json)
        for command in dockerfile.parse_file(str(path))
    ]


def env_values(found: list[Instruction]) -> dict[str, str]:
    """Every ``ENV`` key and value (BuildKit gives them as key, value, key, value...),
    later ones winning.

    Raises:
        UnsupportedDockerfile: a value holding a ``$`` variable (not expanded here).
    """
    values: dict[str, str] = {}
    for instruction in found:
        if instruction.keyword == "ENV":
            pairs = instruction.values
            for key, value in zip(pairs[::2], pairs[1::2], strict=True):
                if "$" in value:
                    raise UnsupportedDockerfile(f"ENV {key} uses a variable: {value}")
                values[key] = value
    return values


def copy_sources(found: list[Instruction]) -> list[str]:
    """The build-context paths every ``COPY`` takes (all values but the destination).

    Raises:
        UnsupportedDockerfile: ``COPY --from`` (another stage or image) or a ``$`` variable.
    """
    sources: list[str] = []
    for instruction in found:
        if instruction.keyword != "COPY":
            continue
        if any(flag.startswith("--from") for flag in instruction.flags):
            raise UnsupportedDockerfile(f"COPY from another stage: {instruction}")
        if any("$" in value for value in instruction.values):
            raise UnsupportedDockerfile(f"COPY with a variable: {instruction}")
        sources.extend(instruction.values[:-1])
    return sources


def ignored(path: str, patterns: list[str]) -> bool:
    """Whether .dockerignore ``patterns`` keep ``path`` (or a folder above it) out of the
    build context: each pattern is matched with :func:`fnmatch.fnmatch` (``**/`` also at
    the top).

    Raises:
        UnsupportedDockerfile: a ``!`` exception pattern.
    """
    parts = Path(path).parts
    prefixes = ["/".join(parts[: end + 1]) for end in range(len(parts))]
    for pattern in patterns:
        if pattern.startswith("!"):
            raise UnsupportedDockerfile(f".dockerignore exceptions not supported: {pattern}")
        variants = {pattern, pattern.removeprefix("**/")}
        if any(fnmatch.fnmatch(prefix, variant) for prefix in prefixes for variant in variants):
            return True
    return False


def ignore_patterns(path: Path) -> list[str]:
    """The patterns of a .dockerignore file (comments and blank lines left out)."""
    lines = (line.strip() for line in path.read_text().splitlines())
    return [line for line in lines if line and not line.startswith("#")]
