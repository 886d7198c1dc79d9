"""Headless Chromium driven by Selenium, for the dashboard's browser test.

Debian's ``chromium`` and ``chromium-driver`` packages (``.ci/run`` installs them).
Without them the browser test skips, unless ``RELAY_REQUIRE_BROWSER=1`` (``.ci/run``
sets it) or ``CI`` is set: then it fails.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

CHROMEDRIVER = "/usr/bin/chromedriver"
CHROMIUM = "/usr/bin/chromium"
WINDOW = (1400, 1000)
"""Window size in CSS pixels: the whole dashboard of a 12-stream relay fits."""


def artifacts_dir() -> Path:
    """Where failing browser tests save screenshots: ``$RELAY_TEST_ARTIFACTS``, else
    ``<temp dir>/relay-test-artifacts``; created when missing."""
    path = Path(
        os.environ.get("RELAY_TEST_ARTIFACTS")
        or Path(tempfile.gettempdir()) / "relay-test-artifacts"
    )
    path.mkdir(parents=True, exist_ok=True)
    return path


def require_browser() -> tuple[str, str]:
    """``(chromium, chromedriver)`` paths; skips the test when either is missing, or fails
    it when ``RELAY_REQUIRE_BROWSER=1`` or ``CI`` is set."""
    chromium = shutil.which("chromium") or (CHROMIUM if Path(CHROMIUM).exists() else None)
    driver = shutil.which("chromedriver") or (CHROMEDRIVER if Path(CHROMEDRIVER).exists() else None)
    if chromium is not None and driver is not None:
        return chromium, driver
    missing = "chromium" if chromium is None else "chromedriver"
    if os.environ.get("RELAY_REQUIRE_BROWSER") == "1" or os.environ.get("CI"):
        pytest.fail(f"{missing} is not installed; .ci/run installs chromium and chromium-driver")
    pytest.skip(f"{missing} is not installed (apt-get install chromium chromium-driver)")


def headless_chromium() -> webdriver.Chrome:
    """A new headless Chromium of :data:`WINDOW` size; quit it when done.

    No sandbox (containers run tests as root, where Chromium's sandbox refuses to start)
    and no /dev/shm (small in containers). Skips or fails as :func:`require_browser`.
    """
    chromium, driver = require_browser()
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        f"--window-size={WINDOW[0]},{WINDOW[1]}",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(driver), options=options)
