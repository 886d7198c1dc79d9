"""Coinbase Advanced Trade: the venue's package, split next; see :mod:`.protocol`."""

from relay.infrastructure.venues.coinbase import protocol

__doc__ = protocol.__doc__
