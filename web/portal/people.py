"""People of the tenant: drivers and their id tokens (blocked and unblocked, audited), the staff
(operators and investors added here), and drivers' complaints with the operators' answers."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from chargepoints import feedback, id_tokens
from chargepoints.errors import TokenNotFound
from chargepoints.feedback import ComplaintStatus, FeedbackError
from chargepoints.feedback_tables import ComplaintRow
from chargepoints.id_tokens import TokenFilter
from chargepoints.model import TokenStatus
from csms.accounts import directory, services
from csms.accounts.errors import AccountConflict, InvalidAccountData
from csms.accounts.model import NewUser, Role
from web.deps import AccountsUowDep, ClockDep, DbId, SessionDep, UowDep
from web.portal.deps import PortalPrincipal, Staff, tenant_scope
from web.portal.paging import PAGE_SIZE, Page, page_number, page_url
from web.portal.templating import is_htmx, local_url, redirect, render, translate

router = APIRouter()

BLOCKING = (TokenStatus.BLOCKED, TokenStatus.ACCEPTED)
"""What the token buttons set: blocked, or accepted again."""
STAFF_ROLES = (Role.OPERATOR, Role.INVESTOR)
"""The roles staff may add here (administrators are made with ``csms user add``)."""
RESPONSE_LENGTH = 2000


def _paged(request: Request, number: int, total: int) -> dict[str, Any]:
    return {"page": Page(number, total, PAGE_SIZE), "page_url": lambda n: page_url(request, n)}


@router.get("/people")
async def drivers(
    request: Request, user: Staff, session: SessionDep, q: str = "", page: str = "1"
) -> Response:
    number = page_number(page)
    items, total = await directory.drivers(
        session,
        tenant_id=tenant_scope(user),
        search=q.strip(),
        limit=PAGE_SIZE,
        offset=(number - 1) * PAGE_SIZE,
    )
    context = {"drivers": items, "q": q, **_paged(request, number, total)}
    return render(request, "people/_drivers.html" if is_htmx(request) else "people/drivers.html", context)


@router.get("/people/drivers/{user_id}")
async def driver(request: Request, user: Staff, session: SessionDep, user_id: DbId) -> Response:
    found = await directory.driver(session, user_id, tenant_id=tenant_scope(user))
    if found is None:
        raise HTTPException(404)
    items = [id_tokens.TokenItem(token, found.user) for token in found.tokens]
    return render(request, "people/driver.html", {"driver": found, "tokens": items})


@router.get("/people/tokens")
async def tokens(
    request: Request, user: Staff, session: SessionDep, q: str = "", status: str = "", page: str = "1"
) -> Response:
    number = page_number(page)
    where = TokenFilter(tenant_scope(user), status if status in set(TokenStatus) else None, q.strip())
    items, total = await id_tokens.tokens(session, where, limit=PAGE_SIZE, offset=(number - 1) * PAGE_SIZE)
    context = {
        "tokens": items,
        "q": q,
        "status": status,
        **_paged(request, number, total),
    }
    return render(request, "people/_tokens.html" if is_htmx(request) else "people/tokens.html", context)


@router.post("/people/tokens/status")
async def token_status(request: Request, user: Staff, uow: UowDep, clock: ClockDep) -> Response:
    """Block or unblock a token: htmx gets the token's row again, a form the page it came from."""
    form = await request.form()
    token, status = str(form.get("token") or ""), str(form.get("status") or "")
    if status not in set(BLOCKING):
        raise HTTPException(422)
    scope = tenant_scope(user)
    try:
        await id_tokens.set_status(
            token, TokenStatus(status), user.actor, tenant_id=scope, uow=uow, clock=clock
        )
    except TokenNotFound:
        raise HTTPException(404) from None
    if not is_htmx(request):
        blocked = status == TokenStatus.BLOCKED
        text = "Token %(token)s is blocked." if blocked else "Token %(token)s is unblocked."
        back = local_url(str(form.get("next") or "/portal/people/tokens"))
        return redirect(request, back, message=translate(request, text, token=token))
    async with request.app.state.sessions() as session:
        item = await id_tokens.token_item(session, token, tenant_id=scope)
    return render(request, "people/_token_row.html", {"item": item})


@router.get("/people/staff")
async def staff(request: Request, user: Staff, session: SessionDep, page: str = "1") -> Response:
    return await _staff_page(request, user, session, page_number(page), {})


