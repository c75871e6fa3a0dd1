"""A station's pages: overview (boot information, live EVSEs, commands), configuration, command log
and OCPP message log. Operators see their tenant's stations only; any other id is a 404.

The command forms post to ``web.portal.station_commands``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.ext.asyncio import AsyncSession

from chargepoints import detail_queries, portal_queries, queries
from chargepoints.detail_queries import MessageQuery
from chargepoints.operations import TriggerKind
from chargepoints.tables import StationRow
from web.deps import GatewayDep, SessionDep
from web.portal.board import live_url, pager
from web.portal.deps import PortalPrincipal, Staff, tenant_scope
from web.portal.paging import Page, page_number
from web.portal.templating import is_htmx, render

router = APIRouter()
StationId = Annotated[str, Path(max_length=48)]
PAGE_SIZE = 50
RECENT_COMMANDS = 5


async def station_or_404(session: AsyncSession, station_id: str, user: PortalPrincipal) -> StationRow:
    """The station if the user's tenant may see it; the same 404 whether it is elsewhere or nowhere."""
    row = await portal_queries.station_in_scope(session, station_id, tenant_id=tenant_scope(user))
    if row is None:
        raise HTTPException(404, f"Station {station_id} not found")
    return row


async def _page(session: AsyncSession, station_id: str, user: PortalPrincipal) -> dict[str, Any]:
    """What the header of every station page shows."""
    row = await station_or_404(session, station_id, user)
    return {"row": row, "site_name": await portal_queries.site_name(session, row.site_id)}


@router.get("/stations/{station_id}")
async def detail(
    request: Request, station_id: StationId, user: Staff, session: SessionDep, gateway: GatewayDep
) -> HTMLResponse:
    context = await _page(session, station_id, user)
    row: StationRow = context["row"]
    (station,) = await portal_queries.board_rows(
        session, [row.id], tenant_id=None, connected=await gateway.connected([row.id])
    )
    commands, _ = await queries.list_commands(
        session, station_id=row.id, status=None, limit=RECENT_COMMANDS, offset=0
    )
    context |= {
        "station": station,
        "commands": commands,
        "firmware": await detail_queries.firmware_files(session),
        "triggers": [kind.value for kind in TriggerKind],
        "live_url": live_url([row.id], "evses"),
    }
    return render(request, "stations/detail.html", context)


@router.get("/stations/{station_id}/configuration")
async def configuration(
    request: Request, station_id: StationId, user: Staff, session: SessionDep, q: str = "", page: str = "1"
) -> HTMLResponse:
    context = await _page(session, station_id, user)
    row: StationRow = context["row"]
    device_model = (row.ocpp_version or "").startswith("2")
    search = q.strip()[:50]
    number = page_number(page)
    variables, total = await detail_queries.variables(
        session, row.id, search=search, limit=PAGE_SIZE, offset=(number - 1) * PAGE_SIZE
    )
    shown = Page(number, total, PAGE_SIZE)
    context |= {
        "device_model": device_model,
        "variables": variables,
        "configuration": None if device_model else await detail_queries.latest_configuration(session, row.id),
        "search": search,
        "page": shown,
        "pages": pager(request, shown),
    }
    template = "stations/_configuration.html" if is_htmx(request) else "stations/configuration.html"
    return render(request, template, context)


@router.get("/stations/{station_id}/commands")
async def command_log(
    request: Request, station_id: StationId, user: Staff, session: SessionDep, page: str = "1"
) -> HTMLResponse:
    context = await _page(session, station_id, user)
    number = page_number(page)
    commands, total = await queries.list_commands(
        session, station_id=context["row"].id, status=None, limit=PAGE_SIZE, offset=(number - 1) * PAGE_SIZE
    )
    shown = Page(number, total, PAGE_SIZE)
    context |= {"commands": commands, "page": shown, "pages": pager(request, shown)}
    template = "stations/_command_log.html" if is_htmx(request) else "stations/commands.html"
    return render(request, template, context)


@router.get("/stations/{station_id}/messages")
async def message_log(
    request: Request,
    station_id: StationId,
    user: Staff,
    session: SessionDep,
    direction: str = "",
    action: str = "",
    since: str = "",
    until: str = "",
    text: str = "",
    page: str = "1",
) -> HTMLResponse:
    context = await _page(session, station_id, user)
    query = MessageQuery(
        direction=direction if direction in ("in", "out") else None,
        action=action.strip()[:50] or None,
        since=_utc_minute(since),
        until=_utc_minute(until),
        text=text[:100],
    )
    number = page_number(page)
    offset = (number - 1) * PAGE_SIZE
    messages, more = await detail_queries.messages(
        session, context["row"].id, query, limit=PAGE_SIZE, offset=offset
    )
    shown = Page(number, offset + len(messages) + int(more), PAGE_SIZE)
    context |= {
        "messages": messages,
        "page": shown,
        "pages": {**pager(request, shown), "exact": False},
        "filters": {"direction": direction, "action": action, "since": since, "until": until, "text": text},
    }
    template = "stations/_messages.html" if is_htmx(request) else "stations/messages.html"
    return render(request, template, context)


def _utc_minute(text: str) -> datetime | None:
    """An ``<input type=datetime-local>`` value read as UTC; None when blank or invalid."""
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
