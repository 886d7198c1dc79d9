"""``relay bench``: throughput, latency and RSS of simulate -> relay -> nats-server, with baselines.

- :mod:`relay.bench.sessions`: synthetic sessions built from a recorded venue
  session (readers: :mod:`relay.bench.binance`, :mod:`relay.bench.okx`;
  shared level algebra: :mod:`relay.bench.levels`).
- :mod:`relay.bench.runner`: the processes (nats-server, ``relay simulate``,
  ``relay run``), offered loads, collection; the body of ``relay bench``.
- :mod:`relay.bench.baselines`: the same payloads published without the relay.
- :mod:`relay.bench.report`: figures, the text table, the plot.
- :mod:`relay.bench.probe`: what ``relay run --stats-file`` installs in the relay
  (an ack observer recording latencies) and the stats file it writes at exit.

Method and figures: ``docs/performance.md``.
"""
