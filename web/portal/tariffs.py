"""Tariffs: the tenant's list, the editor with its week grid (a new tariff, or the next version of
one), where a tariff applies, and what a session would cost under it. Every change goes through
``tariffs.services``, which validates and audits it."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response
from starlette.datastructures import FormData

from chargepoints import scope
from chargepoints.tables import SiteRow
from tariffs import services as tariff_services
from tariffs.errors import NoTariff, TariffConflict, TariffNotFound
from tariffs.services import Target
from web.deps import ClockDep, DbId, UowDep
from web.portal.deps import PortalPrincipal, Staff, tenant_scope
from web.portal.tariff_grid import TariffForm, band_colours, check, week_grid
from web.portal.templating import is_htmx, redirect, render, translate

router = APIRouter()

LIST_LIMIT = 500  # a tenant has a handful of tariffs; no paging needed


@router.get("/tariffs")
async def tariff_list(request: Request, user: Staff, uow: UowDep) -> Response:
    rows, total = await tariff_services.list_tariffs(
        uow=uow, tenant_id=tenant_scope(user), limit=LIST_LIMIT, offset=0
    )
    return render(request, "tariffs/list.html", {"tariffs": rows, "total": total})


@router.get("/tariffs/new")
async def new_tariff(request: Request, user: Staff, uow: UowDep) -> Response:
    return render(request, "tariffs/edit.html", await _editor(request, user, uow, TariffForm.new()))


@router.post("/tariffs")
async def create_tariff(request: Request, user: Staff, uow: UowDep, clock: ClockDep) -> Response:
    form_data = await request.form()
    form = TariffForm.parse(form_data)
    editor = await _editor(request, user, uow, form, tenant_id=_int(form_data.get("tenant_id")))
    message = editor["message"] or (None if form.name else translate(request, "Give the tariff a name."))
    valid_from, bad_date = _valid_from(request, form)
    if message or bad_date:
        return render(
            request, "tariffs/edit.html", {**editor, "message": message or bad_date}, status_code=422
        )
    try:
        view = await tariff_services.create_tariff(
            editor["tenant_id"], form.name, form.definition(), valid_from, user.actor, uow=uow, clock=clock
        )
    except TariffConflict as conflict:
        return render(request, "tariffs/edit.html", {**editor, "message": str(conflict)}, status_code=422)
    message = translate(request, "The tariff is saved.")
    return redirect(request, f"/portal/tariffs/{view.tariff.id}", message=message)


@router.post("/tariffs/editor")
async def editor(request: Request, user: Staff, uow: UowDep) -> Response:
    """The editor again with the form's values: one band row more when asked (also without
    JavaScript: the "Add band" button posts here), rows ticked for removal gone."""
    form_data = await request.form()
    form = TariffForm.parse(form_data)
    if form_data.get("add_band"):
        form = form.with_new_row()
    editor = await _editor(
        request,
        user,
        uow,
        form,
        tenant_id=_int(form_data.get("tenant_id")),
        tariff_id=_int(form_data.get("tariff_id")),
    )
    return render(request, "tariffs/_editor.html" if is_htmx(request) else "tariffs/edit.html", editor)


@router.post("/tariffs/check")
async def check_form(request: Request, user: Staff, uow: UowDep) -> Response:
    """The grid and the rules' verdict for the form as it stands: htmx asks on every change."""
    form_data = await request.form()
    editor = await _editor(
        request,
        user,
        uow,
        TariffForm.parse(form_data),
        tenant_id=_int(form_data.get("tenant_id")),
        tariff_id=_int(form_data.get("tariff_id")),
    )
    return render(request, "tariffs/_check.html", editor)


@router.get("/tariffs/{tariff_id}")
async def tariff_detail(
    request: Request, user: Staff, uow: UowDep, tariff_id: DbId, version: int = 0
) -> Response:
    return render(request, "tariffs/detail.html", await _detail(request, user, uow, tariff_id, version))


@router.get("/tariffs/{tariff_id}/edit")
async def edit_tariff(request: Request, user: Staff, uow: UowDep, tariff_id: DbId) -> Response:
    view = await _view(user, uow, tariff_id)
    latest = view.versions[-1] if view.versions else None
    form = TariffForm.from_definition(view.tariff.name, latest.definition) if latest else TariffForm.new()
    return render(request, "tariffs/edit.html", await _editor(request, user, uow, form, tariff_id=tariff_id))


