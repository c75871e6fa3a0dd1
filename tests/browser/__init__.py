"""Browser tests: Playwright driving Debian's chromium through the portal of a live server.

Screenshots of the main pages go to ``tests/artifacts/`` (git-ignored), for people to look at.
"""

from __future__ import annotations

import re
from pathlib import Path

from playwright.async_api import Page, expect

from csms.bootstrap import System
from tests.accounts import PASSWORD
from tests.portal import a_staff_user

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
TIMEOUT_MS = 10_000
"""How long an expectation waits for the page: live updates arrive well within it."""


async def log_in(page: Page, system: System, *, role: str = "operator", tenant_id: int | None = None) -> int:
    """Create a staff user and log in through the form, as a person would; returns the tenant id."""
    _, tenant_id, phone = await a_staff_user(system, role=role, tenant_id=tenant_id)
    await page.goto("/portal/login")
    await page.get_by_label("Phone number or e-mail").fill(phone)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await expect(page).not_to_have_url(re.compile(r"/portal/login"))
    return tenant_id


async def screenshot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=ARTIFACTS / f"{name}.png", full_page=True)
