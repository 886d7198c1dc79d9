"""A Dockerfile read as its instructions, and a .dockerignore matcher, for the image tests.

Follows the Dockerfile reference (docs.docker.com/reference/dockerfile): one instruction
per logical line, ``\\`` at the end of a line continues it, ``#`` starts a comment line;
the exec form of ``CMD``/``ENTRYPOINT``/``HEALTHCHECK CMD`` is a JSON array. Only what
the tests need: no parser directives, heredocs or ``ARG`` substitution (a Dockerfile using
them raises :class:`UnsupportedDockerfile`).
"""

from __future__ import annotations

import fnmatch
import json
import shlex
from dataclasses import dataclass
from pathlib import Path


class UnsupportedDockerfile(Exception):
    """The Dockerfile uses syntax this reader does not implement."""


@dataclass(frozen=True, slots=True)
class Instruction:
    """One instruction: ``keyword`` upper-cased (``COPY``), ``arguments`` the rest of the line."""

    keyword: str
    arguments: str


def instructions(path: Path) -> list[Instruction]:
    """The instructions of the Dockerfile at ``path``, continuation lines joined.

    Raises:
        UnsupportedDockerfile: a heredoc (``<<``) or a variable (``$``) outside a string
            of the exec form.
    """
    logical: list[str] = []
    pending = ""
    for line in path.read_text().splitlines():
        stripped = line.strip()
        if stripped.startswith("#") or (not stripped and not pending):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        logical.append(pending + stripped)
        pending = ""
    result = []
    for line in logical:
        keyword, _, arguments = line.partition(" ")
        if "<<" in arguments:
            raise UnsupportedDockerfile(f"heredoc not supported: {line}")
        result.append(Instruction(keyword.upper(), arguments.strip()))
    return result


def env_values(found: list[Instruction]) -> dict[str, str]:
    """Every ``ENV KEY=VALUE`` pair (the ``KEY=VALUE`` form), later ones winning."""
    values: dict[str, str] = {}
    for instruction in found:
        if instruction.keyword == "ENV":
            for pair in shlex.split(instruction.arguments):
                key, separator, value = pair.partition("=")
                if not separator:
                    raise UnsupportedDockerfile(f"ENV without '=': {instruction.arguments}")
                values[key] = value
    return values


def copy_sources(found: list[Instruction]) -> list[str]:
    """The build-context paths every ``COPY`` takes (all arguments but the destination).

    Raises:
        UnsupportedDockerfile: ``COPY --from`` (another stage) or a ``$`` variable.
    """
    sources: list[str] = []
    for instruction in found:
        if instruction.keyword != "COPY":
            continue
        words = shlex.split(instruction.arguments)
        if any(word.startswith("--from") for word in words) or "$" in instruction.arguments:
            raise UnsupportedDockerfile(f"COPY form not supported: {instruction.arguments}")
        sources.extend(word for word in words[:-1] if not word.startswith("--"))
    return sources


def exec_form(arguments: str) -> list[str]:
    """The JSON array of an exec-form ``CMD``/``ENTRYPOINT`` (``["relay"]`` -> ``['relay']``)."""
    value = json.loads(arguments)
    if not (isinstance(value, list) and all(isinstance(word, str) for word in value)):
        raise UnsupportedDockerfile(f"not an exec form: {arguments}")
    return value


def ignored(path: str, patterns: list[str]) -> bool:
    """Whether .dockerignore ``patterns`` keep ``path`` (or a folder above it) out of the
    build context: each pattern is matched with :func:`fnmatch.fnmatch` (``**/`` also at
    the top); ``!`` exceptions raise :class:`UnsupportedDockerfile`.
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
