"""The venue simulator behind ``relay simulate`` and ``relay demo``.

Recorded venue sessions (:mod:`relay.sim.captures`) replayed live by
:mod:`relay.sim.server`, paced by :mod:`relay.sim.replay`, with the faults of
:mod:`relay.sim.faults` and :mod:`relay.sim.poison`; each venue's side of the
protocol is in :mod:`relay.sim.venues`. Test tooling: the relay's service code
never imports this package.
"""
