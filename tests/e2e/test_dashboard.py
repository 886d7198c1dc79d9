"""The dashboard ``/ui`` in a real browser (headless Chromium, Selenium) against a real relay.

Real parts: nats-server with JetStream; ``relay simulate`` replaying binance-usdm.jsonl in
real time (31 s of recorded traffic) with ``--reconnect resume``, so that the book added at
runtime gets a REST snapshot matching the replay's position; ``relay run`` as a child
process subscribed to three of the four recorded instruments (SUSHIUSDT, AKROUSDT,
KEEPUSDT, each trade, ticker, book and candle) with a control token; Chromium driven
through chromedriver. One run, many checks in order: the page lists the twelve configured
streams and the venue; a stream's event counter moves on the page (no reload); a wrong
token and an empty data-type choice are refused with the API's 401 and 422 problem shown
on the page; adding the fourth recorded instrument (CTKUSDT ticker and book) from the form
makes its rows appear with the book's best bid and ask, and its tickers reach JetStream
equal to a run of recorded ones; its row's pause and resume buttons change the relay's
state of the stream; removing both from their rows makes them disappear and no
further CTKUSDT message is stored while SUSHIUSDT's tickers go on.

Every wait is a condition (WebDriverWait, or polling JetStream with a deadline). A failure
saves a screenshot (tests/conftest.py). ``--dashboard-screenshot PATH`` saves the page
with the added rows: docs/images/dashboard.png is made so (docs/control.md).
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import nats
import orjson
import pytest
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import Select, WebDriverWait
from support.browser import headless_chromium
from support.e2e import relay_header, simulator_process, start_relay, stop_relay, until
from support.reference_books import recv_payloads

from relay.infrastructure.embedded_nats import EmbeddedNats, free_port

pytestmark = pytest.mark.integration

VENUE = "binance-usdm"
CONFIGURED = {"SUSHIUSDT": "SUSHI/USDT", "AKROUSDT": "AKRO/USDT", "KEEPUSDT": "KEEP/USDT"}
DATA_TYPES = ("candle", "l2_orderbook", "ticker", "trade")
ADDED, ADDED_SYMBOL, ADDED_TOKEN = "CTKUSDT", "CTK/USDT", "ctk-usdt"
ADDED_TYPES = ("l2_orderbook", "ticker")
TOKEN = "dashboard-test-token-0123456789"
TOP_OF_BOOK = re.compile(r"[\d.]+ \u00d7 [\d.]+ \| [\d.]+ \u00d7 [\d.]+")
"""A book row's top of book: ``bid \u00d7 qty | ask \u00d7 qty``, venue digits."""
WAIT_S = 20.0
"""Longest wait for one condition on the page."""


def recorded_tickers(instrument: str) -> list[tuple[str, str, str, str]]:
    """The recorded ``bookTicker`` frames of ``instrument``: (bid, bid qty, ask, ask qty)."""
    return [
        (f["data"]["b"], f["data"]["B"], f["data"]["a"], f["data"]["A"])
        for f in recv_payloads(f"{VENUE}.jsonl")
        if f["data"].get("e") == "bookTicker" and f["data"].get("s") == instrument
    ]


def config(nats_url: str, simulator: str, http_port: int) -> str:
    """The relay's TOML: the three configured instruments, a control token."""
    parts = [
        relay_header(nats_url, http_port, log_level="WARNING"),
        f'[control]\ntokens = [{{ name = "ops", token = "{TOKEN}" }}]\n',
        f'[[venues]]\nid = "{VENUE}"\nws_url = "ws://{simulator}/{VENUE}/stream"\n'
        f'rest_url = "http://{simulator}/{VENUE}"\n',
    ]
    for instrument, symbol in CONFIGURED.items():
        parts.append(
            f'[[venues.subscriptions]]\ninstrument = "{instrument}"\n'
            f'canonical_symbol = "{symbol}"\ndata_types = {list(DATA_TYPES)!r}\n'.replace("'", '"')
        )
    return "\n".join(parts)