@router.post("/tariffs/{tariff_id}/versions")
async def add_version(
    request: Request, user: Staff, uow: UowDep, clock: ClockDep, tariff_id: DbId
) -> Response:
    form = TariffForm.parse(await request.form())
    editor = await _editor(request, user, uow, form, tariff_id=tariff_id)
    valid_from, bad_date = _valid_from(request, form)
    if editor["message"] or bad_date:
        context = {**editor, "message": editor["message"] or bad_date}
        return render(request, "tariffs/edit.html", context, status_code=422)
    try:
        row = await tariff_services.add_version(
            tariff_id, form.definition(), valid_from, user.actor, uow=uow, clock=clock
        )
    except TariffConflict as conflict:
        return render(request, "tariffs/edit.html", {**editor, "message": str(conflict)}, status_code=422)
    message = translate(request, "Version %(version)s is saved.", version=row.version)
    return redirect(request, f"/portal/tariffs/{tariff_id}", message=message)


@router.post("/tariffs/{tariff_id}/archive")
async def archive(request: Request, user: Staff, uow: UowDep, clock: ClockDep, tariff_id: DbId) -> Response:
    await _view(user, uow, tariff_id)
    await tariff_services.archive(tariff_id, user.actor, uow=uow, clock=clock)
    return redirect(
        request, f"/portal/tariffs/{tariff_id}", message=translate(request, "The tariff is archived.")
    )


@router.post("/tariffs/{tariff_id}/assignments")
async def assign(request: Request, user: Staff, uow: UowDep, clock: ClockDep, tariff_id: DbId) -> Response:
    """Apply the tariff to a site or a station (or one EVSE) of the tenant."""
    await _view(user, uow, tariff_id)
    target = await _target(request, user, await request.form())
    await tariff_services.assign(tariff_id, target, user.actor, uow=uow, clock=clock)
    message = translate(request, "The tariff now applies to %(target)s.", target=target.key)
    return redirect(request, f"/portal/tariffs/{tariff_id}", message=message)


@router.post("/tariffs/{tariff_id}/assignments/remove")
async def unassign(request: Request, user: Staff, uow: UowDep, clock: ClockDep, tariff_id: DbId) -> Response:
    await _view(user, uow, tariff_id)
    target = await _target(request, user, await request.form())
    await tariff_services.unassign(tariff_id, target, user.actor, uow=uow, clock=clock)
    message = translate(request, "The tariff no longer applies to %(target)s.", target=target.key)
    return redirect(request, f"/portal/tariffs/{tariff_id}", message=message)


@router.get("/tariffs/{tariff_id}/preview")
async def preview(
    request: Request,
    user: Staff,
    uow: UowDep,
    tariff_id: DbId,
    energy_kwh: str = "",
    start: str = "",
    end: str = "",
    idle_minutes: str = "0",
    site_id: str = "",
) -> Response:
    """What a session would cost: energy delivered evenly from start to end (wall times of the
    site, or UTC), then idle; the partial for htmx, else the tariff's page with it."""
    query = {
        "energy_kwh": energy_kwh,
        "start": start,
        "end": end,
        "idle_minutes": idle_minutes,
        "site_id": site_id,
    }
    outcome = await _price(request, user, uow, tariff_id, query)
    if is_htmx(request):
        return render(request, "tariffs/_preview.html", {**outcome, "tariff_id": tariff_id})
    return render(
        request, "tariffs/detail.html", {**await _detail(request, user, uow, tariff_id, 0), **outcome}
    )


async def _price(
    request: Request, user: PortalPrincipal, uow: UowDep, tariff_id: int, query: dict[str, str]
) -> dict[str, Any]:
    await _view(user, uow, tariff_id)
    outcome: dict[str, Any] = {"preview": None, "preview_error": None, "query": query}
    site_id = _int(query["site_id"])
    sites = await _sites(request, user)
    zone = next((site.time_zone for site in sites if site.id == site_id), None) if site_id else "UTC"
    started, ended = _local(query["start"], zone), _local(query["end"], zone)
    try:
        energy_wh = int(Decimal(query["energy_kwh"]) * 1000)
        idle = int(query["idle_minutes"] or "0")
    except (InvalidOperation, ValueError, OverflowError):  # not a number, NaN, Infinity
        energy_wh = idle = -1
    if zone is None or started is None or ended is None or ended <= started or energy_wh < 0 or idle < 0:
        outcome["preview_error"] = translate(request, "Give the energy, a start and a later end.")
        return outcome
    usage = tariff_services.even_usage(started, ended, energy_wh, idle)
    try:
        outcome["preview"] = await tariff_services.preview(
            tariff_id, usage, uow=uow, site_id=site_id, time_zone="UTC"
        )
    except NoTariff as missing:
        outcome["preview_error"] = str(missing)
    return outcome


