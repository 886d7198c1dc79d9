"""Seed frames, protocols in a realistic state, and frame mutations for fuzzing venue adapters.

Seeds of a venue id (every id in the registry, so a new venue is covered as soon
as it registers):

- recorded: the ``recv`` frames and REST responses of ``shared/captures/<venue id>.jsonl``
  when such a capture exists (binance-*, okx, deribit, coinbase-exchange);
- documented: every string constant of the venue's tests
  (``tests/infrastructure/venues/test_<module>.py``, or ``<module>/test_*.py`` for a
  venue package, and ``tests/support/<module>_frames.py`` when the venue's tests share
  frames from there) and of the venue's code (``relay/infrastructure/venues/<module>.py``
  or every file of the ``<module>/`` package, whose docstrings carry trimmed sample
  payloads) that is, whole or line by line, a JSON object, and every dict literal of
  the tests, dumped as JSON.

Mutations (:func:`mutate`) take a seed and one plan of four integers (drawn by
hypothesis) and return the frame to feed: a field deleted, a value swapped for
another JSON type, huge / tiny / non-finite numbers (``NaN``, ``Infinity``,
``1e400``, ``-0``, 5,000-digit integers), 1 MB strings, values nested 1,000-5,000
deep, the whole frame nested that deep, invalid UTF-8 bytes, random binary
frames, truncated JSON, and unhashable values where a venue expects a word.
"""

from __future__ import annotations

import ast
import copy
import json
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import orjson
from hypothesis import HealthCheck
from hypothesis import strategies as st

from relay.application.errors import FrameError
from relay.application.ports import FrameOutcome, SnapshotRequest, VenueProtocol
from relay.config.model import SubscriptionConfig, VenueConfig
from relay.infrastructure.venues.registry import venue_spec
from relay.sim.captures import RecordKind, read_capture

ROOT = Path(__file__).resolve().parents[2]
CAPTURES = ROOT.parent / "shared" / "captures"
RECEIVED_AT_MS = 1_700_000_000_000
MEGABYTE = 1_000_000


@dataclass(frozen=True, slots=True)
class Raw:
    """JSON text spliced into a mutated document as is (``NaN``, ``1e400``, deep nesting)."""

    text: str


def module_name(venue: str) -> str:
    """``"okx"`` for ``"okx"``, ``"binance"`` for ``"binance-usdm"``: the venue's module
    or package under ``relay.infrastructure.venues``."""
    module = venue_spec(venue).protocol_factory.__module__
    return module.removeprefix("relay.infrastructure.venues.").split(".", 1)[0]


def _sources(module_file: Path, package_dir: Path, pattern: str) -> list[Path]:
    """``module_file`` if the venue is one module, else the package's files matching ``pattern``."""
    return [module_file] if module_file.exists() else sorted(package_dir.glob(pattern))


def _json_object_texts(text: str) -> Iterator[str]:
    for candidate in (text, *text.splitlines()):
        candidate = candidate.strip()
        if candidate.startswith("{"):
            try:
                value = orjson.loads(candidate)
            except orjson.JSONDecodeError:
                continue
            if isinstance(value, dict) and value:
                yield candidate


def _documented_in(path: Path, dict_literals: bool) -> list[str]:
    found: list[str] = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            found.extend(_json_object_texts(node.value))
        elif dict_literals and isinstance(node, ast.Dict):
            try:
                value = ast.literal_eval(node)
            except ValueError:
                continue
            try:
                found.append(json.dumps(value))
            except TypeError:
                continue
    return found


@cache
def documented_frames(venue: str) -> tuple[str, ...]:
    """JSON objects of the venue's test module and its parser module, in source order, once."""
    module = module_name(venue)
    tests = ROOT / "tests/infrastructure/venues"
    code = ROOT / "relay/infrastructure/venues"
    texts: list[str] = []
    frames = ROOT / "tests/support" / f"{module}_frames.py"
    for path in _sources(tests / f"test_{module}.py", tests / module, "test_*.py"):
        texts += _documented_in(path, True)
    if frames.exists():
        texts += _documented_in(frames, True)
    for path in _sources(code / f"{module}.py", code / module, "*.py"):
        texts += _documented_in(path, False)
    return tuple(dict.fromkeys(texts))


