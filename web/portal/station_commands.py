"""The station command forms: each builds an operation, logs it in the command log and starts it.

A form sent by htmx has been confirmed in the browser (``hx-confirm``, with ``confirmed=yes``); a
plain form first gets a confirmation page that posts the same fields again, confirmed. The answer
is the command's partial, which polls itself until the station has answered (without JavaScript:
the command's page, which reloads itself). Sending goes through the same command log and runner as
the operator API, in the user's name (``portal:<user id>``).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Form, HTTPException, Path, Request
from fastapi.responses import HTMLResponse, Response

from chargepoints import commands, files, portal_queries, profiles, queries
from chargepoints.errors import InvalidCommand
from chargepoints.model import CommandStatus, IdToken
from chargepoints.operations import (
    ChangeAvailability,
    GetBaseReport,
    Operation,
    OperationalStatus,
    RemoteStart,
    RemoteStop,
    Reset,
    ResetKind,
    TriggerKind,
    TriggerMessage,
    UnlockConnector,
    new_request_id,
)
from chargepoints.profiles import Period, Profile, ProfileStatus, SetChargingProfile
from chargepoints.tables import StationRow, StoredFileRow
from web.deps import ClockDep, CommandsDep, DbId, GatewayDep, SessionDep, SettingsDep, UowDep
from web.portal import csrf
from web.portal.deps import Staff
from web.portal.stations import station_or_404
from web.portal.templating import is_htmx, redirect, render, translate

router = APIRouter()
StationId = Annotated[str, Path(max_length=48)]
Confirmed = Annotated[str, Form()]
EvseId = Annotated[int | None, Form(ge=1, le=99)]
_PREFIX = "/stations/{station_id}/commands"


class Commanding:
    """What sending a command needs, bound to this request and user."""

    def __init__(
        self,
        request: Request,
        user: Staff,
        uow: UowDep,
        clock: ClockDep,
        gateway: GatewayDep,
        runner: CommandsDep,
        settings: SettingsDep,
    ) -> None:
        self.request, self.user, self.uow, self.clock = request, user, uow, clock
        self.gateway, self.runner, self.settings = gateway, runner, settings

    async def station(self, station_id: str) -> StationRow:
        """The station if the user may command it; the session closes at once (SQLite has one
        connection, and the command log needs it)."""
        async with self.request.app.state.sessions() as session:
            return await station_or_404(session, station_id, self.user)

    async def confirm(self, station: StationRow, question: str) -> HTMLResponse:
        form = await self.request.form()
        fields = [
            (k, v) for k, v in form.multi_items() if isinstance(v, str) and k not in (csrf.FIELD, "confirmed")
        ]
        context = {
            "station_id": station.id,
            "question": question,
            "action_url": self.request.url.path,
            "fields": fields,
        }
        return render(self.request, "stations/confirm.html", context)

    def translate(self, station: StationRow, operation: Operation) -> tuple[str, dict[str, Any]]:
        """The message for the station's version, checked against its schema: 409/422 otherwise."""
        if not station.ocpp_version:
            text = translate(self.request, "Station %(id)s has not booted yet: no commands.", id=station.id)
            raise HTTPException(409, text)
        try:
            action, payload = self.gateway.translate(station.ocpp_version, operation)
            self.gateway.check(station.id, action, payload)
        except InvalidCommand as exc:
            raise HTTPException(422, str(exc)) from None
        return action, payload

    async def queue(self, station: StationRow, operation: Operation) -> int:
        action, payload = self.translate(station, operation)
        return await commands.queue_command(
            station.id, action, payload, requester=self.user.actor, uow=self.uow, clock=self.clock
        )

    async def send(self, station: StationRow, operation: Operation) -> Response:
        command_id = await self.queue(station, operation)
        self.runner.start(command_id)
        return await self.answer(station.id, command_id)

    async def answer(self, station_id: str, command_id: int) -> Response:
        if not is_htmx(self.request):
            return redirect(self.request, f"/portal/stations/{station_id}/commands/{command_id}")
        async with self.request.app.state.sessions() as session:
            command = await queries.command(session, command_id)
        return render(self.request, "stations/_command.html", {"command": command})

    def base_url(self) -> str:
        """Where stations reach us for files: CSMS_PUBLIC_URL, else the address of this request."""
        return self.settings.public_url or str(self.request.base_url).rstrip("/")


