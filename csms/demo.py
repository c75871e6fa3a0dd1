"""``csms demo``: a server on SQLite, seeded, with emulated stations charging against it.

It is a user's first five minutes, so it starts in seconds, shows progress, and ends by
printing where to look.
"""

from __future__ import annotations

import asyncio
import contextlib
from decimal import Decimal

import uvicorn

from chargepoints import admin, site_loads
from chargepoints.model import TokenStatus
from csms import bootstrap, migrate, runtime
from csms.accounts import services as accounts
from csms.accounts.model import NewUser, Role
from csms.accounts.repository import AccountsUnitOfWork
from csms.app import create_app
from csms.passwords import hash_password
from csms.settings import LogLevel, Settings
from emulator import Fleet, StationSpec
from emulator.scenario import Arrivals, Scenario, SessionLength
from tariffs import services as tariff_services

SITE = "Demo Depot"
SHARE_PER_EVSE_A = Decimal(16)
"""The demo site's grid allows 16 A per EVSE, half of what 22 kW chargers draw."""
PASSWORD = "demo-password-0001"
TOKENS = [f"TAG-{n:04d}" for n in range(1, 21)]
ACTOR = "demo"
ADMIN_LOGIN, ADMIN_PHONE, ADMIN_PASSWORD = "admin@demo", "+15550000001", "demo-admin-0001"  # the portal
WEEKDAYS, WEEKEND = ["mon", "tue", "wed", "thu", "fri"], ["sat", "sun", "holiday"]


def _band(name: str, days: list[str], start: str, end: str, energy: str, service: str) -> dict[str, object]:
    times = {"start": start, "end": end}
    return {"name": name, "days": days, **times, "energy_fee": energy, "service_fee": service}


TARIFF = {
    "bands": [
        _band("valley", WEEKDAYS, "00:00", "07:00", "0.18", "0.10"),
        _band("flat", WEEKDAYS, "07:00", "17:00", "0.26", "0.15"),
        _band("peak", WEEKDAYS, "17:00", "21:00", "0.38", "0.20"),
        _band("shoulder", WEEKDAYS, "21:00", "24:00", "0.26", "0.15"),
        _band("weekend valley", WEEKEND, "00:00", "09:00", "0.16", "0.10"),
        _band("weekend flat", WEEKEND, "09:00", "24:00", "0.22", "0.12"),
    ],
    "holidays": ["2026-12-25", "2026-12-26", "2027-01-01", "2027-04-27"],
    "time_fee_per_minute": "0",
    "idle_fee": {"per_minute": "0.10", "grace_minutes": 30, "cap": "12.00"},
    "session_fee": "0.35",
    "min_price": None,
    "max_price": None,
    "tax_rate": "0.21",
}
"""Time of use in euros, net of 21 % VAT: dearest in the evening peak, cheapest at night."""


def station_specs(count: int, url_password: str) -> list[StationSpec]:
    """Half the stations speak OCPP 1.6, half 2.0.1, like a real mixed fleet."""
    return [
        StationSpec(
            station_id=f"DEMO-{n:02d}",
            version="1.6" if n % 2 else "2.0.1",
            evse_count=2,
            password=url_password,
            meter_interval_s=5.0,
        )
        for n in range(1, count + 1)
    ]


async def seed(system: bootstrap.System, specs: list[StationSpec]) -> None:
    clock, password_hash = system.clock, hash_password(PASSWORD)
    site_id = await admin.put_site(
        SITE,
        uow=system.uow(),
        clock=clock,
        address="1 Charging Way",
        latitude=52.37,
        longitude=4.89,
        time_zone="Europe/Amsterdam",
    )
    for spec in specs:
        await admin.put_station(
            admin.StationSpec(spec.station_id, password_hash, site_id=site_id), uow=system.uow(), clock=clock
        )
    for token in TOKENS:
        await admin.put_token(admin.TokenSpec(token), uow=system.uow(), clock=clock)
    await admin.put_token(admin.TokenSpec("BLOCKED-0001", TokenStatus.BLOCKED), uow=system.uow(), clock=clock)
    tenant = await tariff_services.create_tenant("Demo Energy", "EUR", ACTOR, uow=system.uow(), clock=clock)
    assert tenant.id is not None
    await admin.put_site(SITE, uow=system.uow(), clock=clock, tenant_id=tenant.id)
    portal_admin = NewUser(tenant.id, ADMIN_PHONE, Role.ADMIN, ADMIN_PASSWORD, "Demo admin", ADMIN_LOGIN)
    await accounts.create_user(portal_admin, uow=AccountsUnitOfWork(system.sessions), clock=clock)
    view = await tariff_services.create_tariff(
        tenant.id, "Time of use", TARIFF, clock.now(), ACTOR, uow=system.uow(), clock=clock
    )
    assert view.tariff.id is not None
    target = tariff_services.Target(site_id=site_id)
    await tariff_services.assign(view.tariff.id, target, ACTOR, uow=system.uow(), clock=clock)
    evses = sum(spec.evse_count for spec in specs)
    grid = site_loads.LoadSettings(SHARE_PER_EVSE_A * evses)  # half what they could draw: shared out live
    await site_loads.configure(site_id, grid, ACTOR, uow=system.uow(), clock=clock, publisher=system.bus)


