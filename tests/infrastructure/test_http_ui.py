"""The dashboard's static routes (``/ui``) on the relay's HTTP app, over ASGI.

What the page does in a browser against a running relay: tests/e2e/test_dashboard.py.
"""

from __future__ import annotations

import re
import tomllib
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest

from relay.application.health import HealthMonitor
from relay.infrastructure.http_app import build_app
from relay.infrastructure.http_ui import ASSETS, HEADERS, read_assets, ui_routes
from relay.infrastructure.metrics import PrometheusMetrics

ROOT = Path(__file__).resolve().parents[2]
STATIC = ROOT / "relay" / "infrastructure" / "http_ui" / "static"


@pytest.fixture
def client() -> httpx.AsyncClient:
    app = build_app(HealthMonitor(["binance-usdm"]), PrometheusMetrics(), ui_routes())
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://relay")


async def test_ui_without_slash_redirects_to_the_page(client: httpx.AsyncClient) -> None:
    async with client:
        response = await client.get("/ui")
    assert response.status_code == 307
    assert response.headers["location"] == "http://relay/ui/"


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("/ui/", "index.html"),
        ("/ui/dashboard.css", "dashboard.css"),
        ("/ui/dashboard.js", "dashboard.js"),
    ],
)
async def test_each_asset_is_served_with_its_type_and_the_same_origin_policy(
    client: httpx.AsyncClient, path: str, name: str
) -> None:
    async with client:
        response = await client.get(path)
    assert response.status_code == 200
    assert response.content == (STATIC / name).read_bytes()
    assert response.headers["content-type"] == ASSETS[name]
    for header, value in HEADERS.items():
        assert response.headers[header] == value
    assert "default-src 'self'" in response.headers["content-security-policy"]


@pytest.mark.parametrize("name", ["missing.js", "..%2Fhttp_ui%2F__init__.py", "index.htm"])
async def test_any_other_name_under_ui_is_404(client: httpx.AsyncClient, name: str) -> None:
    async with client:
        response = await client.get(f"/ui/{name}")
    assert response.status_code == 404


async def test_without_the_ui_routes_there_is_no_page() -> None:
    app = build_app(HealthMonitor(["binance-usdm"]), PrometheusMetrics())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://relay") as client:
        assert (await client.get("/ui/")).status_code == 404
        assert (await client.get("/livez")).status_code == 200


class _References(HTMLParser):
    """Every ``src`` and ``href`` of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.urls += [value for name, value in attrs if name in ("src", "href") and value]


def test_the_page_loads_nothing_from_another_origin() -> None:
    parser = _References()
    parser.feed((STATIC / "index.html").read_text())
    assert sorted(parser.urls) == ["dashboard.css", "dashboard.js", "data:,"]
    css = (STATIC / "dashboard.css").read_text()
    assert "url(" not in css and "@import" not in css
    script = (STATIC / "dashboard.js").read_text()
    # The only absolute URL is the SVG namespace, an identifier that is never fetched.
    assert re.findall(r"https?://[^\"'`\s]+", script) == ["http://www.w3.org/2000/svg"]


def test_every_static_file_is_served_and_shipped_as_package_data() -> None:
    assert sorted(p.name for p in STATIC.iterdir()) == sorted(ASSETS)
    assert read_assets() == {name: (STATIC / name).read_bytes() for name in ASSETS}
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    package_data = pyproject["tool"]["setuptools"]["package-data"]["relay"]
    assert "infrastructure/http_ui/static/*" in package_data
