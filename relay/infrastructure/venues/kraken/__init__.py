"""Kraken spot: this package holds the venue's code, split next; see :mod:`.protocol`."""

from relay.infrastructure.venues.kraken import protocol

__doc__ = protocol.__doc__
