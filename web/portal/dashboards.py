"""Dashboards: energy, revenue, sessions, utilisation, faults and new drivers over a period, for all
sites in the viewer's scope or one of them, as charts with tables and a CSV file each.

Investors see the revenue and usage of the sites they own; operators their tenant's; administrators
everyone's (or the tenant chosen in the navigation).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from chargepoints import dashboards as dash
from chargepoints.tables import SiteRow
from csms.accounts.model import Role
from web.deps import ClockDep, SessionDep
from web.portal.deps import PortalPrincipal, require, tenant_scope
from web.portal.templating import is_htmx, render, translate

router = APIRouter()

Viewer = Annotated[PortalPrincipal, Depends(require(Role.ADMIN, Role.OPERATOR, Role.INVESTOR))]
SiteText = Annotated[str, Query(max_length=10)]
DEFAULT_DAYS = 30


@dataclass(frozen=True, slots=True)
class Metric:
    """One dashboard: ``slug`` names its CSV file, its loader and, in the templates, its title."""

    slug: str
    bucket: str  # "day", "week" or "month": the CSV's first column
    step_s: int = 86_400  # a bucket's length, roughly: charts pad their ends by half of it
    investors: bool = True  # revenue and usage: shown to investors too
    additive: bool = True  # a total over the period makes sense
    chart: str = "bars"  # or "line"


METRICS = {
    metric.slug: metric
    for metric in (
        Metric("energy-daily", "day"),
        Metric("energy-monthly", "month", step_s=30 * 86_400),
        Metric("revenue", "day"),
        Metric("sessions", "day"),
        Metric("utilisation", "day", additive=False, chart="line"),
        Metric("faults", "day", investors=False),
        Metric("new-drivers", "week", step_s=7 * 86_400, investors=False),
    )
}


COUNTS = frozenset({"sessions", "faults", "new-drivers"})


class Asked:
    """The filters as the query string has them: blank fields (a plain GET form sends them) mean
    the defaults, the last 30 days of all sites."""

    def __init__(
        self,
        start: Annotated[str, Query(alias="from", max_length=10)] = "",
        end: Annotated[str, Query(alias="to", max_length=10)] = "",
        site: SiteText = "",
    ) -> None:
        self.start, self.end, self.site = start, end, site


AskedDep = Annotated[Asked, Depends()]


@dataclass(frozen=True, slots=True)
class Filters:
    """The period and site asked for, as typed (for the form), and what they mean."""

    start: str
    end: str
    site: str
    site_id: int | None
    scope: dash.Scope
    period: dash.Period | None
    error: str | None

    def query(self) -> str:
        """The filters as a query string, for the CSV links."""
        return urlencode({"from": self.start, "to": self.end, "site": self.site})


@dataclass(frozen=True, slots=True)
class Chart:
    """A metric ready for the page: table columns and rows as text, totals, and the chart's data."""

    metric: Metric
    columns: list[str]
    rows: list[tuple[str, list[str]]]
    totals: list[str]
    data: dict[str, Any]


@router.get("/dashboards", name="dashboards")
async def dashboards(
    request: Request,
    user: Viewer,
    session: SessionDep,
    clock: ClockDep,
    asked: AskedDep,
) -> Response:
    filters, options = await _filters(request, session, user, asked, clock.now())
    charts = []
    if filters.period is not None:
        for metric in _metrics_for(user):
            series = await _load(metric, session, filters.scope, filters.period, clock.now())
            charts.append(_chart(metric, series))
    context = {"filters": filters, "sites": options, "charts": charts}
    status = 200 if filters.error is None else 422
    if is_htmx(request):
        return render(request, "dashboards/_charts.html", context, status_code=status)
    return render(request, "dashboards/page.html", context, status_code=status)


@router.get("/dashboards/{slug}.csv", name="dashboard_csv")
async def dashboard_csv(
    request: Request,
    user: Viewer,
    session: SessionDep,
    clock: ClockDep,
    slug: str,
    asked: AskedDep,
) -> Response:
    metric = METRICS.get(slug)
    if metric is None or metric not in _metrics_for(user):
        raise HTTPException(404)
    filters, _ = await _filters(request, session, user, asked, clock.now())
    if filters.period is None:
        raise HTTPException(422, filters.error)
    series = await _load(metric, session, filters.scope, filters.period, clock.now())
    name = f"{slug}_{filters.period.first}_{filters.period.last}.csv"
    return Response(
        _csv(metric, series),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
    )


