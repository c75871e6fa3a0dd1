"""Driver API for charging: scan to start, stop, and follow a session by polling, WebSocket or
server-sent events.

Every answer to a start carries an ``outcome`` the app can act on and a ``message`` to show; the
failures are RFC 9457 problems with the same members, under a status that fits the cause.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncGenerator, AsyncIterator
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Self

from fastapi import APIRouter, Depends, HTTPException, Query, Request, WebSocket, status
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, model_validator
from starlette.requests import HTTPConnection
from starlette.websockets import WebSocketDisconnect

from chargepoints import charging_needs, driver_views, events
from chargepoints import driver_sessions as use_cases
from chargepoints.driver_sessions import Answer, Driver, Outcome, PaymentGuard, Ports
from chargepoints.driver_views import Progress
from chargepoints.errors import StationNotFound, TransactionNotFound
from chargepoints.model import TxState
from chargepoints.repository import UnitOfWork
from chargepoints.rules.identity import is_valid_station_id
from csms.accounts import queries as accounts_queries
from csms.accounts import services as accounts
from csms.accounts.errors import NotAllowed, NotAuthenticated
from csms.accounts.model import DRIVER_ROLES
from csms.accounts.repository import AccountsUnitOfWork
from web.api.problems import problem
from web.deps import (
    DB_INT_MAX,
    ClockDep,
    CurrentDriver,
    DbId,
    IdempotencyKey,
    PublisherDep,
    SettingsDep,
    UowDep,
)
from web.live import LiveHub
from web.qr import parse_qr

router = APIRouter(prefix="/api/v1/sessions", tags=["driver sessions"])

REFRESH_S = 15.0
"""A stream reads the session again after this long without events: a lost event cannot stall
it, and a server-sent event stream needs a sign of life to stay open through proxies."""
CLOSE_UNAUTHORISED, CLOSE_NOT_FOUND = 4401, 4404  # WebSocket close codes: HTTP's, plus 4000

_STATUS = {
    Outcome.STARTED: 201,
    Outcome.STOPPING: 202,
    Outcome.RESERVED: 201,
    Outcome.CANCELLED: 200,
    Outcome.NOT_PLUGGED: 409,
    Outcome.EVSE_BUSY: 409,
    Outcome.EVSE_UNAVAILABLE: 409,
    Outcome.PAYMENT_REQUIRED: 402,
    Outcome.STATION_OFFLINE: 409,  # as the operator API: the station's state, not a server fault
    Outcome.REJECTED: 409,
    Outcome.NO_ANSWER: 504,
}


async def driver_of(user_id: int, tenant_id: int, uow: UnitOfWork) -> Driver:
    """The driver with the account's id tokens, read in a unit of work of its own (SQLite has
    one connection, and a start holds none while it waits for the station)."""
    async with uow:
        tokens = await accounts_queries.driver_tokens(uow.session, user_id)
        app_token = await accounts_queries.app_token(uow.session, user_id)
    return Driver(user_id, tenant_id, app_token, frozenset(tokens))


async def _driver(principal: CurrentDriver, uow: UowDep) -> Driver:
    return await driver_of(principal.user_id, principal.tenant_id, uow)


DriverDep = Annotated[Driver, Depends(_driver)]


def driver_ports(connection: HTTPConnection) -> Ports:
    system = connection.app.state.system
    return Ports(system.uow, system.station_gateway, system.commands, system.clock)


def _payments(request: Request) -> PaymentGuard:
    guard: PaymentGuard = request.app.state.system.payments
    return guard


PortsDep = Annotated[Ports, Depends(driver_ports)]
PaymentsDep = Annotated[PaymentGuard, Depends(_payments)]


class AnswerOut(BaseModel):
    outcome: Outcome
    message: str = Field(description="What happened, in words to show the driver")
    transaction_id: int | None = None


def answered(answer: Answer, *, code: int | None = None, **extra: object) -> JSONResponse:
    """The answer under its status (or ``code``): a plain body when it succeeded, a problem when
    it did not."""
    code = code or _STATUS[answer.outcome]
    body = {**AnswerOut.model_validate(answer, from_attributes=True).model_dump(mode="json"), **extra}
    if code < 400:
        return JSONResponse(body, status_code=code)
    return problem(code, answer.message, **body)


def _station_id(value: str) -> str:
    if not is_valid_station_id(value):
        raise ValueError("not a station id")
    return value


StationIdIn = Annotated[str, AfterValidator(_station_id)]


class StartIn(BaseModel):
    """Either the scanned QR code or the station and EVSE typed in."""

    model_config = ConfigDict(extra="forbid")
    qr: str | None = Field(default=None, max_length=500, examples=["https://csms.example/c/CP-17/1"])
    station_id: StationIdIn | None = None
    evse_id: int | None = Field(default=None, ge=1, le=DB_INT_MAX)

    @model_validator(mode="after")
    def _one_target(self) -> Self:
        if self.qr is not None:
            if self.station_id is not None or self.evse_id is not None:
                raise ValueError("send either qr or station_id and evse_id, not both")
            self.station_id, self.evse_id = parse_qr(self.qr)  # ValueError: a 422 saying why
            if self.evse_id > DB_INT_MAX:
                raise ValueError("not an EVSE code: the EVSE number is too large")
        elif self.station_id is None or self.evse_id is None:
            raise ValueError("send qr, or station_id and evse_id")
        return self


class ProgressOut(BaseModel):
    """A session as the app shows it; ``cost`` is a decimal string in ``currency``."""

    transaction_id: int
    station_id: str
    evse_id: int | None
    state: str = Field(examples=["Active", "Ended"])
    started_at: datetime | None
    ended_at: datetime | None
    energy_wh: int
    power_w: float | None
    soc: float | None = Field(description="The EV's state of charge in %, if the station reports it")
    duration_s: int
    cost: Decimal | None = Field(description="So far while charging; the billed total once the CDR is out")
    currency: str | None


def progress_out(progress: Progress, now: datetime) -> ProgressOut:
    return ProgressOut(
        transaction_id=progress.transaction_id,
        station_id=progress.station_id,
        evse_id=progress.evse_id,
        state=progress.state,
        started_at=progress.started_at,
        ended_at=progress.ended_at,
        energy_wh=progress.energy_wh,
        power_w=progress.power_w,
        soc=progress.soc,
        duration_s=progress.duration_s(now),
        cost=progress.cost,
        currency=progress.currency,
    )


_ANSWERS: dict[int | str, dict[str, Any]] = {
    code: {"model": AnswerOut, "description": ", ".join(o for o, c in _STATUS.items() if c == code)}
    for code in (402, 409, 504)
}


@router.post("", status_code=status.HTTP_201_CREATED, response_model=AnswerOut, responses=_ANSWERS)
async def start_session(
    body: StartIn,
    driver: DriverDep,
    _idempotent: IdempotencyKey,
    ports: PortsDep,
    payments: PaymentsDep,
    settings: SettingsDep,
) -> JSONResponse:
    """Start charging at the scanned EVSE; waits for the station (tens of seconds at most). 404 for
    a station of another operator, as for one that does not exist."""
    assert body.station_id is not None and body.evse_id is not None
    try:
        answer = await use_cases.start(
            driver, body.station_id, body.evse_id, ports=ports, payments=payments, wait_s=settings.start_wait
        )
    except (StationNotFound, use_cases.EvseNotFound):
        raise HTTPException(404, f"Station {body.station_id} has no EVSE {body.evse_id}") from None
    return answered(answer, station_id=body.station_id, evse_id=body.evse_id)


@router.post(
    "/{transaction_id}/stop",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=AnswerOut,
    responses=_ANSWERS,
)
async def stop_session(transaction_id: DbId, driver: DriverDep, ports: PortsDep) -> JSONResponse:
    """Ask the station to stop; follow the session to see it end. 409 when it has already ended."""
    try:
        answer = await use_cases.stop(driver, transaction_id, ports=ports)
    except TransactionNotFound as exc:
        raise HTTPException(404, str(exc)) from None
    except use_cases.SessionEnded as exc:
        raise HTTPException(409, str(exc)) from None
    return answered(answer)


async def _progress(uow: UnitOfWork, driver: Driver, transaction_id: int, now: datetime) -> Progress:
    async with uow:
        tx = await use_cases.owned_transaction(uow.session, driver, transaction_id)
        return await driver_views.progress(uow, tx, now)


@router.get("/current")
async def current_session(driver: DriverDep, uow: UowDep, request: Request) -> ProgressOut:
    """The driver's running session (the newest, if several): 404 when none runs."""
    async with uow:
        transaction_id = await use_cases.current_transaction(uow.session, driver)
    if transaction_id is None:
        raise HTTPException(404, "No session is running")
    return await get_session(transaction_id, driver, uow, request)


