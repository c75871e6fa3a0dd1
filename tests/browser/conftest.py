"""A real browser on a real server: Playwright launching the system's chromium.

``playwright install`` cannot download a browser here, so the tests launch Debian's ``chromium``.
Without it they are skipped, except with ``CI=true``: the test command (``.ci/browser``) installs it
then, and a browser still missing fails the run, so CI never passes by testing less.

Pages are the same on both databases and the browser is the slow part: these tests run on SQLite.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, Page, Response, async_playwright, expect

from tests.browser import TIMEOUT_MS
from tests.conftest import LiveServer


def chromium() -> str:
    path = shutil.which("chromium")
    if path is not None:
        return path
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail("chromium is not installed; CI requires it (the test command installs it with apt)")
    pytest.skip("chromium is not installed: apt-get install chromium (Playwright cannot download one here)")


@pytest.fixture
def backend() -> str:
    return "sqlite"


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    path = chromium()
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=path)
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
async def page(browser: Browser, server: LiveServer) -> AsyncIterator[Page]:
    """A fresh browser tab on the live server, in English, wide enough for the board. A server
    error or a script error on any page fails the test, even one no expectation looked at."""
    expect.set_options(timeout=TIMEOUT_MS)
    context = await browser.new_context(
        base_url=server.http, viewport={"width": 1280, "height": 900}, locale="en-US"
    )
    context.set_default_timeout(TIMEOUT_MS)
    tab = await context.new_page()
    problems: list[str] = []
    tab.on("response", lambda response: _note_failure(problems, response))
    tab.on("pageerror", lambda error: problems.append(f"script error: {error}"))
    try:
        yield tab
    finally:
        await context.close()
    assert problems == []


def _note_failure(problems: list[str], response: Response) -> None:
    if response.status >= 500:
        problems.append(f"{response.status} from {response.request.method} {response.url}")