async def _detail(
    request: Request, user: PortalPrincipal, uow: UowDep, tariff_id: int, version: int
) -> dict[str, Any]:
    view = await _view(user, uow, tariff_id)
    shown = next(
        (v for v in view.versions if v.version == version), view.versions[-1] if view.versions else None
    )
    form = TariffForm.from_definition(view.tariff.name, shown.definition) if shown else TariffForm()
    return {
        "view": view,
        "shown": shown,
        "grid": week_grid(form, view.tariff.currency),
        "colours": band_colours(form),
        "bands": form.bands,
        "sites": await _sites(request, user),
        "station_ids": await _station_ids(request, user),
        "preview": None,
        "preview_error": None,
        "query": {"energy_kwh": "20", "start": "", "end": "", "idle_minutes": "0", "site_id": ""},
    }


async def _editor(
    request: Request,
    user: PortalPrincipal,
    uow: UowDep,
    form: TariffForm,
    *,
    tenant_id: int | None = None,
    tariff_id: int | None = None,
) -> dict[str, Any]:
    """What the editor templates need; 404 for a tariff or tenant outside the user's scope."""
    tariff = None
    if tariff_id is not None:
        tariff = (await _view(user, uow, tariff_id)).tariff
        currency = tariff.currency
    else:
        tenant_id = tenant_id or tenant_scope(user) or user.tenant_id
        scoped = tenant_scope(user)
        async with uow:
            tenant = await uow.tariffs.tenant(tenant_id)
        if tenant is None or (scoped is not None and tenant_id != scoped):
            raise HTTPException(404)
        currency = tenant.currency
    problem = check(form, currency)
    return {
        "form": form,
        "tariff": tariff,
        "tenant_id": tenant_id,
        "tenant_choices": _tenant_choices(request) if tariff is None and tenant_scope(user) is None else [],
        "currency": currency,
        "grid": week_grid(form, currency),
        "colours": band_colours(form),
        "message": str(problem) if problem else None,
        "bad_band": problem.band if problem else None,
    }


async def _view(user: PortalPrincipal, uow: UowDep, tariff_id: int) -> tariff_services.TariffView:
    try:
        view = await tariff_services.get_tariff(tariff_id, uow=uow)
    except TariffNotFound:
        raise HTTPException(404) from None
    scoped = tenant_scope(user)
    if scoped is not None and view.tariff.tenant_id != scoped:
        raise HTTPException(404)
    return view


async def _target(request: Request, user: PortalPrincipal, form: FormData) -> Target:
    """The site or station the form names, if the user's tenant owns it (404 otherwise)."""
    kind, _, value = str(form.get("target") or "").partition(":")
    evse = _int(form.get("evse_id"))
    scoped = tenant_scope(user)
    async with request.app.state.sessions() as session:
        if (
            kind == "site"
            and (site_id := _int(value))
            and await scope.site_in_scope(session, site_id, scoped)
        ):
            return Target(site_id=site_id)
        if kind == "station" and value and await scope.station_in_scope(session, value, scoped):
            return Target(station_id=value, evse_id=evse)
    raise HTTPException(404)


async def _sites(request: Request, user: PortalPrincipal) -> list[SiteRow]:
    async with request.app.state.sessions() as session:
        return await scope.sites(session, tenant_scope(user))


async def _station_ids(request: Request, user: PortalPrincipal) -> list[str]:
    async with request.app.state.sessions() as session:
        return await scope.station_ids(session, tenant_scope(user))


def _tenant_choices(request: Request) -> list[tuple[int, str]]:
    """The tenants an administrator may create a tariff for (the navigation already has them)."""
    return list(getattr(request.state, "portal_tenants", []))


def _valid_from(request: Request, form: TariffForm) -> tuple[datetime | None, str | None]:
    """When the version starts (None: now), or what is wrong with the value."""
    if not form.valid_from:
        return None, None
    moment = _local(form.valid_from, "UTC")
    if moment is None:
        return None, translate(request, "The start of validity is not a date and time.")
    return moment, None


def _local(text: str, zone: str | None) -> datetime | None:
    """A ``datetime-local`` value read in ``zone``, as UTC."""
    if zone is None:
        return None
    try:
        return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)
    except ValueError:
        return None


def _int(value: object) -> int | None:
    return int(value) if isinstance(value, str) and value.isdigit() and 0 < int(value) < 2**31 else None
