"""Hyperliquid's side of a simulated connection (``relay simulate``).

Serves the venue id of :mod:`relay.infrastructure.venues.hyperliquid` (every
book frame is a whole book, so nothing is rebuilt); registered by venue id in
:mod:`relay.sim.venues.registry`.
"""

from __future__ import annotations

from collections.abc import Sequence

from relay.infrastructure.venues.common import wire
from relay.infrastructure.venues.hyperliquid import VENUE_ID
from relay.sim.venues.registry import SimulatedSide, register_simulated


class HyperliquidSimulatedVenue:
    """The venue side of one connection served by ``relay simulate``.

    - ``{"method":"ping"}`` -> ``{"channel":"pong"}``.
    - a subscribe or unsubscribe frame -> ``{"channel":"subscriptionResponse",
      "data":{"method":..., "subscription":...}}`` (the protocol ignores acks,
      duplicates included).
    - a subscribe to ``l2Book`` (or ``bbo``) of a coin whose book frame the
      replay has already passed -> the ack, then that latest recorded frame
      again: the venue, too, sends the current book right after a subscribe.
      It is a full snapshot, so nothing has to be rebuilt.
    - anything else (not JSON, unknown methods) -> nothing.
    """

    def __init__(self) -> None:
        self._latest: dict[tuple[str, str], str] = {}

    def on_frame_passed(self, frame: str) -> None:
        """Remember the latest ``l2Book`` and ``bbo`` frame of each coin."""
        message = wire.parse_object(frame)
        if message is None:
            return
        channel = message.get("channel")
        data = message.get("data")
        if channel in ("l2Book", "bbo") and isinstance(data, dict):
            coin = data.get("coin")
            if isinstance(coin, str):
                self._latest[(channel, coin)] = frame

    def on_client_frame(self, frame: str) -> Sequence[str]:
        """The venue's answer to one client frame (may be empty)."""
        request = wire.parse_object(frame)
        if request is None:
            return []
        method = request.get("method")
        if method == "ping":
            return ['{"channel":"pong"}']
        subscription = request.get("subscription")
        if method not in ("subscribe", "unsubscribe") or not isinstance(subscription, dict):
            return []
        ack = wire.reply_json(
            {
                "channel": "subscriptionResponse",
                "data": {"method": method, "subscription": subscription},
            }
        )
        if ack is None:  # a subscription orjson cannot write (nested past 255): no answer
            return []
        replies = [ack]
        if method == "subscribe":
            latest = self._latest.get(
                (wire.label(subscription.get("type")), wire.label(subscription.get("coin")))
            )
            if latest is not None:
                replies.append(latest)
        return replies


register_simulated(SimulatedSide(VENUE_ID, venue=HyperliquidSimulatedVenue))
