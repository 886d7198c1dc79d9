"""Venue connections: session, reconnect and circuit breaker, rotation, REST client, watchdog.

:class:`~relay.infrastructure.connection.venue_connection.VenueConnection` keeps
one venue connected; the module docstring there maps the parts.
"""
