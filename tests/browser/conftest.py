"""Real Chromium for the browser tests: Debian's, driven by Playwright; nothing is downloaded.

Without Chromium the tests are skipped with one reason, except in CI, where they must run.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# Playwright's sync API runs an event loop in this thread; Django would then refuse ORM calls
# from the test body, which the tests make only between browser steps.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if CHROMIUM:
        return
    if os.environ.get("CI") == "true":
        raise pytest.UsageError("CI must run the browser tests, and no Chromium was found.")
    skip = pytest.mark.skip(reason="no Chromium found (apt-get install chromium): browser tests")
    for item in items:
        if "tests/browser/" in str(item.fspath):
            item.add_marker(skip)


@pytest.fixture(scope="session")
def chromium() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def new_context(chromium, live_server):
    """Open fresh browser contexts (each with its own cookies) on the live server.

    Any Content Security Policy violation Chromium reports in them fails the test.
    """
    contexts = []
    violations: list[str] = []

    def watch_for_csp_violations(message) -> None:
        if "Content Security Policy" in message.text:
            violations.append(message.text)

    def open_context():
        context = chromium.new_context(
            base_url=live_server.url, viewport={"width": 1400, "height": 900}
        )
        context.set_default_timeout(10_000)
        context.on("console", watch_for_csp_violations)
        contexts.append(context)
        return context

    yield open_context
    for context in contexts:
        context.close()
    assert violations == [], "Content Security Policy violations:\n" + "\n".join(violations)


@pytest.fixture
def new_page(new_context, live_server):
    """A page in a fresh context, logged in as the given user."""

    def open_as(user, path: str = "/"):
        page = new_context().new_page()
        page.goto("/login/")
        page.fill("input[name=username]", user.username)
        page.fill("input[name=password]", f"{user.username}-pass-4829")
        page.click("button[type=submit]")
        page.wait_for_url(f"{live_server.url}/")
        if path != "/":
            page.goto(path)
        return page

    return open_as


def screenshot(page, name: str) -> None:
    """Refresh docs/screenshots/ only when asked (make screenshots): every run would otherwise
    rewrite committed images that differ by a clock or a random id."""
    if os.environ.get("SCREENSHOTS") != "1":
        return
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


@pytest.fixture
def synced(transactional_db, ens_client, emulator):
    """The demo fleet mirrored into the database the live server reads."""
    from tests.inventory.conftest import sync

    run = sync(ens_client)
    assert run.status == "succeeded", run.error_message
    return emulator.control.state()["demo_notes"]


@pytest.fixture
def worker(synced, emulator, cloud_settings):
    """A run_worker loop in a thread, carrying out approved detaches against the emulator."""
    from eniadmin.worker import Worker
    from tests.conftest import emulator_client

    running = Worker(emulator_client(emulator), name="browser-worker")
    thread = threading.Thread(target=running.run, kwargs={"tick": 0.2}, daemon=True)
    thread.start()
    yield running
    running.stop()
    thread.join(timeout=20)