@dataclass(frozen=True, slots=True)
class Recorded:
    """A venue's recorded session: frames in order, with the REST bodies between them.

    Attributes:
        steps: ``("recv", frame, "")`` or ``("http", body, url)``, in time order.
    """

    steps: tuple[tuple[str, str, str], ...]

    @property
    def frames(self) -> tuple[str, ...]:
        return tuple(data for kind, data, _ in self.steps if kind == "recv")

    @property
    def bodies(self) -> tuple[str, ...]:
        return tuple(data for kind, data, _ in self.steps if kind == "http")


@cache
def recorded(venue: str) -> Recorded:
    """The capture named after the venue id, or no steps when there is none."""
    path = CAPTURES / f"{venue}.jsonl"
    if not path.exists():
        return Recorded(())
    steps = []
    for record in read_capture(path).records:
        if record.kind is RecordKind.RECV and record.data is not None:
            steps.append(("recv", record.data, ""))
        elif record.kind is RecordKind.HTTP and record.data is not None and record.url:
            steps.append(("http", record.data, record.url))
    return Recorded(tuple(steps))


@cache
def seed_frames(venue: str) -> tuple[str, ...]:
    """Recorded frames, then documented ones."""
    return recorded(venue).frames + documented_frames(venue)


def _strings(value: Any, found: set[str]) -> None:
    if isinstance(value, dict):
        for child in value.values():
            _strings(child, found)
    elif isinstance(value, list):
        for child in value:
            _strings(child, found)
    elif isinstance(value, str) and 2 <= len(value) <= 40 and " " not in value:
        parts = {value, *value.split(".")}
        if "@" in value:  # a Binance stream name: sushiusdt@depth
            parts.add(value.split("@")[0].upper())
        if value.startswith(("live_trades_", "diff_order_book_")):  # Bitstamp: ..._ethusd
            parts.add(value.rsplit("_", 1)[1].upper())
        for part in parts:
            letters = sum(c.isupper() for c in part)
            digits = sum(c.isdigit() for c in part)
            word = all(c.isalnum() or c in "-_/:" for c in part)
            if letters >= 2 and digits <= 2 * letters and word:
                found.add(part)


@cache
def instruments(venue: str) -> tuple[str, ...]:
    """Every word of the seed frames that may name an instrument (``SUSHIUSDT``,
    ``BTC-USDT``, ``ETH/USD``, ``BTC-24SEP21-8000-P``...) and that the venue's
    protocol accepts as one."""
    found: set[str] = set()
    for frame in seed_frames(venue):
        _strings(orjson.loads(frame), found)
    accepted = []
    for name in sorted(found):
        try:
            build_protocol(venue, (name,))
        except (ValueError, KeyError):
            continue
        accepted.append(name)
    return tuple(accepted)


CANDLE_INTERVALS = {"coinbase": "5m"}
"""The candle interval subscribed where the venue does not offer the default ``1m``
(Coinbase's candles channel has only five-minute candles)."""


def build_protocol(venue: str, names: tuple[str, ...]) -> VenueProtocol:
    """A protocol subscribed to every data type of the venue for each instrument name."""
    data_types = tuple(sorted(venue_spec(venue).data_types, key=lambda d: d.value))
    interval = CANDLE_INTERVALS.get(venue, "1m")
    subs = tuple(
        SubscriptionConfig(
            n, n.replace("/", "-").replace(".", "-") + "/FUZZ", data_types, 0, interval
        )
        for n in names
    )
    return venue_spec(venue).protocol_factory(VenueConfig(id=venue, subscriptions=subs))


def _matches(request: SnapshotRequest, url: str) -> bool:
    wanted, got = urlsplit(request.path), urlsplit(url)
    if not got.path.endswith(wanted.path):
        return False
    wanted_query = {k: v for k, v in parse_qsl(wanted.query) if k != "limit"}
    got_query = {k: v for k, v in parse_qsl(got.query) if k != "limit"}
    return wanted_query == got_query