@router.post("/people/staff")
async def add_staff(
    request: Request, user: Staff, session: SessionDep, uow: AccountsUowDep, clock: ClockDep
) -> Response:
    """An operator or investor of the user's tenant (an administrator picks the tenant)."""
    form = await request.form()
    values = {key: str(value).strip() for key, value in form.items() if key != "password"}
    tenant_id = tenant_scope(user) or _tenant_choice(request, values.get("tenant_id", ""), user)
    problem = None
    if values.get("role") not in set(STAFF_ROLES):
        problem = translate(request, "Choose operator or investor.")
    else:
        spec = NewUser(
            tenant_id,
            values.get("phone", ""),
            Role(values["role"]),
            password=str(form.get("password") or ""),
            display_name=values.get("name") or None,
            email=values.get("email") or None,
        )
        await session.close()  # SQLite has one connection, and the new user needs it
        try:
            await services.create_user(spec, uow=uow, clock=clock)
        except (AccountConflict, InvalidAccountData) as error:
            problem = str(error)
    if problem:
        return await _staff_page(
            request, user, session, 1, {"message": problem, "values": values}, status_code=422
        )
    return redirect(request, "/portal/people/staff", message=translate(request, "The account is ready."))


async def _staff_page(
    request: Request,
    user: PortalPrincipal,
    session: SessionDep,
    number: int,
    form: dict[str, Any],
    *,
    status_code: int = 200,
) -> Response:
    rows, total = await directory.staff(
        session, tenant_id=tenant_scope(user), limit=PAGE_SIZE, offset=(number - 1) * PAGE_SIZE
    )
    choices = list(getattr(request.state, "portal_tenants", [])) if tenant_scope(user) is None else []
    context = {"staff": rows, "form": form, "tenant_choices": choices, **_paged(request, number, total)}
    return render(request, "people/staff.html", context, status_code=status_code)


@router.get("/people/complaints")
async def complaints(
    request: Request, user: Staff, session: SessionDep, status: str = "", page: str = "1"
) -> Response:
    number = page_number(page)
    chosen = ComplaintStatus(status) if status in set(ComplaintStatus) else None
    rows, total = await feedback.complaints(
        session, tenant_id=tenant_scope(user), status=chosen, limit=PAGE_SIZE, offset=(number - 1) * PAGE_SIZE
    )
    context = {
        "complaints": rows,
        "status": status,
        **_paged(request, number, total),
    }
    template = "people/_complaints.html" if is_htmx(request) else "people/complaints.html"
    return render(request, template, context)


@router.get("/people/complaints/{complaint_id}")
async def complaint(request: Request, user: Staff, session: SessionDep, complaint_id: DbId) -> Response:
    row = await _complaint(session, user, complaint_id)
    return render(request, "people/complaint.html", {"complaint": row, "form": {}})


@router.post("/people/complaints/{complaint_id}")
async def answer(
    request: Request, user: Staff, session: SessionDep, uow: UowDep, clock: ClockDep, complaint_id: DbId
) -> Response:
    """Answer the driver and/or move the complaint on (a closed one stays closed)."""
    row = await _complaint(session, user, complaint_id)
    await session.close()  # SQLite has one connection, and the answer needs it
    form = await request.form()
    status, text = str(form.get("status") or ""), str(form.get("response") or "").strip()
    problem = None
    if status and status not in set(ComplaintStatus):
        problem = translate(request, "Choose a status.")
    elif len(text) > RESPONSE_LENGTH:
        problem = translate(request, "The answer is too long.")
    elif not status and not text:
        problem = translate(request, "Write an answer or choose a status.")
    else:
        try:
            await feedback.answer_complaint(
                complaint_id,
                ComplaintStatus(status) if status else None,
                text or None,
                user.actor,
                uow=uow,
                clock=clock,
            )
        except FeedbackError as error:
            problem = str(error)
    if problem:
        context = {"complaint": row, "form": {"message": problem, "status": status, "response": text}}
        return render(request, "people/complaint.html", context, status_code=422)
    message = translate(request, "The answer is saved.")
    return redirect(request, f"/portal/people/complaints/{complaint_id}", message=message)


async def _complaint(session: SessionDep, user: PortalPrincipal, complaint_id: int) -> ComplaintRow:
    row = await session.get(ComplaintRow, complaint_id, populate_existing=True)
    scope = tenant_scope(user)
    if row is None or (scope is not None and row.tenant_id != scope):
        raise HTTPException(404)
    return row


def _tenant_choice(request: Request, text: str, user: PortalPrincipal) -> int:
    """The tenant an administrator chose in the form, if it is one of the known ones."""
    known = {tenant_id for tenant_id, _ in getattr(request.state, "portal_tenants", [])}
    return int(text) if text.isdigit() and int(text) in known else user.tenant_id