@dataclass
class Running:
    """A relay on the simulator: its HTTP base URL and the NATS URL it publishes to."""

    base_url: str
    nats_url: str


@contextlib.asynccontextmanager
async def running_relay(tmp_path: Path) -> AsyncIterator[Running]:
    """nats-server, the simulator and ``relay run``; yields once ``/readyz`` answers 200."""
    http_port = free_port()
    base_url = f"http://127.0.0.1:{http_port}"
    async with (
        EmbeddedNats() as server,
        simulator_process(
            f"{VENUE}.jsonl", speed="realtime", options=("--reconnect", "resume")
        ) as simulator,
    ):
        path = tmp_path / "relay.toml"
        path.write_text(config(server.url, simulator, http_port))
        relay = await start_relay(path)
        try:
            async with httpx.AsyncClient(timeout=5.0) as client:

                async def ready() -> bool:
                    with contextlib.suppress(httpx.TransportError):
                        return (await client.get(f"{base_url}/readyz")).status_code == 200
                    return False

                await until(ready, "the relay to be ready")
            yield Running(base_url, server.url)
        finally:
            stderr = await stop_relay(relay)
            assert relay.returncode == 0, stderr


@pytest.fixture
def browser() -> Iterator[WebDriver]:
    """Headless Chromium (skips, or fails in CI, without chromium and chromedriver)."""
    driver = headless_chromium()
    yield driver
    driver.quit()


def wait(driver: WebDriver, condition: Callable[[WebDriver], object], what: str) -> None:
    """Poll ``condition`` every 0.1 s until truthy; fail after :data:`WAIT_S` naming ``what``."""
    WebDriverWait(driver, WAIT_S, poll_frequency=0.1).until(condition, f"waiting for {what}")


def row_keys(driver: WebDriver) -> list[str]:
    """The ``venue/instrument/data_type`` of each stream row, top to bottom."""
    rows = driver.find_elements(By.CSS_SELECTOR, "#streams tbody tr")
    return [str(row.get_attribute("data-key")) for row in rows]


def stream_cell(driver: WebDriver, key: str, field: str) -> str:
    """The text of one cell of a stream row ("" when the row is gone)."""
    cells = driver.find_elements(By.CSS_SELECTOR, f'tr[data-key="{key}"] [data-field="{field}"]')
    return cells[0].text if cells else ""


def add_form(driver: WebDriver) -> WebElement:
    return driver.find_element(By.ID, "add-stream")


def message(driver: WebDriver) -> str:
    return driver.find_element(By.ID, "message").text


def shows_message(text: str) -> Callable[[WebDriver], bool]:
    """A condition: the page's message line reads ``text``."""
    return lambda driver: message(driver) == text


def shows_cell(key: str, field: str, text: str) -> Callable[[WebDriver], bool]:
    """A condition: a stream row's cell reads ``text``."""
    return lambda driver: stream_cell(driver, key, field) == text


def enter_token(driver: WebDriver, token: str) -> None:
    """Answer the token dialog the page opens on its first change."""
    wait(driver, lambda d: d.find_element(By.ID, "token-dialog").is_displayed(), "token dialog")
    field = driver.find_element(By.CSS_SELECTOR, "#token-form input[name=token]")
    field.send_keys(token)
    driver.find_element(By.CSS_SELECTOR, "#token-form button[value=ok]").click()


async def subject_counts(nats_url: str) -> dict[str, int]:
    """Messages stored in MARKET per subject."""
    nc = await nats.connect(nats_url)
    try:
        info = await nc.jetstream().stream_info("MARKET", subjects_filter="market.>")
        return dict(info.state.subjects or {})
    finally:
        await nc.close()