@router.get("/{transaction_id}")
async def get_session(transaction_id: DbId, driver: DriverDep, uow: UowDep, request: Request) -> ProgressOut:
    """The session now: for apps that poll instead of streaming."""
    now = request.app.state.system.clock.now()
    try:
        return progress_out(await _progress(uow, driver, transaction_id, now), now)
    except TransactionNotFound as exc:
        raise HTTPException(404, str(exc)) from None


class NeedsIn(BaseModel):
    """When the driver leaves and how much energy the vehicle needs by then."""

    model_config = ConfigDict(extra="forbid")

    departure_at: AwareDatetime
    energy_wh: int = Field(gt=0, le=1_000_000)


class NeedsOut(NeedsIn):
    transaction_id: int
    source: str


@router.put("/{transaction_id}/charging-needs")
async def set_charging_needs(
    transaction_id: DbId,
    body: NeedsIn,
    driver: DriverDep,
    uow: UowDep,
    clock: ClockDep,
    publisher: PublisherDep,
) -> NeedsOut:
    """Charge in the cheapest hours that still deliver `energy_wh` before departure; the vehicle's
    own word (OCPP 2.0.1 NotifyEVChargingNeeds) replaces it when it sends one."""
    if body.departure_at <= clock.now():
        raise HTTPException(422, "departure_at must be in the future")
    try:
        async with uow:
            await use_cases.owned_transaction(uow.session, driver, transaction_id)
        need = charging_needs.Need(body.departure_at, body.energy_wh)
        row = await charging_needs.record(
            transaction_id, need, "app", uow=uow, clock=clock, publisher=publisher
        )
    except TransactionNotFound as exc:
        raise HTTPException(404, str(exc)) from None
    except charging_needs.NoSession as exc:
        raise HTTPException(409, str(exc)) from None
    return NeedsOut(
        transaction_id=transaction_id,
        departure_at=row.departure_at,
        energy_wh=row.energy_wh,
        source=row.source,
    )


