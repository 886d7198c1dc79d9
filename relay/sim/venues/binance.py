"""Binance: book-accurate REST depth snapshots for the simulated venue (:mod:`relay.sim.books`).

Binance's WebSocket streams take no client frames the relay needs answered, so
its simulated side is the snapshot builder only, for spot, USD-M and COIN-M.
"""

from __future__ import annotations

from relay.infrastructure.venues.binance import VENUE_IDS
from relay.sim.books import BinanceSnapshotBuilder
from relay.sim.venues.registry import SimulatedSide, register_simulated

for _venue_id in VENUE_IDS:
    register_simulated(SimulatedSide(_venue_id, snapshot_builder=BinanceSnapshotBuilder))