async def stored_payloads(nats_url: str, subject: str, count: int) -> list[dict[str, object]]:
    """The first ``count`` envelopes stored on ``subject``, in order."""
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        subscription = await js.subscribe(subject, stream="MARKET", ordered_consumer=True)
        envelopes = [
            orjson.loads((await subscription.next_msg(timeout=10)).data) for _ in range(count)
        ]
        await subscription.unsubscribe()
        return envelopes
    finally:
        await nc.close()


async def test_dashboard_shows_live_streams_and_adds_then_removes_a_stream(
    tmp_path: Path, browser: WebDriver, request: pytest.FixtureRequest
) -> None:
    started = time.monotonic()
    configured = sorted(
        f"{VENUE}/{instrument}/{data_type}" for instrument in CONFIGURED for data_type in DATA_TYPES
    )
    added = [f"{VENUE}/{ADDED}/{data_type}" for data_type in ADDED_TYPES]
    added_subjects = [f"market.{VENUE}.{ADDED_TOKEN}.{data_type}" for data_type in ADDED_TYPES]
    async with running_relay(tmp_path) as relay:
        ready = time.monotonic()  # the replay (31 s) started about when the relay connected
        browser.get(f"{relay.base_url}/ui")

        # The page lists every configured stream (ordered by instrument then data type) and
        # the venue, from the live feed.
        wait(browser, lambda d: row_keys(d) == configured, "the twelve configured streams")
        wait(
            browser,
            lambda d: d.find_element(By.ID, "nats").text.startswith("connected"),
            "NATS shown connected",
        )
        venue_rows = browser.find_elements(By.CSS_SELECTOR, "#venues tbody tr")
        assert [row.get_attribute("data-key") for row in venue_rows] == [VENUE]

        # The counters move without a reload: SUSHIUSDT's ticker (305 recorded frames).
        ticker = f"{VENUE}/SUSHIUSDT/ticker"
        wait(browser, lambda d: int(stream_cell(d, ticker, "events_total") or 0) > 0, "events")
        first = int(stream_cell(browser, ticker, "events_total"))
        wait(
            browser,
            lambda d: int(stream_cell(d, ticker, "events_total")) > first,
            "SUSHIUSDT ticker's events_total to grow",
        )
        browser.execute_script("window.relayPageMark = 1")  # gone if the page reloaded

        # A wrong token: the API's 401 is shown, nothing is added.
        form = add_form(browser)
        venue_choice = Select(form.find_element(By.NAME, "venue"))
        assert venue_choice.first_selected_option.text == VENUE  # the running venue first
        venue_choice.select_by_value(VENUE)
        form.find_element(By.NAME, "instrument").send_keys(ADDED)
        form.find_element(By.NAME, "canonical_symbol").send_keys(ADDED_SYMBOL)
        form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        enter_token(browser, "not-the-token-0123456789")
        wait(browser, lambda d: " 401 " in message(d), "the 401 on the page")

        # The right token, no data type chosen: the 422 and its problem list are shown.
        form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        enter_token(browser, TOKEN)
        wait(browser, lambda d: " 422 " in message(d), "the 422 on the page")
        problems = browser.find_elements(By.CSS_SELECTOR, "#problems li")
        assert problems and all(p.text.startswith("data_types") for p in problems), [
            p.text for p in problems
        ]

        # Adding CTKUSDT's ticker and book (the token is kept: no dialog this time).
        for data_type in ADDED_TYPES:
            form.find_element(By.CSS_SELECTOR, f"input[value={data_type}]").click()
        form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        wait(browser, lambda d: all(key in row_keys(d) for key in added), "the added rows")
        assert message(browser) == f"added {', '.join(added)}"
        assert not browser.find_element(By.ID, "problems").is_displayed()
        wait(
            browser,
            lambda d: TOP_OF_BOOK.fullmatch(stream_cell(d, added[0], "book")),
            "the added book's best bid and ask",
        )

        # Its tickers reach JetStream, equal to a run of consecutive recorded ones.
        least = {added_subjects[0]: 3, added_subjects[1]: 10}  # book messages, tickers

        async def some_stored() -> bool:
            counts = await subject_counts(relay.nats_url)
            return all(counts.get(subject, 0) >= n for subject, n in least.items())

        await until(some_stored, "CTKUSDT's ticker and book in JetStream", WAIT_S)
        counts = await subject_counts(relay.nats_url)
        envelopes = await stored_payloads(
            relay.nats_url, added_subjects[1], counts[added_subjects[1]]
        )
        stored = [
            (p["bid_price"], p["bid_quantity"], p["ask_price"], p["ask_quantity"])
            for p in (e["payload"] for e in envelopes)
            if isinstance(p, dict)
        ]
        recorded = recorded_tickers(ADDED)
        offsets = [i for i in range(len(recorded)) if recorded[i : i + len(stored)] == stored]
        assert offsets, stored
        assert [e["sequence"] for e in envelopes] == list(range(1, len(envelopes) + 1))
        screenshot = request.config.getoption("--dashboard-screenshot")
        if screenshot:  # the page with the added rows, from the top
            browser.execute_script("window.scrollTo(0, 0)")
            assert browser.get_screenshot_as_file(str(screenshot)), screenshot
        books = await stored_payloads(relay.nats_url, added_subjects[0], 1)
        assert isinstance(books[0]["payload"], dict) and books[0]["payload"]["is_snapshot"] is True

        # Pause and resume the added ticker from its row: the relay's state follows.
        for action, state in (("pause", "paused"), ("resume", "streaming")):
            button = f'tr[data-key="{added[1]}"] [data-action=pause]'
            assert browser.find_element(By.CSS_SELECTOR, button).text == action
            browser.find_element(By.CSS_SELECTOR, button).click()
            wait(browser, shows_message(f"{action} {added[1]}: done"), f"{action} done")
            wait(browser, shows_cell(added[1], "state", state), f"{added[1]} {state}")

        # Removing both from their rows: the rows go, and while SUSHIUSDT's tickers keep
        # arriving no further CTKUSDT message is stored.
        for key in added:
            browser.find_element(
                By.CSS_SELECTOR, f'tr[data-key="{key}"] [data-action=remove]'
            ).click()
            wait(browser, shows_message(f"remove {key}: done"), f"{key} removed")
        wait(browser, lambda d: row_keys(d) == configured, "the added rows to go")
        sushi = f"market.{VENUE}.sushi-usdt.ticker"

        def sushi_at_least(count: int) -> Callable[[], Awaitable[bool]]:
            async def stored() -> bool:
                return (await subject_counts(relay.nats_url)).get(sushi, 0) >= count

            return stored

        # What was queued before the removal is published first (one FIFO pipeline).
        at_removal = (await subject_counts(relay.nats_url))[sushi]
        await until(sushi_at_least(at_removal + 3), "SUSHIUSDT tickers after the removal", WAIT_S)
        after = await subject_counts(relay.nats_url)
        await until(sushi_at_least(after[sushi] + 10), "10 more SUSHIUSDT tickers", WAIT_S)
        final = await subject_counts(relay.nats_url)
        replayed_s = time.monotonic() - ready
        assert [final.get(s, 0) for s in added_subjects] == [
            after.get(s, 0) for s in added_subjects
        ]
        assert browser.execute_script("return window.relayPageMark") == 1

    print(
        f"\ndashboard: {len(configured)} streams listed, CTKUSDT added ({len(stored)} tickers "
        f"equal to recorded ones, from #{offsets[0] + 1}) and removed "
        f"({[final.get(s, 0) for s in added_subjects]} messages, unchanged over "
        f"{final[sushi] - after[sushi]} SUSHIUSDT tickers); {time.monotonic() - started:.1f} s, "
        f"of which {replayed_s:.1f} s of the replay's 31"
    )