@dataclass(slots=True)
class Synced:
    """A protocol after the venue's whole seed session, and what that session did.

    Attributes:
        venue: the venue id.
        protocol: subscribed to :func:`instruments`, fed every recorded step (REST
            bodies through ``on_snapshot`` for the requests it made) then every
            documented frame.
        snapshots_applied: REST bodies it accepted.
        frame_events: seed frames that gave events.
        probes: seed frames (trades first) that give events on a copy of
            :attr:`protocol`: fed after garbage to show the protocol still works.
    """

    venue: str
    protocol: VenueProtocol
    snapshots_applied: int
    frame_events: int
    probes: tuple[str, ...]


def feed(protocol: VenueProtocol, frame: str | bytes) -> FrameOutcome | FrameError:
    """``on_frame``'s outcome, or the FrameError it raised (anything else propagates)."""
    try:
        return protocol.on_frame(frame, RECEIVED_AT_MS)
    except FrameError as exc:
        return exc


def session_steps(venue: str) -> list[tuple[str, str, str]]:
    """The venue's real session as steps: the recorded one, or its documented frames."""
    steps = list(recorded(venue).steps)
    return steps or [("recv", frame, "") for frame in documented_frames(venue)]


@dataclass(slots=True)
class Replay:
    """A protocol fed a session step by step, REST bodies answering the snapshot
    requests it made (a body no request matches is skipped)."""

    protocol: VenueProtocol
    pending: list[SnapshotRequest]

    @classmethod
    def start(cls, venue: str) -> Replay:
        """Subscribed to :func:`instruments`, opened."""
        protocol = build_protocol(venue, instruments(venue))
        return cls(protocol, list(protocol.on_open().snapshot_requests))

    def step(self, kind: str, data: str, url: str) -> FrameOutcome | FrameError | None:
        """Feed one step; None for a REST body no pending request wanted."""
        if kind == "http":
            request = next((r for r in self.pending if _matches(r, url)), None)
            if request is None:
                return None
            self.pending.remove(request)
            try:
                outcome = self.protocol.on_snapshot(request, data.encode(), RECEIVED_AT_MS)
            except FrameError as exc:
                return exc
        else:
            result = feed(self.protocol, data)
            if isinstance(result, FrameError):
                return result
            outcome = result
        self.pending += outcome.snapshot_requests
        return outcome