Do = Annotated[Commanding, Depends()]


@router.get(_PREFIX + "/{command_id}")
async def command(
    request: Request, station_id: StationId, command_id: DbId, user: Staff, session: SessionDep
) -> HTMLResponse:
    """A command's state: the partial an htmx result polls, or a page of its own."""
    await station_or_404(session, station_id, user)
    found = await queries.command(session, command_id)
    if found is None or found.station_id != station_id:
        raise HTTPException(404, f"Command {command_id} not found")
    template = "stations/_command.html" if is_htmx(request) else "stations/command.html"
    return render(request, template, {"command": found})


@router.post(_PREFIX + "/reset")
async def reset(
    station_id: StationId, do: Do, kind: Annotated[ResetKind, Form()], confirmed: Confirmed = ""
) -> Response:
    station = await do.station(station_id)
    if confirmed != "yes":
        return await do.confirm(station, translate(do.request, "Reset station %(id)s?", id=station.id))
    return await do.send(station, Reset(kind))


@router.post(_PREFIX + "/remote-start")
async def remote_start(
    station_id: StationId,
    do: Do,
    id_token: Annotated[str, Form(min_length=1, max_length=36)],
    evse_id: EvseId = None,
    confirmed: Confirmed = "",
) -> Response:
    station = await do.station(station_id)
    if confirmed != "yes":
        question = translate(do.request, "Start a session for %(token)s?", token=id_token)
        return await do.confirm(station, question)
    return await do.send(station, RemoteStart(IdToken(id_token.strip()), new_request_id(), evse_id))


@router.post(_PREFIX + "/remote-stop")
async def remote_stop(
    station_id: StationId,
    do: Do,
    transaction_id: Annotated[int, Form(ge=1, le=2**31 - 1)],
    confirmed: Confirmed = "",
) -> Response:
    station = await do.station(station_id)
    async with do.request.app.state.sessions() as session:
        running = await portal_queries.active_session(session, station.id, transaction_id)
    if running is None:
        text = translate(do.request, "Session %(id)s is not running here.", id=transaction_id)
        raise HTTPException(409, text)
    if confirmed != "yes":
        return await do.confirm(station, translate(do.request, "Stop session %(id)s?", id=transaction_id))
    return await do.send(station, RemoteStop(running.transaction_id, running.station_tx_id))


@router.post(_PREFIX + "/unlock")
async def unlock(
    station_id: StationId,
    do: Do,
    evse_id: Annotated[int, Form(ge=1, le=99)],
    connector_id: Annotated[int, Form(ge=1, le=99)] = 1,
    confirmed: Confirmed = "",
) -> Response:
    station = await do.station(station_id)
    if confirmed != "yes":
        question = translate(do.request, "Unlock connector %(c)s of EVSE %(e)s?", c=connector_id, e=evse_id)
        return await do.confirm(station, question)
    return await do.send(station, UnlockConnector(evse_id, connector_id))


@router.post(_PREFIX + "/availability")
async def availability(
    station_id: StationId,
    do: Do,
    status: Annotated[OperationalStatus, Form()],
    evse_id: EvseId = None,
    confirmed: Confirmed = "",
) -> Response:
    station = await do.station(station_id)
    if confirmed != "yes":
        question = translate(do.request, "Make it %(status)s?", status=translate(do.request, status.value))
        return await do.confirm(station, question)
    return await do.send(station, ChangeAvailability(status, evse_id))


@router.post(_PREFIX + "/trigger")
async def trigger(
    station_id: StationId,
    do: Do,
    message: Annotated[TriggerKind, Form()],
    evse_id: EvseId = None,
    confirmed: Confirmed = "",
) -> Response:
    station = await do.station(station_id)
    if confirmed != "yes":
        question = translate(do.request, "Ask the station to send %(kind)s?", kind=message.value)
        return await do.confirm(station, question)
    return await do.send(station, TriggerMessage(message, evse_id))


