"""Fuzzing every simulated venue side of ``relay simulate`` with mutated real frames.

Property, for every venue id with a simulated side (:mod:`relay.sim.venues`):
the side takes mutated recorded frames (as frames the replay passed) and mutated
client frames (subscribe frames of the venue's protocol and seed frames) without
raising, and answers only text frames. Seeds and mutations: see
``tests/support/fuzz_frames.py``.

Runs are derandomized (fixed seed, no example database): the same frames every run.
"""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given, settings
from support.fuzz_frames import SETTINGS, mutate, plans, seed_frames, seeds_of_batches, synced

from relay.infrastructure.venues.registry import registered_venues
from relay.sim.venues.registry import simulated_venue

SIDE_BATCH = 1_000
"""Recorded and client frame pairs one example feeds a simulated side."""
SIMULATED_VENUES = tuple(v for v in registered_venues() if simulated_venue(v) is not None)


@pytest.mark.parametrize("venue", SIMULATED_VENUES)
def test_simulated_venue_sides_take_any_recorded_or_client_frame(venue: str) -> None:
    factory = simulated_venue(venue)
    assert factory is not None
    client_seeds = tuple(synced(venue).protocol.subscribe_frames())[:20] + seed_frames(venue)[:50]
    seeds = seed_frames(venue)
    tally: Counter[str] = Counter()

    @settings(**{**SETTINGS, "max_examples": 2})
    @given(batch_seed=seeds_of_batches)
    def run(batch_seed: int) -> None:
        side = factory()
        for frame in seeds[:300]:
            side.on_frame_passed(frame)
        for seed, *plan in plans(batch_seed, SIDE_BATCH):
            mutated = mutate(seeds[seed % len(seeds)], (plan[0], plan[1], plan[2], plan[3]))
            text = mutated if isinstance(mutated, str) else mutated.decode(errors="replace")
            side.on_frame_passed(text)
            swapped = (plan[1], plan[0], plan[3], plan[2])
            client = mutate(client_seeds[seed % len(client_seeds)], swapped)
            text = client if isinstance(client, str) else client.decode(errors="replace")
            replies = side.on_client_frame(text)
            assert all(isinstance(reply, str) for reply in replies)
            tally["frames"] += 2
        for frame in client_seeds:
            assert all(isinstance(reply, str) for reply in side.on_client_frame(frame))

    run()
    print(f"{venue}: {tally['frames']} frames fed to its simulated side")
    assert tally["frames"] >= 4_000
