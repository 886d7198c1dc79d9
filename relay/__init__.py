"""relay: crypto market data from venue WebSockets to NATS JetStream."""

__version__ = "0.1.0"