def run(settings: Settings, *, stations: int, duration: float) -> int:
    runtime.configure_logging(settings.model_copy(update={"log_level": LogLevel.WARNING}))
    runtime.raise_open_file_limit()
    runtime.tune_gc()
    print(f"[1/4] migrating database {settings.database_url}", flush=True)
    migrate.upgrade(settings.database_url)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(settings, stations, duration))
    print("demo stopped")
    return 0


async def _serve(settings: Settings, count: int, duration: float) -> None:
    system = bootstrap.build(settings)
    specs = station_specs(count, PASSWORD)
    print(
        f"[2/4] seeding site '{SITE}', {count} stations, {len(TOKENS) + 1} id tokens, a time-of-use tariff",
        flush=True,
    )
    await seed(system, specs)
    app = create_app(settings, system=system)
    options = {**runtime.uvicorn_options(settings), "log_level": "warning"}
    server = uvicorn.Server(uvicorn.Config(app, **options))  # type: ignore[arg-type]
    serving = asyncio.create_task(server.serve())
    while not server.started and not serving.done():
        await asyncio.sleep(0.05)
    if serving.done():
        serving.result()
        return
    base = f"http://{settings.host}:{settings.port}"
    print(f"[3/4] server up on {base}", flush=True)
    stop = asyncio.Event()
    fleet = asyncio.create_task(_drive(f"ws://{settings.host}:{settings.port}/ocpp", specs, stop))
    _banner(base)
    if duration:
        asyncio.get_running_loop().call_later(duration, lambda: setattr(server, "should_exit", True))
    await serving
    stop.set()
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.wait_for(fleet, timeout=10)


async def _drive(url: str, specs: list[StationSpec], stop: asyncio.Event) -> None:
    """Short sessions, so that priced charge detail records show up within minutes."""
    scenario = Scenario(
        arrivals=Arrivals(probability=0.5),
        sessions=SessionLength(min_minutes=1.0, max_minutes=4.0),
        id_tokens=tuple(TOKENS),
    )
    async with Fleet(url, specs, scenario=scenario, on_progress=_Progress()) as fleet:
        await fleet.run_until(stop)


class _Progress:
    """Prints the fleet coming up in about ten steps, not one line per station."""

    def __init__(self) -> None:
        self.shown = 0

    def __call__(self, connected: int, total: int) -> None:
        step = max(1, total // 10)
        if connected > self.shown and (connected - self.shown >= step or connected == total):
            self.shown = connected
            print(f"[4/4] emulated stations connected: {connected}/{total}", flush=True)


def _banner(base: str) -> None:
    print(
        "\n"
        f"  Operator portal:     {base}/portal  (log in as {ADMIN_LOGIN}, password {ADMIN_PASSWORD})\n"
        f"  Stations (live):     {base}/api/v1/operator/stations\n"
        f"  One station:         {base}/api/v1/operator/stations/DEMO-01\n"
        f"  Charging sessions:   {base}/api/v1/operator/transactions\n"
        f"  Priced sessions:     {base}/api/v1/operator/cdrs  (CSV: {base}/api/v1/operator/cdrs.csv)\n"
        f"  Tariff:              {base}/api/v1/operator/tariffs/1\n"
        f"  Site load sharing:   {base}/api/v1/operator/sites/1/load  (history: .../load/history)\n"
        f"  API documentation:   {base}/docs\n"
        f"  Health:              {base}/health\n"
        f"  OCPP endpoint:       {base.replace('http', 'ws')}/ocpp/<station id>  (password {PASSWORD})\n"
        "\n  Press Ctrl-C to stop.\n",
        flush=True,
    )
