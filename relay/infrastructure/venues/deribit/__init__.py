"""Deribit: this package holds the venue's code, split next; see :mod:`.protocol`."""

from relay.infrastructure.venues.deribit import protocol

__doc__ = protocol.__doc__
