"""Alarms: the open ones to acknowledge and resolve, the history, and the navigation's badge."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from chargepoints import alarms
from chargepoints import scope as tenant
from chargepoints.alarms import AlarmClosed, AlarmFilter, AlarmKind, AlarmNotFound
from web.deps import ClockDep, DbId, SessionDep, UowDep
from web.portal.deps import PortalUser, Staff, tenant_scope
from web.portal.paging import PAGE_SIZE, Page, page_number, page_url
from web.portal.templating import is_htmx, redirect, render, translate

router = APIRouter()


@router.get("/alarms")
async def open_alarms(
    request: Request, user: Staff, session: SessionDep, kind: str = "", station: str = "", page: str = "1"
) -> Response:
    return await _list(request, user, session, True, kind, station, page)


@router.get("/alarms/history")
async def history(
    request: Request, user: Staff, session: SessionDep, kind: str = "", station: str = "", page: str = "1"
) -> Response:
    """Every alarm, open or resolved, newest first."""
    return await _list(request, user, session, None, kind, station, page)


async def _list(
    request: Request,
    user: Staff,
    session: SessionDep,
    open_only: bool | None,
    kind: str,
    station: str,
    page: str,
) -> Response:
    scope, number = tenant_scope(user), page_number(page)
    where = AlarmFilter(
        scope, open_only, station or None, AlarmKind(kind) if kind in set(AlarmKind) else None
    )
    rows, total = await alarms.alarms(session, where, limit=PAGE_SIZE, offset=(number - 1) * PAGE_SIZE)
    context = {
        "alarms": rows,
        "history": open_only is None,
        "filters": {"kind": kind, "station": station},
        "stations": await tenant.station_ids(session, scope),
        "page": Page(number, total, PAGE_SIZE),
        "page_url": lambda n: page_url(request, n),
    }
    return render(request, "alarms/_table.html" if is_htmx(request) else "alarms/list.html", context)


@router.post("/alarms/{alarm_id}/acknowledge")
async def acknowledge(
    request: Request, user: Staff, uow: UowDep, clock: ClockDep, alarm_id: DbId
) -> Response:
    try:
        row = await alarms.acknowledge(
            alarm_id, user.actor, tenant_id=tenant_scope(user), uow=uow, clock=clock
        )
    except AlarmNotFound:
        raise HTTPException(404) from None
    except AlarmClosed:
        return _closed(request)
    if is_htmx(request):
        return render(request, "alarms/_row.html", {"alarm": row, "history": False})
    return redirect(request, "/portal/alarms", message=translate(request, "The alarm is acknowledged."))


@router.post("/alarms/{alarm_id}/resolve")
async def resolve(request: Request, user: Staff, uow: UowDep, clock: ClockDep, alarm_id: DbId) -> Response:
    try:
        row = await alarms.resolve(alarm_id, user.actor, tenant_id=tenant_scope(user), uow=uow, clock=clock)
    except AlarmNotFound:
        raise HTTPException(404) from None
    except AlarmClosed:
        return _closed(request)
    if is_htmx(request):
        return render(request, "alarms/_row.html", {"alarm": row, "history": False})
    return redirect(request, "/portal/alarms", message=translate(request, "The alarm is resolved."))


@router.get("/alarms/badge")
async def badge(request: Request, user: PortalUser, session: SessionDep) -> Response:
    """How many alarms are open, for the navigation (nothing for investors, who see no alarms)."""
    count = 0 if user.read_only else await alarms.open_count(session, tenant_scope(user))
    return render(request, "alarms/_badge.html", {"count": count})


def _closed(request: Request) -> Response:
    message = translate(request, "The alarm was resolved already.")
    return redirect(request, "/portal/alarms", message=message, kind="warning")
