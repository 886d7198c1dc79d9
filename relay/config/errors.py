"""Errors of the configuration layer: every problem of a file, reported at once."""

from __future__ import annotations

from dataclasses import dataclass

from relay.domain.errors import RelayError


@dataclass(frozen=True, slots=True)
class ConfigProblem:
    """One thing wrong with a configuration file.

    Attributes:
        path: where, in TOML key syntax with array indexes
            (``"venues[0].subscriptions[1].data_types[2]"``); empty for the
            file as a whole (unreadable, TOML syntax error).
        message: what is wrong and, where it helps, what is allowed
            (``"unknown data type 'trades'; known: trade, ticker, ..."``).
    """

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class ConfigError(RelayError):
    """A configuration file cannot be used; raised after collecting every problem.

    ``str()`` is a header naming the source, then one line per problem::

        config/relay.toml: 2 configuration problems
          nats.strems: unknown key (did you mean 'streams'?)
          venues[0].id: unknown venue 'binance'; known venues: binance-spot, binance-usdm

    Attributes:
        source: the file (or other origin) the text came from.
        problems: every problem found, in file order, never empty.
    """

    def __init__(self, source: str, problems: tuple[ConfigProblem, ...]) -> None:
        count = len(problems)
        noun = "problem" if count == 1 else "problems"
        lines = [f"{source}: {count} configuration {noun}"]
        lines.extend(f"  {problem}" for problem in problems)
        super().__init__("\n".join(lines))
        self.source = source
        self.problems = problems
