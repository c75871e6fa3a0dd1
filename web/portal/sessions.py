"""Charging sessions: the filtered list, one session with its meter curve and itemised cost, and
the review queue's decisions (``chargepoints.review.decide``, audited under the portal user)."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response
from starlette.datastructures import FormData

from chargepoints import cdrs, review, session_queries
from chargepoints import scope as tenant
from chargepoints.model import TxState
from chargepoints.session_queries import MeterPoint, SessionFilter
from chargepoints.tables import CdrRow
from tariffs.currency import billed
from web.deps import ClockDep, DbId, SessionDep, UowDep
from web.portal.deps import PortalPrincipal, Staff, tenant_scope
from web.portal.paging import PAGE_SIZE, Page, day_end, day_start, page_number, page_url
from web.portal.templating import is_htmx, redirect, render, translate

router = APIRouter()

STATES = tuple(TxState)
MAX_CORRECTION_WH = 10_000_000  # as the operator API allows
NOTE_LENGTH = 500


@router.get("/sessions")
async def session_list(
    request: Request,
    user: Staff,
    session: SessionDep,
    station: str = "",
    state: str = "",
    since: str = "",
    until: str = "",
    flagged: str = "",
    page: str = "1",
) -> Response:
    """Newest first; with ``flagged`` the review queue, oldest first."""
    scope = tenant_scope(user)
    where = SessionFilter(
        tenant_id=scope,
        station_id=station or None,
        state=state if state in STATES else None,
        since=day_start(since),
        until=day_end(until),
        flagged=bool(flagged),
    )
    number = page_number(page)
    items, total = await session_queries.sessions(
        session, where, limit=PAGE_SIZE, offset=(number - 1) * PAGE_SIZE
    )
    context = {
        "items": items,
        "page": Page(number, total, PAGE_SIZE),
        "page_url": lambda n: page_url(request, n),
        "stations": await tenant.station_ids(session, scope),
        "filters": {"station": station, "state": state, "since": since, "until": until, "flagged": flagged},
    }
    return render(request, "sessions/_table.html" if is_htmx(request) else "sessions/list.html", context)


@router.get("/sessions/{transaction_id}")
async def session_detail(request: Request, user: Staff, transaction_id: DbId) -> Response:
    return await _detail(request, user, transaction_id, {})


@router.post("/sessions/{transaction_id}/review")
async def decide(
    request: Request, user: Staff, uow: UowDep, clock: ClockDep, transaction_id: DbId
) -> Response:
    """Accept, correct (energy in kWh) or void a flagged session, then show it again."""
    async with request.app.state.sessions() as session:
        if await session_queries.scoped_session(session, transaction_id, tenant_scope(user)) is None:
            raise HTTPException(404)
    form = await request.form()
    decision = _decision(request, form)
    if isinstance(decision, str):
        errors = {"message": decision, "values": dict(form)}
        if is_htmx(request):
            context = {"transaction_id": transaction_id, "form": errors}
            return render(request, "sessions/_review.html", context, status_code=422)
        return await _detail(request, user, transaction_id, errors, status_code=422)
    await review.decide(transaction_id, decision, actor=user.actor, uow=uow, clock=clock)
    message = translate(request, "The decision is saved.")
    return redirect(request, f"/portal/sessions/{transaction_id}", message=message)


async def _detail(
    request: Request,
    user: PortalPrincipal,
    transaction_id: int,
    form: Mapping[str, object],
    *,
    status_code: int = 200,
) -> Response:
    async with request.app.state.sessions() as session:
        tx = await session_queries.scoped_session(session, transaction_id, tenant_scope(user))
        if tx is None:
            raise HTTPException(404)
        curve = await session_queries.meter_curve(session, tx)
        cdr = await cdrs.cdr_of(session, transaction_id)
        context = {
            "tx": tx,
            "transaction_id": transaction_id,
            "curve": curve,
            "chart": _chart(curve),
            "cdr": cdr,
            "bill": None if cdr is None else _bill(cdr),
            "form": form,
        }
    return render(request, "sessions/detail.html", context, status_code=status_code)


def _bill(cdr: CdrRow) -> dict[str, Decimal]:
    amounts = {"subtotal": cdr.subtotal, "tax": cdr.tax, "total": cdr.total}
    return {name: billed(amount, cdr.currency) for name, amount in amounts.items()}


def _chart(curve: list[MeterPoint]) -> dict[str, list[float | None]]:
    """The curve as uPlot's columns: epoch seconds, kW and kWh (display values, not money)."""
    return {
        "t": [point.at.timestamp() for point in curve],
        "power_kw": [None if p.power_w is None else round(p.power_w / 1000, 3) for p in curve],
        "energy_kwh": [None if p.energy_wh is None else p.energy_wh / 1000 for p in curve],
    }


def _decision(request: Request, form: FormData) -> review.Decision | str:
    """The decision the form asks for, or what is wrong with it (in the user's language)."""
    action, note = form.get("action"), str(form.get("note") or "").strip()
    if len(note) > NOTE_LENGTH:
        return translate(request, "The note is too long.")
    if action == "accept":
        return review.Accept(note or None)
    if not note:
        return translate(request, "Say why in the note.")
    if action == "void":
        return review.Void(note)
    if action != "correct":
        return translate(request, "Choose accept, correct or void.")
    try:
        energy_wh = int(Decimal(str(form.get("energy_kwh") or "")) * 1000)
    except (InvalidOperation, ValueError, OverflowError):  # not a number, NaN, Infinity
        energy_wh = -1
    if not 0 <= energy_wh <= MAX_CORRECTION_WH:
        return translate(request, "Give the corrected energy in kWh.")
    return review.Correct(energy_wh, note)