@cache
def synced(venue: str) -> Synced:
    """See :class:`Synced`; cached, callers work on ``copy.deepcopy(synced(v).protocol)``."""
    protocol = build_protocol(venue, instruments(venue))
    pending = list(protocol.on_open().snapshot_requests)
    applied = events = 0
    for kind, data, url in recorded(venue).steps:
        if kind == "http":
            request = next((r for r in pending if _matches(r, url)), None)
            if request is not None:
                pending.remove(request)
                try:
                    outcome = protocol.on_snapshot(request, data.encode(), RECEIVED_AT_MS)
                except FrameError:
                    continue
                applied += 1
                pending += outcome.snapshot_requests
            continue
        result = feed(protocol, data)
        if isinstance(result, FrameOutcome):
            events += bool(result.events)
            pending += result.snapshot_requests
    for frame in documented_frames(venue):
        result = feed(protocol, frame)
        if isinstance(result, FrameOutcome):
            events += bool(result.events)
    seeds = seed_frames(venue)
    step = max(1, len(seeds) // PROBE_CANDIDATES)
    candidates = sorted(seeds[::step], key=lambda f: '"trade' not in f.lower())
    trial = copy.deepcopy(protocol)
    probes = []
    for frame in candidates:
        result = feed(trial, frame)
        if isinstance(result, FrameOutcome) and result.events:
            probes.append(frame)
    return Synced(venue, protocol, applied, events, tuple(probes[:8]))


PROBE_CANDIDATES = 200
"""About this many seed frames, spread over the session (trades first), are tried as probes."""


# mutations

HUGE_AND_TINY = (
    Raw("NaN"),
    Raw("Infinity"),
    Raw("-Infinity"),
    Raw("1e400"),
    Raw("-1e400"),
    Raw("1e-400"),
    Raw("-0"),
    Raw("-0.0"),
    Raw("9" * 5_000),
    Raw("-" + "9" * 400),
    Raw("1" + "0" * 30),
    Raw("0.000000000000000000000000000001"),
    2**63 - 1,
    2**63,
    2**64,
    -(2**63) - 1,
    -1,
    0,
    1e308,
    5e-324,
    "NaN",
    "Infinity",
    "-Infinity",
    "1e400",
    "1E+41",
    "-0",
    "0E-50",
    "9" * 400,
    "",
    "-1",
    "0x10",
    "1_000",
    "\u0661",
)
"""Numbers (and number-like strings) at and past every bound a parser might assume."""

MEGABYTE_STRINGS = ("9" * MEGABYTE, "x" * MEGABYTE)
"""1 MB string values (built once)."""

TYPE_SWAPS: tuple[Callable[[Any], Any], ...] = (
    lambda v: [v],
    lambda v: {"v": v},
    lambda v: str(v),
    lambda v: 7,
    lambda v: 7.25,
    lambda v: True,
    lambda v: None,
    lambda v: [],
    lambda v: {},
    lambda v: [[1, 2], {}],
    lambda v: "x",
)
"""list / dict / str / int / float / bool / null in place of a value."""


def nested(depth: int, inner: str = "1") -> Raw:
    """A JSON value nested ``depth`` lists (or, for odd depths, objects) deep."""
    if depth % 2:
        return Raw('{"a":' * depth + inner + "}" * depth)
    return Raw("[" * depth + inner + "]" * depth)


_HOLE = "\u0000raw\u0000"
_HOLE_JSON = orjson.dumps(_HOLE).decode()


def _holed(value: Any, raws: list[str]) -> Any:
    """``value`` with each :class:`Raw` piece (and each int orjson cannot write) replaced
    by a placeholder string; the pieces' texts are appended to ``raws`` in document order."""
    if isinstance(value, Raw):
        raws.append(value.text)
        return _HOLE
    if isinstance(value, dict):
        return {str(k): _holed(v, raws) for k, v in value.items()}
    if isinstance(value, list):
        return [_holed(v, raws) for v in value]
    if isinstance(value, Decimal):
        raws.append(str(value))
        return _HOLE
    if type(value) is int and not -(2**63) <= value < 2**64:
        raws.append(int.__repr__(value) if abs(value) < 10**4000 else "9" * 4000)
        return _HOLE
    return value


def dumps(value: Any) -> str:
    """JSON text of a document that may hold :class:`Raw` pieces and ints of any size.

    orjson writes the document with a placeholder for each piece, which is then
    replaced by the piece's text (no document string contains the placeholder: a
    NUL in a JSON string is written as ``\\u0000``, never as the placeholder's text
    outside a string position, and pieces are spliced in order).
    """
    raws: list[str] = []
    text = orjson.dumps(_holed(value, raws)).decode()
    if not raws:
        return text
    parts = text.split(_HOLE_JSON)
    if len(parts) != len(raws) + 1:  # a venue string equal to the placeholder: impossible
        raise AssertionError("placeholder collision")
    out = [parts[0]]
    for raw, part in zip(raws, parts[1:], strict=True):
        out += (raw, part)
    return "".join(out)


def _slots(document: Any) -> list[tuple[Any, Any]]:
    """Every (container, key) of the document, in a stable order."""
    slots: list[tuple[Any, Any]] = []
    stack = [document]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            keys: list[Any] = list(node)
        elif isinstance(node, list):
            keys = list(range(len(node)))
        else:
            continue
        for key in keys:
            slots.append((node, key))
            stack.append(node[key])
    return slots


TREE_KINDS = 9
"""How many of :func:`mutate`'s mutations edit the JSON tree (the rest edit text or bytes)."""
MUTATION_KINDS = TREE_KINDS + 6


def mutate(frame: str, plan: tuple[int, int, int, int]) -> str | bytes:
    """One mutated frame: ``plan`` = (mutation kind, where, what, how many).

    Tree mutations pick up to three slots of the decoded frame; text and byte
    mutations act on the frame's text. Every mutation is deterministic in ``plan``.
    """
    kind, where, what, count = plan
    kind %= MUTATION_KINDS
    if kind < TREE_KINDS:
        document = orjson.loads(frame)
        for turn in range(1 + count % 3):
            slots = _slots(document)
            if not slots:
                break
            node, key = slots[(where + turn * 7919) % len(slots)]
            node[key] = _tree_value(kind, node, key, what + turn)
            if kind == 0:
                del node[key]
        text = dumps(document)
        return text.encode() if count % 2 else text
    rng = random.Random(where * 1_000_003 + what)
    kind -= TREE_KINDS
    data = frame.encode()
    if kind == 0:  # truncated JSON
        return frame[: where % max(1, len(frame))]
    if kind == 1:  # invalid UTF-8 bytes spliced in
        at = where % max(1, len(data))
        bad = rng.choice((b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\xf8\x88"))
        return data[:at] + bad + data[at:]
    if kind == 2:  # a binary frame of random bytes
        return rng.randbytes(what % 512)
    if kind == 3:  # the whole frame nested 1,000-5,000 deep
        return nested(1_000 + what % 4_001, frame).text
    if kind == 4:  # bytes flipped
        flipped = bytearray(data)
        for _ in range(1 + count % 4):
            flipped[rng.randrange(len(flipped))] = rng.randrange(256)
        return bytes(flipped)
    return rng.choice((b"", "", " ", "null", "[]", "{}", "1", '"x"', "pong", "ping", "{" * 3))


def _tree_value(kind: int, node: Any, key: Any, what: int) -> Any:
    value = node[key]
    if kind == 0:  # deleted (the caller deletes; any value will do)
        return value
    if kind in (1, 2):
        return TYPE_SWAPS[what % len(TYPE_SWAPS)](value)
    if kind == 3:
        return HUGE_AND_TINY[what % len(HUGE_AND_TINY)]
    if kind == 4:  # under and over orjson's depth limit of 1,024, with the frame's own depth
        return nested(900 + what % 120 if what % 2 else 1_000 + (what * 37) % 4_001)
    if kind == 5:
        return MEGABYTE_STRINGS[what % 2] if what % 5 == 0 else "y" * (what % 300)
    if kind == 6:  # a number as a string, a string as a number, a word as an unhashable
        if isinstance(value, str):
            return (value * 2, [value], {value: value}, len(value))[what % 4]
        if isinstance(value, bool | int | float):
            return (str(value), not value, float(value), -value)[what % 4]
        return [value, value]
    if kind == 7:  # a sibling's value (a price where a time is expected...)
        siblings = list(node.values()) if isinstance(node, dict) else list(node)
        return siblings[what % len(siblings)]
    return Raw(("NaN", "1e400", "-0", "Infinity", "1e-400")[what % 5])


# --- hypothesis settings and plans shared by the fuzz tests ---

EXAMPLES = 5
"""Hypothesis examples per fuzz test (each one a batch of frames)."""

SETTINGS: dict[str, Any] = {
    "max_examples": EXAMPLES,
    "derandomize": True,
    "database": None,
    "deadline": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
}

seeds_of_batches = st.integers(0, 2**64 - 1)
"""One hypothesis example: the seed of the PRNG that draws its batch of plans."""


def plans(seed: int, count: int) -> list[tuple[int, int, int, int, int]]:
    """``count`` plans, one per frame: (seed frame index, mutation kind, where, what,
    how many), drawn by a PRNG seeded with ``seed`` (the same plans for the same seed)."""
    rng = random.Random(seed)
    return [
        (
            rng.getrandbits(31),
            rng.getrandbits(31),
            rng.getrandbits(31),
            rng.getrandbits(31),
            rng.getrandbits(31),
        )
        for _ in range(count)
    ]
