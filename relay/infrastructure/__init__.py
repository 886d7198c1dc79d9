"""Adapters: venues, NATS, HTTP, metrics, simulator. The only layer that does I/O."""
