"""The station board and the site map: every station of the user's tenant at a glance.

The board is a plain paged table (filters in the query string, so it works without JavaScript);
``web.portal.live`` keeps its rows current. Connection state comes from the gateway, so the
online filter is applied to the matching ids before a page is cut.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from chargepoints import portal_queries
from chargepoints.portal_queries import FILTER_STATUSES, BoardQuery, SitePin
from web.deps import GatewayDep, SessionDep, SettingsDep
from web.portal.deps import Staff, tenant_scope
from web.portal.paging import Page, page_number, page_url
from web.portal.templating import is_htmx, render, translate

router = APIRouter()
PAGE_SIZE = 25
OSM_ATTRIBUTION = "© OpenStreetMap contributors"


@router.get("/stations")
async def board(
    request: Request,
    user: Staff,
    session: SessionDep,
    gateway: GatewayDep,
    q: str = "",
    status: str = "",
    site: str = "",
    online: str = "",
    page: str = "1",
) -> HTMLResponse:
    scope = tenant_scope(user)
    query = BoardQuery(
        scope,
        search=q.strip()[:100],
        status=status if status in FILTER_STATUSES else None,
        site_id=int(site) if site.isdigit() and int(site) < 2**31 else None,
    )
    ids = await portal_queries.board_ids(session, query)
    if online in ("yes", "no"):
        connected = await gateway.connected(ids)
        ids = [i for i in ids if (i in connected) == (online == "yes")]
    last = Page(1, len(ids), PAGE_SIZE).pages
    shown = Page(min(page_number(page), last), len(ids), PAGE_SIZE)
    page_ids = ids[shown.offset : shown.offset + shown.size]
    stations = await portal_queries.board_rows(
        session, page_ids, tenant_id=scope, connected=await gateway.connected(page_ids)
    )
    context: dict[str, Any] = {
        "stations": stations,
        "page": shown,
        "pages": pager(request, shown),
        "live_url": live_url(page_ids, "row"),
    }
    if is_htmx(request):
        return render(request, "board/_table.html", context)
    context |= {
        "filters": {"q": q, "status": status, "site": site, "online": online},
        "statuses": FILTER_STATUSES,
        "sites": await portal_queries.sites(session, tenant_id=scope),
    }
    return render(request, "board/index.html", context)


def pager(request: Request, page: Page) -> dict[str, str | None]:
    return {
        "previous": page_url(request, page.number - 1) if page.number > 1 else None,
        "next": page_url(request, page.number + 1) if page.number < page.pages else None,
    }


def live_url(station_ids: list[str], view: str) -> str:
    """The stream that keeps these stations' partials current (``web.portal.live``)."""
    return "/portal/live/stations?" + urlencode([("view", view), *(("id", i) for i in station_ids)])


@router.get("/map")
async def site_map(
    request: Request, user: Staff, session: SessionDep, gateway: GatewayDep, settings: SettingsDep
) -> HTMLResponse:
    scope = tenant_scope(user)
    ids = await portal_queries.board_ids(session, BoardQuery(scope))
    pins = await portal_queries.site_pins(session, tenant_id=scope, connected=await gateway.connected(ids))
    tiles = settings.map_tile_url
    context = {
        "pins": pins,
        "pins_json": [_pin_json(request, pin) for pin in pins],
        "tile_url": tiles,
        "attribution": OSM_ATTRIBUTION if "openstreetmap.org" in tiles else "",
    }
    return render(request, "board/map.html", context)


def _pin_json(request: Request, pin: SitePin) -> dict[str, Any]:
    return {
        "id": pin.id,
        "name": pin.name,
        "lat": pin.latitude,
        "lon": pin.longitude,
        "condition": pin.condition,
        "label": translate(request, pin.condition),
        "stations_text": translate(request, "Stations: %(num)s", num=pin.stations),
        "url": f"/portal/stations?site={pin.id}",
    }
