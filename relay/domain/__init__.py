"""Domain layer: value objects and events. Standard library only; no I/O, no asyncio."""
