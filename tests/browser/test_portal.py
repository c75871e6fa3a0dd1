"""The portal in a real browser: log in, watch a station start charging live, reset it, edit a
tariff and read the dashboards, saving a screenshot of each main page on the way."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta
from decimal import Decimal

from playwright.async_api import Page, expect

from chargepoints import admin, alarms
from chargepoints.tables import CdrRow, TransactionRow
from csms.bootstrap import System
from emulator import Station, StationSpec
from tariffs import services as tariff_services
from tests.browser import log_in, screenshot
from tests.builders import a_station, a_token
from tests.conftest import LiveServer


async def a_billed_session(system: System, station_id: str, days_ago: int, wh: int, total: str) -> None:
    ended = system.clock.now() - timedelta(days=days_ago)
    started = ended - timedelta(hours=1)
    async with system.sessions() as session:
        tx = TransactionRow(
            station_id=station_id,
            station_tx_id=f"seeded-{days_ago}-{wh}",
            evse_id=1,
            state="Ended",
            started_at=started,
            ended_at=ended,
            meter_start_wh=0,
            meter_stop_wh=wh,
            updated_at=ended,
        )
        session.add(tx)
        await session.flush()
        assert tx.id is not None
        amount = Decimal(total)
        session.add(
            CdrRow(
                transaction_id=tx.id,
                station_id=station_id,
                currency="CNY",
                started_at=started,
                ended_at=ended,
                energy_wh=wh,
                charging_s=3600,
                idle_s=0,
                total_s=3600,
                subtotal=amount,
                tax=Decimal(0),
                total=amount,
                created_at=ended,
            )
        )
        await session.commit()


async def test_a_station_starts_charging_live_and_takes_a_reset(page: Page, server: LiveServer) -> None:
    system = server.system
    tenant_id = await log_in(page, system, role="operator")
    site = await admin.put_site("Depot", uow=system.uow(), clock=system.clock, tenant_id=tenant_id)
    await a_station(system, "EMU-1", site_id=site)
    await a_token(system, "TAG-0001")
    station = Station(StationSpec("EMU-1", "1.6", evse_count=1, boot_delay_s=0.1), server.ws)
    assert await station.connect() == "Accepted"
    try:
        await page.goto("/portal/stations")
        row = page.locator("#station-EMU-1")
        await expect(row.locator(".status-available")).to_be_visible()
        await page.evaluate("window.sameDocument = true")  # gone if the page reloads

        await station.start_transaction(1, "TAG-0001")
        await expect(row.locator(".status-charging")).to_be_visible()
        await expect(row).to_contain_text("TAG-0001")
        assert await page.evaluate("window.sameDocument === true")
        await screenshot(page, "board")

        await row.get_by_role("link", name="EMU-1").click()
        await expect(page.get_by_role("heading", name="EMU-1", level=1)).to_be_visible()
        page.once("dialog", lambda dialog: dialog.accept())  # the confirmation the button asks for
        await page.get_by_role("button", name="Reset", exact=True).click()
        result = page.locator("#command-results .command").first
        await expect(result).to_contain_text("Reset")
        await expect(result).to_contain_text("Accepted")
        await screenshot(page, "station")

        await page.goto("/portal/sessions")
        sessions = page.get_by_test_id("sessions-table")
        await expect(sessions).to_contain_text("TAG-0001")
        await screenshot(page, "sessions")
        await sessions.get_by_role("link").first.click()
        await expect(page.locator("main")).to_contain_text("EMU-1")
        await screenshot(page, "session")
    finally:
        await station.close()


async def test_a_faulted_station_raises_an_alarm_to_acknowledge(page: Page, server: LiveServer) -> None:
    system = server.system
    tenant_id = await log_in(page, system, role="operator")
    site = await admin.put_site("Yard", uow=system.uow(), clock=system.clock, tenant_id=tenant_id)
    await a_station(system, "EMU-2", site_id=site)
    station = Station(StationSpec("EMU-2", "1.6", evse_count=1), server.ws)
    assert await station.connect() == "Accepted"
    try:
        await station.set_status(1, "Faulted", "GroundFailure")
        await _until_an_alarm_is_open(system, tenant_id)
        await page.goto("/portal/alarms")
        row = page.locator("tr[data-alarm]").filter(has_text="EMU-2")
        await expect(row).to_contain_text("GroundFailure")
        await row.get_by_role("button", name="Acknowledge").click()
        await expect(row.get_by_role("button", name="Acknowledge")).to_have_count(0)
        await expect(row.get_by_role("button", name="Resolve")).to_be_visible()
        await screenshot(page, "alarms")
    finally:
        await station.close()


async def _until_an_alarm_is_open(system: System, tenant_id: int) -> None:
    """Alarms are raised by a bus subscriber, just after the status report is answered."""
    for _ in range(100):
        async with system.sessions() as session:
            if await alarms.open_count(session, tenant_id):
                return
        await asyncio.sleep(0.05)
    raise AssertionError("no alarm was raised")


WEEK = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


async def test_a_tariff_gets_a_night_band_in_the_week_grid(page: Page, server: LiveServer) -> None:
    system = server.system
    tenant_id = await log_in(page, system, role="operator")
    band = {"name": "day", "days": WEEK, "start": "00:00", "end": "24:00", "energy_fee": "1.20"}
    view = await tariff_services.create_tariff(
        tenant_id, "Standard", {"bands": [band]}, None, "test", uow=system.uow(), clock=system.clock
    )
    await page.goto("/portal/tariffs")
    await expect(page.get_by_role("link", name="Standard")).to_be_visible()
    await screenshot(page, "tariffs")

    await page.goto(f"/portal/tariffs/{view.tariff.id}/edit")
    form = page.get_by_test_id("tariff-form")
    await form.locator('input[name="band-0-start"]').fill("07:00")
    await form.locator('input[name="band-0-start"]').blur()
    await expect(page.get_by_test_id("tariff-problem")).to_be_visible()  # 00:00-07:00 has no band now
    await form.get_by_role("button", name="Add band").click()
    night = page.locator('[data-testid="band-rows"] tbody tr').nth(1)
    await night.locator('input[name="band-1-name"]').fill("night")
    for day in WEEK:
        await night.locator(f'input[name="band-1-days"][value="{day}"]').check()
    await night.locator('input[name="band-1-start"]').fill("00:00")
    await night.locator('input[name="band-1-end"]').fill("07:00")
    await night.locator('input[name="band-1-energy_fee"]').fill("0.60")
    await night.locator('input[name="band-1-energy_fee"]').blur()
    await expect(page.get_by_test_id("tariff-problem")).to_have_count(0)
    await expect(
        page.locator('[data-testid="week-grid"] tr[data-day="sun"] td[data-band="night"]')
    ).to_have_count(14)
    await screenshot(page, "tariff-editor")

    await page.get_by_role("button", name="Save version").click()
    await expect(page.locator("#toasts")).to_contain_text("Version 2 is saved.")
    await expect(page.get_by_text("0.60").first).to_be_visible()


async def test_log_in_and_read_the_dashboards(page: Page, server: LiveServer) -> None:
    system = server.system
    await page.goto("/portal/login")
    await screenshot(page, "login")
    tenant_id = await log_in(page, system, role="operator")
    site = await admin.put_site("Harbour", uow=system.uow(), clock=system.clock, tenant_id=tenant_id)
    await a_station(system, "CP-DASH", site_id=site)
    for days_ago, wh, total in ((1, 22_000, "33.00"), (3, 15_500, "21.70"), (3, 4_500, "6.30")):
        await a_billed_session(system, "CP-DASH", days_ago, wh, total)

    await page.goto("/portal/dashboards")
    await expect(page.get_by_role("heading", name="Dashboards", level=1)).to_be_visible()
    charts = page.locator("[data-chart] canvas")
    await expect(charts).to_have_count(7)
    revenue = page.get_by_test_id("metric-revenue")
    await expect(revenue.locator(".stat-value")).to_have_text("61.00")
    await expect(revenue.locator("details.chart-table")).not_to_have_attribute("open", "")
    await screenshot(page, "dashboards")

    # Another site through the filter form: htmx swaps the charts in and keeps the URL shareable.
    await page.get_by_label("Site").select_option("Harbour")
    await page.get_by_role("button", name="Show").click()
    await expect(page).to_have_url(re.compile(rf"/portal/dashboards\?.*site={site}"))
    await expect(page.get_by_test_id("metric-energy-daily").locator(".stat-value")).to_have_text("42.0")
    await expect(charts).to_have_count(7)
    async with page.expect_download() as download:
        await page.get_by_test_id("metric-sessions").get_by_role("link", name="CSV").click()
    saved = await (await download.value).path()
    assert saved.read_text().startswith("day,sessions\n")
