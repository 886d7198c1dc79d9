"""The dashboard page ``/ui``: static HTML, CSS and JavaScript shipped in this package.

The page reads ``GET /api/v1/events`` (Server-Sent Events, one status snapshot
about every second) and changes streams through ``POST`` / ``DELETE`` /
``PATCH /api/v1/streams``; the JSON shapes are those of docs/control.md. Nothing
is fetched from another origin (no CDN, no web fonts): the page works offline and
its Content-Security-Policy allows this origin only.

The assets are read once, when :func:`ui_routes` is called, from the installed
package (``static/``, listed in pyproject's package data), so a broken install
fails at start rather than on the first request.
"""

from __future__ import annotations

from importlib.resources import files
from typing import Final

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

ASSETS: Final = {
    "index.html": "text/html; charset=utf-8",
    "dashboard.css": "text/css; charset=utf-8",
    "dashboard.js": "text/javascript; charset=utf-8",
}
"""The files of ``static/`` served under ``/ui/``, with their content types."""

HEADERS: Final = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; object-src 'none'; "
        "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}
"""Sent with every asset: same-origin only, not framed, revalidated on each load
(a relay upgrade never leaves an old script in a browser cache)."""


def read_assets() -> dict[str, bytes]:
    """The bytes of each file of :data:`ASSETS`, read from the installed package.

    Raises:
        FileNotFoundError: a file is missing (the package was installed without its data).
    """
    static = files(__name__) / "static"
    return {name: (static / name).read_bytes() for name in ASSETS}


def ui_routes() -> list[BaseRoute]:
    """The dashboard's routes, to add to the HTTP app.

    - ``GET /ui``: 307 to ``/ui/`` (the page's relative URLs need the slash).
    - ``GET /ui/``: ``index.html``.
    - ``GET /ui/{name}``: ``dashboard.css`` / ``dashboard.js``; 404 for any other name.

    Raises:
        FileNotFoundError: as :func:`read_assets`.
    """
    assets = read_assets()

    def asset(name: str) -> Response:
        if name not in ASSETS:
            return Response("not found", status_code=404, media_type="text/plain")
        return Response(assets[name], media_type=ASSETS[name], headers=HEADERS)

    async def redirect_endpoint(request: Request) -> Response:
        return RedirectResponse(request.url.replace(path="/ui/"))

    async def index_endpoint(request: Request) -> Response:
        return asset("index.html")

    async def asset_endpoint(request: Request) -> Response:
        return asset(request.path_params["name"])

    return [
        Route("/ui", redirect_endpoint, methods=["GET"]),
        Route("/ui/", index_endpoint, methods=["GET"]),
        Route("/ui/{name}", asset_endpoint, methods=["GET"]),
    ]