async def snapshots(
    connection: HTTPConnection, driver: Driver, transaction_id: int
) -> AsyncGenerator[ProgressOut, None]:
    """The session's progress now, then after each of its events until it has ended."""
    hub: LiveHub = connection.app.state.system.live
    clock = connection.app.state.system.clock
    uow = connection.app.state.system.uow()
    with hub.watch(transaction_id) as queue:  # before the first read: no event slips between
        current = await _progress(uow, driver, transaction_id, clock.now())
        yield progress_out(current, clock.now())
        while current.state != TxState.ENDED:
            try:
                event = await asyncio.wait_for(queue.get(), REFRESH_S)
            except TimeoutError:
                event = None
            if event is None or isinstance(event, events.TransactionEnded):
                current = await _progress(uow, driver, transaction_id, clock.now())
            else:
                current = driver_views.advance(current, event)
            yield progress_out(current, clock.now())


async def _viewer(connection: HTTPConnection, token: str | None) -> Driver:
    """The driver an access token speaks for: NotAuthenticated or NotAllowed otherwise."""
    if not token:
        raise NotAuthenticated("Log in first: send the access token")
    system = connection.app.state.system
    identity = await accounts.authenticate(
        token, uow=AccountsUnitOfWork(system.sessions), clock=system.clock, config=system.auth
    )
    if identity.role not in DRIVER_ROLES:
        raise NotAllowed("Only driver accounts may do this")
    return await driver_of(identity.user_id, identity.tenant_id, system.uow())


