"""Fixtures shared by the whole test suite, the ``--dashboard-screenshot`` option, and
the browser artifacts of a failing test that drove a browser (a ``browser`` fixture): a
screenshot, the page's HTML and the browser console in
:func:`support.browser.artifacts_dir`, named in the report."""

from __future__ import annotations

import re
from collections.abc import Generator
from pathlib import Path

import pytest
from selenium.webdriver.chrome.webdriver import WebDriver
from support.browser import artifacts_dir
from support.recorded_events import RECORDED_BY_NAME, RECORDED_EVENTS, RecordedEvent

CAPTURES_DIR = Path(__file__).resolve().parents[2] / "shared" / "captures"


@pytest.fixture
def captures_dir() -> Path:
    """The recorded venue sessions (``shared/captures``, format in its FORMAT.md)."""
    return CAPTURES_DIR


@pytest.fixture(params=RECORDED_EVENTS, ids=[r.name for r in RECORDED_EVENTS])
def recorded(request: pytest.FixtureRequest) -> RecordedEvent:
    """Each event of ``support.recorded_events`` in turn (the serialization tests)."""
    event: RecordedEvent = request.param
    return event


@pytest.fixture
def recorded_by_name() -> dict[str, RecordedEvent]:
    """The events of ``support.recorded_events`` by golden file stem."""
    return RECORDED_BY_NAME


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--dashboard-screenshot PATH``: tests/e2e/test_dashboard.py saves the page there."""
    parser.addoption(
        "--dashboard-screenshot",
        default=None,
        metavar="PATH",
        help="save the dashboard as PNG to PATH during tests/e2e/test_dashboard.py "
        "(docs/images/dashboard.png is made so)",
    )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    driver = getattr(item, "funcargs", {}).get("browser")
    if report.when == "call" and report.failed and isinstance(driver, WebDriver):
        stem = str(artifacts_dir() / re.sub(r"[^\w-]+", "_", item.name))
        saved = [f"{stem}.png"] if driver.get_screenshot_as_file(f"{stem}.png") else []
        Path(f"{stem}.html").write_text(driver.page_source)
        log = driver.get_log("browser")  # type: ignore[no-untyped-call]  # selenium: untyped
        Path(f"{stem}.console.txt").write_text("\n".join(str(entry) for entry in log))
        saved += [f"{stem}.html", f"{stem}.console.txt"]
        report.sections.append(("browser artifacts", "\n".join(saved)))
        print(f"\nbrowser artifacts of {item.nodeid}: {', '.join(saved)}")
    return report
