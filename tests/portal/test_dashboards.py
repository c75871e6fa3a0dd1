"""Dashboards: the read models' sums on both backends, and the portal pages and CSV exports."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlmodel import SQLModel

from chargepoints import admin
from chargepoints import dashboards as dash
from chargepoints.tables import CdrRow, ConnectorRow, SiteRow, StatusHistoryRow, TransactionRow
from csms.accounts.tables import UserRow
from csms.bootstrap import System
from tests.accounts import a_tenant
from tests.builders import a_station
from tests.conftest import LiveServer
from tests.portal import portal_client

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOVEMBER = dash.Period(date(2026, 11, 1), date(2026, 11, 30), SHANGHAI)
_ids = itertools.count(1)


def utc(day: int, hour: int = 12, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


@dataclass(frozen=True)
class Estate:
    """Two tenants: A with sites A1 and A2, B with site B1, and a station on no site."""

    tenant_a: int
    tenant_b: int
    site_a1: int
    site_a2: int
    site_b1: int


async def an_estate(system: System) -> Estate:
    tenant_a, tenant_b = await a_tenant(system), await a_tenant(system, currency="EUR")
    uow, clock = system.uow, system.clock
    sites = [
        await admin.put_site(name, uow=uow(), clock=clock, tenant_id=tenant, time_zone="Asia/Shanghai")
        for name, tenant in (("A1", tenant_a), ("A2", tenant_a), ("B1", tenant_b))
    ]
    for station_id, site_id in (("CP-A1", sites[0]), ("CP-A2", sites[1]), ("CP-B1", sites[2])):
        await a_station(system, station_id, site_id=site_id)
    await a_station(system, "CP-X")
    return Estate(tenant_a, tenant_b, *sites)


async def add(system: System, *rows: SQLModel) -> None:
    async with system.sessions() as session:
        session.add_all(rows)
        await session.commit()


def a_session(station_id: str, started: datetime, ended: datetime | None) -> TransactionRow:
    return TransactionRow(
        id=next(_ids),
        station_id=station_id,
        station_tx_id=f"tx-{next(_ids)}",
        evse_id=1,
        connector_id=1,
        state="Ended" if ended else "Active",
        started_at=started,
        ended_at=ended,
        updated_at=ended or started,
    )


async def a_cdr(
    system: System, station_id: str, ended: datetime, *, wh: int, total: str, currency: str = "CNY"
) -> None:
    started = ended - timedelta(hours=1)
    tx = a_session(station_id, started, ended)
    assert tx.id is not None
    zero = Decimal(0)
    cdr = CdrRow(
        transaction_id=tx.id,
        station_id=station_id,
        currency=currency,
        started_at=started,
        ended_at=ended,
        energy_wh=wh,
        charging_s=3600,
        idle_s=0,
        total_s=3600,
        subtotal=Decimal(total),
        tax=zero,
        total=Decimal(total),
        created_at=ended,
    )
    await add(system, tx)
    await add(system, cdr)


def by_day(series: dash.Series, column: str) -> dict[date, object]:
    return {day: value for day, value in zip(series.buckets, series.columns[column], strict=True) if value}


async def test_energy_falls_on_the_local_day_and_scope_limits_the_stations(system: System) -> None:
    estate = await an_estate(system)
    await a_cdr(system, "CP-A1", utc(3, 23, 30), wh=10_000, total="3.00")  # 4 November in Shanghai
    await a_cdr(system, "CP-A2", utc(4, 2), wh=5_000, total="1.50")
    await a_cdr(system, "CP-B1", utc(4, 2), wh=7_000, total="2.00", currency="EUR")
    await a_cdr(system, "CP-X", utc(20, 2), wh=1_000, total="0.30")
    await a_cdr(system, "CP-A1", utc(30, 16, 30), wh=9_999, total="9.99")  # 1 December in Shanghai

    async with system.sessions() as session:
        operator = await dash.energy_per_day(session, dash.Scope(estate.tenant_a), NOVEMBER)
        investor = await dash.energy_per_day(
            session, dash.Scope(estate.tenant_a, frozenset({estate.site_a1})), NOVEMBER
        )
        admin_view = await dash.energy_per_day(session, dash.Scope(), NOVEMBER)
        in_utc = dash.Period(date(2026, 11, 1), date(2026, 11, 30), ZoneInfo("UTC"))
        utc_view = await dash.energy_per_day(session, dash.Scope(estate.tenant_a), in_utc)

    assert len(operator.buckets) == 30
    assert by_day(operator, "energy_wh") == {date(2026, 11, 4): 15_000}
    assert by_day(investor, "energy_wh") == {date(2026, 11, 4): 10_000}
    assert by_day(admin_view, "energy_wh") == {date(2026, 11, 4): 22_000, date(2026, 11, 20): 1_000}
    assert by_day(utc_view, "energy_wh") == {
        date(2026, 11, 3): 10_000,
        date(2026, 11, 4): 5_000,
        date(2026, 11, 30): 9_999,
    }
    monthly = admin_view.regroup(dash.month_of)
    assert monthly.buckets == (date(2026, 11, 1),)
    assert monthly.totals() == {"energy_wh": 23_000}


async def test_revenue_is_an_exact_sum_per_currency(system: System) -> None:
    await an_estate(system)
    for _ in range(10):
        await a_cdr(system, "CP-A1", utc(5), wh=100, total="0.10")
    await a_cdr(system, "CP-A1", utc(6), wh=100, total="123456789.99")
    await a_cdr(system, "CP-A1", utc(6), wh=100, total="0.01")
    await a_cdr(system, "CP-B1", utc(6), wh=100, total="7.25", currency="EUR")

    async with system.sessions() as session:
        revenue = await dash.revenue_per_day(session, dash.Scope(), NOVEMBER)

    assert list(revenue.columns) == ["CNY", "EUR"]
    assert by_day(revenue, "CNY") == {
        date(2026, 11, 5): Decimal("1.00"),
        date(2026, 11, 6): Decimal("123456790.00"),
    }
    assert revenue.totals() == {"CNY": Decimal("123456791.00"), "EUR": Decimal("7.25")}
    assert all(isinstance(value, Decimal) for value in revenue.columns["EUR"])
    row = dict(revenue.rows())[date(2026, 11, 6)]
    assert row == (Decimal("123456790.00"), Decimal("7.25"))


async def test_sessions_count_by_start_including_running_ones(system: System) -> None:
    estate = await an_estate(system)
    await add(
        system,
        a_session("CP-A1", utc(7, 1), utc(7, 2)),
        a_session("CP-A1", utc(7, 3), None),
        a_session("CP-A2", utc(8, 1), utc(8, 2)),
        a_session("CP-B1", utc(8, 1), utc(8, 2)),
    )
    async with system.sessions() as session:
        series = await dash.sessions_per_day(session, dash.Scope(estate.tenant_a), NOVEMBER)
    assert by_day(series, "sessions") == {date(2026, 11, 7): 2, date(2026, 11, 8): 1}


def a_status(station_id: str, at: datetime, status: str, connector: int = 1) -> StatusHistoryRow:
    return StatusHistoryRow(
        station_id=station_id, evse_id=1, connector_id=connector, status=status, timestamp=at, received_at=at
    )


async def test_faults_count_changes_to_faulted_not_repeated_reports(system: System) -> None:
    estate = await an_estate(system)
    await add(
        system,
        a_status("CP-A1", utc(9, 1), "Faulted"),
        a_status("CP-A1", utc(9, 2), "Faulted"),  # the same fault, reported again
        a_status("CP-A1", utc(9, 3), "Available"),
        a_status("CP-A1", utc(10, 3), "Faulted"),
        a_status("CP-A1", utc(10, 4), "Faulted", connector=2),  # another connector's own fault
        a_status("CP-B1", utc(10, 4), "Faulted"),
    )
    async with system.sessions() as session:
        series = await dash.faults_per_day(session, dash.Scope(estate.tenant_a), NOVEMBER)
    assert by_day(series, "faults") == {date(2026, 11, 9): 1, date(2026, 11, 10): 2}


async def test_utilisation_is_session_time_over_evse_time(system: System) -> None:
    estate = await an_estate(system)
    now = utc(12, 4)  # noon in Shanghai
    await add(
        system,
        *(
            ConnectorRow(station_id=s, evse_id=e, connector_id=1, status="Available", status_at=now)
            for s, e in (("CP-A1", 1), ("CP-A1", 2), ("CP-A2", 1), ("CP-B1", 1))
        ),
        # 12 hours on 10 November, Shanghai time: 12 / (3 EVSEs x 24 h) = 16.7 %
        a_session("CP-A1", utc(10, 0), utc(10, 12)),
        # 18:00 on the 10th to 06:00 on the 11th, Shanghai time: 6 hours on each day
        a_session("CP-A2", utc(10, 10), utc(10, 22)),
        # running since 08:00 on the 12th, Shanghai time: 4 hours until now
        a_session("CP-A1", utc(12, 0), None),
        a_session("CP-B1", utc(10, 0), utc(10, 12)),
    )
    async with system.sessions() as session:
        series = await dash.utilisation_per_day(session, dash.Scope(estate.tenant_a), NOVEMBER, now=now)
    assert by_day(series, "utilisation_pct") == {
        date(2026, 11, 10): Decimal("25.0"),  # (12 + 6) / 72
        date(2026, 11, 11): Decimal("8.3"),  # 6 / 72
        date(2026, 11, 12): Decimal("5.6"),  # 4 / 72
    }


async def test_new_drivers_per_week_count_only_the_tenants_drivers(system: System) -> None:
    estate = await an_estate(system)

    def a_user(tenant: int, role: str, created: datetime) -> UserRow:
        n = next(_ids)
        return UserRow(
            tenant_id=tenant, role=role, phone=f"+86138{n:08d}", invitation_code=f"INV{n}", created_at=created
        )

    await add(
        system,
        a_user(estate.tenant_a, "driver", utc(2)),  # Monday 2 November
        a_user(estate.tenant_a, "vip_driver", utc(8)),  # Sunday, same week
        a_user(estate.tenant_a, "driver", utc(9)),
        a_user(estate.tenant_a, "operator", utc(9)),
        a_user(estate.tenant_b, "driver", utc(9)),
    )
    async with system.sessions() as session:
        series = await dash.new_drivers_per_week(session, dash.Scope(estate.tenant_a), NOVEMBER)
    assert series.buckets[:3] == (date(2026, 10, 26), date(2026, 11, 2), date(2026, 11, 9))
    assert by_day(series, "new_drivers") == {date(2026, 11, 2): 2, date(2026, 11, 9): 1}


async def test_sites_and_their_shared_time_zone(system: System) -> None:
    estate = await an_estate(system)
    async with system.sessions() as session:
        own = await dash.sites(session, dash.Scope(estate.tenant_a))
        invested = await dash.sites(session, dash.Scope(estate.tenant_a, frozenset({estate.site_a2})))
    assert [site.name for site in own] == ["A1", "A2"]
    assert [site.id for site in invested] == [estate.site_a2]
    assert dash.zone_of(own) == SHANGHAI
    mixed = [*own, SiteRow(id=99, name="Z", time_zone="Europe/Berlin", created_at=utc(1))]
    assert dash.zone_of(mixed) == ZoneInfo("UTC")


def test_a_period_has_whole_local_days() -> None:
    berlin = dash.Period(date(2026, 10, 24), date(2026, 10, 26), ZoneInfo("Europe/Berlin"))
    lengths = [berlin.midnight(d + timedelta(days=1)) - berlin.midnight(d) for d in berlin.days()]
    assert lengths == [timedelta(hours=24), timedelta(hours=25), timedelta(hours=24)]  # summer time ends
    assert berlin.start == datetime(2026, 10, 23, 22, tzinfo=UTC)
    with pytest.raises(ValueError, match="ends before"):
        dash.Period(date(2026, 11, 2), date(2026, 11, 1), SHANGHAI)
    with pytest.raises(ValueError, match="at most"):
        dash.Period(date(2025, 1, 1), date(2026, 1, 2), SHANGHAI)


NOVEMBER_QUERY = {"from": "2026-11-01", "to": "2026-11-30"}
ALL_METRICS = [
    "energy-daily",
    "energy-monthly",
    "revenue",
    "sessions",
    "utilisation",
    "faults",
    "new-drivers",
]


def shown_metrics(html: str) -> list[str]:
    return re.findall(r'data-testid="metric-([a-z-]+)"', html)


async def test_an_operator_sees_every_dashboard_of_their_tenant(server: LiveServer) -> None:
    estate = await an_estate(server.system)
    await a_cdr(server.system, "CP-A1", utc(4, 2), wh=12_345, total="8.50")
    await a_cdr(server.system, "CP-B1", utc(4, 2), wh=7_000, total="2.00", currency="EUR")
    async with await portal_client(server, role="operator", tenant_id=estate.tenant_a) as client:
        page = await client.get("/portal/dashboards", params=NOVEMBER_QUERY)
        default = await client.get("/portal/dashboards")

    assert page.status_code == 200 and "<html" in page.text
    assert shown_metrics(page.text) == ALL_METRICS
    assert "Asia/Shanghai" in page.text
    assert f'<option value="{estate.site_a1}">A1</option>' in page.text
    assert "B1</option>" not in page.text
    energy = section(page.text, "energy-daily")
    assert re.search(r'2026-11-04</th>\s*<td class="num">12.3</td>', energy)
    assert "data-chart=" in energy and "uPlot.iife.min.js" in page.text
    revenue = section(page.text, "revenue")
    assert "8.50" in revenue and "EUR" not in revenue
    assert default.status_code == 200 and len(shown_metrics(default.text)) == 7


def section(html: str, slug: str) -> str:
    start = html.index(f'data-testid="metric-{slug}"')
    return html[start : html.index("</section>", start)]


async def test_an_investor_sees_revenue_and_usage_of_their_own_sites_only(server: LiveServer) -> None:
    estate = await an_estate(server.system)
    await a_cdr(server.system, "CP-A1", utc(4, 2), wh=10_000, total="3.00")
    await a_cdr(server.system, "CP-A2", utc(4, 2), wh=5_000, total="1.50")
    async with await portal_client(
        server, role="investor", tenant_id=estate.tenant_a, site_ids=[estate.site_a1]
    ) as client:
        page = await client.get("/portal/dashboards", params=NOVEMBER_QUERY)
        csv_file = await client.get("/portal/dashboards/energy-daily.csv", params=NOVEMBER_QUERY)
        faults = await client.get("/portal/dashboards/faults.csv", params=NOVEMBER_QUERY)
        other_site = await client.get("/portal/dashboards", params={"site": str(estate.site_a2)})
        other_csv = await client.get("/portal/dashboards/revenue.csv", params={"site": str(estate.site_a2)})

    assert shown_metrics(page.text) == [
        "energy-daily",
        "energy-monthly",
        "revenue",
        "sessions",
        "utilisation",
    ]
    assert "A2</option>" not in page.text
    assert "3.00" in section(page.text, "revenue") and "4.50" not in page.text
    assert "2026-11-04,10.000\n" in csv_file.text
    assert faults.status_code == 404
    assert other_site.status_code == 404 and other_csv.status_code == 404


async def test_an_admin_sees_every_tenant_and_can_pick_a_site(server: LiveServer) -> None:
    estate = await an_estate(server.system)
    await a_cdr(server.system, "CP-A1", utc(4, 2), wh=10_000, total="3.00")
    await a_cdr(server.system, "CP-B1", utc(4, 2), wh=7_000, total="2.00", currency="EUR")
    await a_cdr(server.system, "CP-X", utc(4, 2), wh=1_000, total="1.00")
    async with await portal_client(server, role="admin") as client:
        everything = await client.get("/portal/dashboards/revenue.csv", params=NOVEMBER_QUERY)
        one_site = await client.get(
            "/portal/dashboards/energy-daily.csv", params={**NOVEMBER_QUERY, "site": str(estate.site_b1)}
        )
    assert everything.text.splitlines()[0] == "day,revenue_CNY,revenue_EUR"
    assert "2026-11-04,4.00,2.00" in everything.text.splitlines()
    assert "2026-11-04,7.000" in one_site.text.splitlines()


async def test_csv_files_follow_the_filters(server: LiveServer) -> None:
    estate = await an_estate(server.system)
    await a_cdr(server.system, "CP-A1", utc(4, 2), wh=10_000, total="3.00")
    await a_cdr(server.system, "CP-A1", utc(1, 2, month=12), wh=2_000, total="1.00")
    await add(server.system, a_status("CP-A1", utc(9, 1), "Faulted"))
    query = {"from": "2026-11-01", "to": "2026-12-05"}
    async with await portal_client(server, role="operator", tenant_id=estate.tenant_a) as client:
        monthly = await client.get("/portal/dashboards/energy-monthly.csv", params=query)
        faults = await client.get("/portal/dashboards/faults.csv", params=query)
        weekly = await client.get("/portal/dashboards/new-drivers.csv", params=query)
        unknown = await client.get("/portal/dashboards/secrets.csv", params=query)

    assert monthly.headers["content-type"] == "text/csv; charset=utf-8"
    assert 'filename="energy-monthly_2026-11-01_2026-12-05.csv"' in monthly.headers["content-disposition"]
    assert monthly.text == "month,energy_kwh\n2026-11,10.000\n2026-12,2.000\n"
    assert "2026-11-09,1\n" in faults.text and faults.text.count("\n") == 1 + 35
    assert weekly.text.splitlines()[:2] == ["week,new_drivers", "2026-10-26,0"]
    assert unknown.status_code == 404


async def test_the_filter_form_swaps_in_the_charts_and_refuses_a_bad_period(server: LiveServer) -> None:
    estate = await an_estate(server.system)
    htmx = {"HX-Request": "true"}
    async with await portal_client(server, role="operator", tenant_id=estate.tenant_a) as client:
        partial = await client.get("/portal/dashboards", params=NOVEMBER_QUERY, headers=htmx)
        backwards = await client.get(
            "/portal/dashboards", params={"from": "2026-11-30", "to": "2026-11-01"}, headers=htmx
        )
        too_long = await client.get("/portal/dashboards", params={"from": "2024-01-01", "to": "2026-01-01"})
        garbled = await client.get("/portal/dashboards", params={"from": "1 Nov", "to": ""})
        bad_csv = await client.get(
            "/portal/dashboards/sessions.csv", params={"from": "2026-11-30", "to": "1"}
        )

    assert partial.status_code == 200 and "<html" not in partial.text
    assert shown_metrics(partial.text) == ALL_METRICS
    assert backwards.status_code == 422 and "ends before it starts" in backwards.text
    assert too_long.status_code == 422 and "at most 366 days" in too_long.text and "<html" in too_long.text
    assert garbled.status_code == 422 and "YYYY-MM-DD" in garbled.text
    assert 'value="1 Nov"' in garbled.text
    assert bad_csv.status_code == 422


async def test_dashboards_need_a_staff_log_in(server: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=server.http) as anonymous:
        page = await anonymous.get("/portal/dashboards")
        csv_file = await anonymous.get("/portal/dashboards/revenue.csv")
    assert page.status_code == 303 and page.headers["location"].startswith("/portal/login?next=")
    assert csv_file.status_code == 303