@router.post(_PREFIX + "/refresh-configuration")
async def refresh_configuration(station_id: StationId, do: Do, confirmed: Confirmed = "") -> Response:
    """2.0.1 stations send their device model as NotifyReport; 1.6 ones answer GetConfiguration."""
    station = await do.station(station_id)
    if confirmed != "yes":
        return await do.confirm(station, translate(do.request, "Ask the station for its configuration?"))
    return await do.send(station, GetBaseReport(new_request_id()))


@router.post(_PREFIX + "/upload-log")
async def upload_log(station_id: StationId, do: Do, confirmed: Confirmed = "") -> Response:
    """1.6 GetDiagnostics / 2.0.1 GetLog into a fresh upload slot of the file store."""
    station = await do.station(station_id)
    if confirmed != "yes":
        return await do.confirm(station, translate(do.request, "Ask the station to upload its diagnostics?"))
    slot = await files.open_upload_slot(station.id, uow=do.uow, clock=do.clock)
    location = f"{do.base_url()}/files/uploads/{slot.token}"
    return await do.send(station, files.UploadLog(location, slot.id or 0))


@router.post(_PREFIX + "/firmware")
async def firmware(
    station_id: StationId,
    do: Do,
    firmware_id: Annotated[int, Form(ge=1, le=2**31 - 1)],
    confirmed: Confirmed = "",
) -> Response:
    station = await do.station(station_id)
    async with do.request.app.state.sessions() as session:
        image = await session.get(StoredFileRow, firmware_id)
    if image is None or image.kind != files.FIRMWARE:
        raise HTTPException(404, f"Firmware {firmware_id} not found")
    if confirmed != "yes":
        question = translate(do.request, "Install %(name)s on the station?", name=image.name)
        return await do.confirm(station, question)
    location = f"{do.base_url()}/files/{image.token}/{image.name}"
    return await do.send(station, files.UpdateFirmware(location, do.clock.now(), image.id or 0))


@router.post(_PREFIX + "/charging-profile")
async def charging_profile(
    station_id: StationId,
    do: Do,
    limit: Annotated[float, Form(ge=0, le=10_000_000)],
    unit: Annotated[Literal["A", "W"], Form()] = "A",
    minutes: Annotated[int, Form(ge=1, le=7 * 24 * 60)] = 60,
    evse_id: EvseId = None,
    confirmed: Confirmed = "",
) -> Response:
    """A limit for some minutes from now: the whole station's maximum, or one EVSE's default for
    its sessions. The profile's stored status follows the station's answer, as in the operator
    API, so this one waits for the answer instead of polling."""
    station = await do.station(station_id)
    if confirmed != "yes":
        question = translate(
            do.request,
            "Limit to %(limit)s %(unit)s for %(minutes)s minutes?",
            limit=limit,
            unit=unit,
            minutes=minutes,
        )
        return await do.confirm(station, question)
    purpose = "TxDefaultProfile" if evse_id else "ChargingStationMaxProfile"
    start = do.clock.now()
    draft = Profile(
        0, 0, purpose, "Absolute", unit, (Period(0, limit),), start=start, duration_s=minutes * 60
    )
    do.translate(station, SetChargingProfile(evse_id or 0, draft))  # refuse before storing anything
    definition = {
        "evse_id": evse_id or 0,
        "purpose": purpose,
        "kind": "Absolute",
        "unit": unit,
        "start": start.isoformat(),
        "duration_s": minutes * 60,
        "periods": [{"start_s": 0, "limit": limit}],
    }
    row = await profiles.record(station.id, evse_id or 0, purpose, 0, definition, uow=do.uow, clock=do.clock)
    assert row.id is not None
    command_id = await do.queue(station, SetChargingProfile(evse_id or 0, replace(draft, id=row.id)))
    done = await do.runner.run(command_id)
    installed = done.status == CommandStatus.ACCEPTED
    status = ProfileStatus.INSTALLED if installed else ProfileStatus.REJECTED
    await profiles.set_status([row.id], status, uow=do.uow, clock=do.clock)
    return await do.answer(station.id, command_id)