AccessToken = Annotated[
    str | None, Query(description="The access token, for clients that cannot send headers (browsers)")
]


@router.websocket("/{transaction_id}/live")
async def live(websocket: WebSocket, transaction_id: DbId, access_token: AccessToken = None) -> None:
    """Progress snapshots as JSON text messages, the first at once; closed (1000) once the session
    has ended. Close codes 4401: not logged in as a driver, 4404: no such session of the driver."""
    await websocket.accept()  # a close code can only be sent on an accepted connection
    try:
        driver = await _viewer(websocket, access_token)
        stream = snapshots(websocket, driver, transaction_id)
        first = await anext(stream)
    except (NotAuthenticated, NotAllowed):
        await websocket.close(CLOSE_UNAUTHORISED, "Log in as a driver")
        return
    except TransactionNotFound:
        await websocket.close(CLOSE_NOT_FOUND, "No such session")
        return
    try:
        await websocket.send_text(first.model_dump_json())
        await _pump(websocket, stream)
    except WebSocketDisconnect:
        pass  # the client left while we were sending
    finally:
        await stream.aclose()


async def _pump(websocket: WebSocket, stream: AsyncGenerator[ProgressOut, None]) -> None:
    """Send snapshots until the stream ends or the client leaves, whichever comes first."""
    gone = asyncio.create_task(_until_closed(websocket))
    try:
        while True:
            step = asyncio.ensure_future(anext(stream))
            await asyncio.wait({step, gone}, return_when=asyncio.FIRST_COMPLETED)
            if not step.done():  # the client left: stop the stream where it waits
                step.cancel()
                await asyncio.wait({step})
                return
            try:
                snapshot = step.result()
            except StopAsyncIteration:
                await websocket.close(1000, "The session has ended")
                return
            await websocket.send_text(snapshot.model_dump_json())
    finally:
        gone.cancel()


async def _until_closed(websocket: WebSocket) -> None:
    try:
        while (await websocket.receive())["type"] != "websocket.disconnect":
            pass  # the client has nothing to say; whatever it sends is ignored
    except WebSocketDisconnect:
        return


@router.get("/{transaction_id}/events", response_class=StreamingResponse)
async def event_stream(
    transaction_id: DbId, request: Request, access_token: AccessToken = None
) -> StreamingResponse:
    """The same snapshots as server-sent events (``event: progress``), for EventSource; the
    token comes as ``Authorization: Bearer`` or, since EventSource cannot send headers, as
    ``access_token``. The stream ends once the session has ended."""
    scheme, _, bearer = request.headers.get("authorization", "").partition(" ")
    driver = await _viewer(request, access_token or (bearer.strip() if scheme.lower() == "bearer" else None))
    stream = snapshots(request, driver, transaction_id)
    try:
        first = await anext(stream)
    except TransactionNotFound as exc:
        raise HTTPException(404, str(exc)) from None
    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(_sse(first, stream), media_type="text/event-stream", headers=headers)


async def _sse(first: ProgressOut, rest: AsyncGenerator[ProgressOut, None]) -> AsyncIterator[str]:
    try:
        yield _event(first)
        async for snapshot in rest:
            yield _event(snapshot)
    finally:
        await rest.aclose()  # a client that left must give its queue back now, not at collection


def _event(snapshot: ProgressOut) -> str:
    return f"event: progress\ndata: {json.dumps(snapshot.model_dump(mode='json'))}\n\n"