async def _load(
    metric: Metric, session: AsyncSession, scope: dash.Scope, period: dash.Period, now: datetime
) -> dash.Series:
    match metric.slug:
        case "energy-daily":
            return await dash.energy_per_day(session, scope, period)
        case "energy-monthly":
            return (await dash.energy_per_day(session, scope, period)).regroup(dash.month_of)
        case "revenue":
            return await dash.revenue_per_day(session, scope, period)
        case "sessions":
            return await dash.sessions_per_day(session, scope, period)
        case "utilisation":
            return await dash.utilisation_per_day(session, scope, period, now=now)
        case "faults":
            return await dash.faults_per_day(session, scope, period)
        case _:
            return await dash.new_drivers_per_week(session, scope, period)


def _metrics_for(user: PortalPrincipal) -> list[Metric]:
    return [m for m in METRICS.values() if m.investors or user.role != Role.INVESTOR]


async def _filters(
    request: Request, session: AsyncSession, user: PortalPrincipal, asked: Asked, now: datetime
) -> tuple[Filters, list[SiteRow]]:
    """The scope and period asked for: an unknown site (or someone else's) is not found; days are
    the chosen site's, or those of the time zone all the viewer's sites share (else UTC)."""
    base = dash.Scope(tenant_scope(user), user.site_ids if user.role == Role.INVESTOR else None)
    options = await dash.sites(session, base)
    chosen = [option for option in options if asked.site and str(option.id) == asked.site]
    if asked.site and not chosen:
        raise HTTPException(404)
    site_id = chosen[0].id if chosen else None
    scope = dash.Scope(base.tenant_id, frozenset({site_id})) if site_id is not None else base
    zone = dash.zone_of(chosen or options)
    today = now.astimezone(zone).date()
    start = asked.start or str(today - timedelta(days=DEFAULT_DAYS - 1))
    end = asked.end or str(today)
    period, error = _period(request, start, end, zone)
    return Filters(start, end, asked.site, site_id, scope, period, error), options


def _period(request: Request, start: str, end: str, zone: ZoneInfo) -> tuple[dash.Period | None, str | None]:
    """The period, or why there is none (in the viewer's language)."""
    try:
        first, last = date.fromisoformat(start), date.fromisoformat(end)
    except ValueError:
        return None, translate(request, "Give the dates as YYYY-MM-DD.")
    if last < first:
        return None, translate(request, "The period ends before it starts.")
    if (last - first).days >= dash.MAX_DAYS:
        return None, translate(request, "Choose a period of at most %(days)s days.", days=dash.MAX_DAYS)
    return dash.Period(first, last, zone), None


def _chart(metric: Metric, series: dash.Series) -> Chart:
    names = list(series.columns)
    rows = [
        (_bucket_label(metric, bucket), [_shown(metric, v) for v in values])
        for bucket, values in series.rows()
        if names  # revenue without a currency: nothing was billed
    ]
    if metric.additive:
        totals = [_shown(metric, value) for value in series.totals().values()]
    else:
        totals = [_shown(metric, _mean(values)) for values in series.columns.values()]
    data = {
        "kind": metric.chart,
        "step": metric.step_s,
        "whole": metric.slug in COUNTS,
        "x": [int(datetime.combine(bucket, time(), UTC).timestamp()) for bucket in series.buckets],
        "series": [
            {"label": _column_label(metric, name), "values": [float(_unit(metric, v)) for v in values]}
            for name, values in series.columns.items()
        ],
    }
    return Chart(metric, names, rows, totals, data)


def _csv(metric: Metric, series: dash.Series) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([metric.bucket, *(_column_label(metric, name) for name in series.columns)])
    for bucket, values in series.rows():
        writer.writerow([_bucket_label(metric, bucket), *(_exported(metric, value) for value in values)])
    return out.getvalue()


def _bucket_label(metric: Metric, bucket: date) -> str:
    return bucket.strftime("%Y-%m") if metric.bucket == "month" else bucket.isoformat()


def _column_label(metric: Metric, name: str) -> str:
    """The CSV header of a column: energy leaves in kWh, revenue's columns are currencies."""
    if name == "energy_wh":
        return "energy_kwh"
    return f"revenue_{name}" if metric.slug == "revenue" else name


def _unit(metric: Metric, value: dash.Value) -> Decimal:
    """Energy is Wh inside and kWh outside; everything else is shown as it is."""
    return Decimal(value) / 1000 if metric.slug.startswith("energy") else Decimal(value)


def _exported(metric: Metric, value: dash.Value) -> str:
    return f"{_unit(metric, value):.3f}" if metric.slug.startswith("energy") else str(value)


def _shown(metric: Metric, value: dash.Value) -> str:
    return f"{_unit(metric, value):,.1f}" if metric.slug.startswith("energy") else f"{value:,}"


def _mean(values: tuple[dash.Value, ...]) -> Decimal:
    return (Decimal(sum(values, 0)) / len(values)).quantize(Decimal("0.1"))
