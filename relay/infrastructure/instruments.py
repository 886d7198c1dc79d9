"""``relay instruments VENUE``: list a venue's instruments from its public REST listing.

Each venue module says where its listing is and how to read it
(:class:`~relay.infrastructure.venues.registry.InstrumentListing`); this module
fetches it with httpx and renders the result as a table or as
``[[venues.subscriptions]]`` TOML ready to paste into a config.
"""

from __future__ import annotations

import httpx
import tomlkit

from relay.domain.errors import RelayError
from relay.infrastructure.venues.registry import ListedInstrument, VenueSpec

LISTING_TIMEOUT_S = 30.0
"""Timeout of one listing request."""


class InstrumentListingError(RelayError):
    """The venue has no listing, or its answer could not be fetched or read."""


async def list_instruments(
    spec: VenueSpec, rest_base: str, http: httpx.AsyncClient
) -> list[ListedInstrument]:
    """Every instrument of ``spec``'s listing, sorted by instrument id, duplicates removed.

    Args:
        spec: the venue.
        rest_base: REST base URL (the venue's public one, or an override).
        http: the client to use.

    Raises:
        InstrumentListingError: the venue has no listing, a request failed
            (connection error, HTTP status >= 400), or a body could not be read.
    """
    listing = spec.instrument_listing
    if listing is None:
        raise InstrumentListingError(f"{spec.id} has no public instrument listing")
    found: dict[str, ListedInstrument] = {}
    for request in listing.requests:
        url = rest_base.rstrip("/") + request.path
        try:
            if request.json_body is None:
                response = await http.get(url, timeout=LISTING_TIMEOUT_S)
            else:
                response = await http.post(
                    url,
                    content=request.json_body,
                    headers={"Content-Type": "application/json"},
                    timeout=LISTING_TIMEOUT_S,
                )
            response.raise_for_status()
        except httpx.HTTPError as exc:
            raise InstrumentListingError(f"{spec.id}: {url}: {exc}") from exc
        try:
            instruments = listing.parse(request, response.content)
        except ValueError as exc:
            raise InstrumentListingError(f"{spec.id}: {url}: unreadable listing: {exc}") from exc
        for instrument in instruments:
            found.setdefault(instrument.instrument, instrument)
    return [found[key] for key in sorted(found)]


def render_table(instruments: list[ListedInstrument]) -> str:
    """One line per instrument: id, canonical symbol and kind in aligned columns."""
    rows = [("instrument", "canonical_symbol", "kind")] + [
        (i.instrument, i.canonical_symbol, i.kind) for i in instruments
    ]
    widths = [max(len(row[column]) for row in rows) for column in range(3)]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


def render_toml(instruments: list[ListedInstrument], data_types: list[str]) -> str:
    """``[[venues.subscriptions]]`` tables for ``instruments``, built with tomlkit."""
    document = tomlkit.document()
    venues = tomlkit.table()
    subscriptions = tomlkit.aot()
    for instrument in instruments:
        table = tomlkit.table()
        table["instrument"] = instrument.instrument
        table["canonical_symbol"] = instrument.canonical_symbol
        table["data_types"] = list(data_types)
        subscriptions.append(table)
    venues["subscriptions"] = subscriptions
    document["venues"] = venues
    text: str = tomlkit.dumps(document)
    return text
