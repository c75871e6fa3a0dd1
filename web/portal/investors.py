"""Which investor owns which site: investors see the revenue and usage of those sites only."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from csms.accounts import portal
from csms.accounts.errors import AccountNotFound
from web.portal.deps import Staff, accounts_uow, tenant_scope
from web.portal.templating import add_toast, is_htmx, redirect, render, toast, translate

router = APIRouter()

Id = Annotated[int, Form(ge=1, le=2**31 - 1)]


@router.get("/investors", name="investors_page")
async def investors_page(request: Request, user: Staff) -> Response:
    return render(request, "investors/index.html", await _context(request, user))


@router.post("/investors")
async def assign(request: Request, user: Staff, investor: Id, site: Id) -> Response:
    system = request.app.state.system
    try:
        await portal.assign_site(
            investor, site, tenant_id=tenant_scope(user), uow=accounts_uow(request), clock=system.clock
        )
    except AccountNotFound:
        message = translate(request, "That investor and site are not of one tenant you manage.")
        if is_htmx(request):
            return toast(request, message, kind="error", status_code=404)
        return redirect(request, "/portal/investors", message=message, kind="error")
    return await _answer(request, user, translate(request, "The investor owns the site now."))


@router.post("/investors/remove")
async def unassign(request: Request, user: Staff, investor: Id, site: Id) -> Response:
    await portal.unassign_site(investor, site, tenant_id=tenant_scope(user), uow=accounts_uow(request))
    return await _answer(request, user, translate(request, "The investor no longer owns the site."))


async def _answer(request: Request, user: Staff, message: str) -> Response:
    """htmx gets the table again (and a toast); a plain form post is redirected to the page."""
    if not is_htmx(request):
        return redirect(request, "/portal/investors", message=message)
    return add_toast(render(request, "investors/_table.html", await _context(request, user)), message)


async def _context(request: Request, user: Staff) -> dict[str, object]:
    scope = tenant_scope(user)
    owned = await portal.ownerships(tenant_id=scope, uow=accounts_uow(request))
    investors, sites = await portal.investors_and_sites(tenant_id=scope, uow=accounts_uow(request))
    return {"ownerships": owned, "investors": investors, "sites": sites}
