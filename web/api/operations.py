"""Typed operator commands: one endpoint per operation, the same for 1.6 and 2.0.1 stations.

Each is queued in the command log and answered 202 with the command; ``GET
/api/v1/operator/commands/{id}?wait=`` gives the outcome. An operation the station's version
cannot express is refused with 422 before anything is queued.
"""

from __future__ import annotations

from typing import Annotated, Literal, Self

from fastapi import APIRouter, Depends, HTTPException, Path, Request, status
from pydantic import AwareDatetime, BaseModel, Field, JsonValue, StringConstraints, model_validator

from chargepoints import commands, queries
from chargepoints.errors import InvalidCommand
from chargepoints.model import IdToken, TxState
from chargepoints.operations import (
    AttributeType,
    ChangeAvailability,
    ChangeConfiguration,
    ClearCache,
    ClearDisplayMessage,
    DataTransfer,
    DisplayMessage,
    GetBaseReport,
    GetConfiguration,
    GetDisplayMessages,
    GetVariables,
    MessageFormat,
    MessagePriority,
    MessageState,
    Operation,
    OperationalStatus,
    RemoteStart,
    RemoteStop,
    ReportBase,
    Reset,
    ResetKind,
    SetDisplayMessage,
    SetVariables,
    TriggerKind,
    TriggerMessage,
    UnlockConnector,
    VariableRef,
    VariableValue,
    new_request_id,
)
from web.deps import ClockDep, CommandsDep, GatewayDep, SessionDep, UowDep, actor

router = APIRouter(prefix="/api/v1/operator/stations/{station_id}", tags=["operations"])
StationId = Annotated[str, Path(max_length=48)]
Name50 = Annotated[str, StringConstraints(min_length=1, max_length=50)]
IdTokenType = Literal[
    "Central", "eMAID", "ISO14443", "ISO15693", "KeyCode", "Local", "MacAddress", "NoAuthorization"
]


async def operate(
    station_id: str,
    operation: Operation,
    request: Request,
    *,
    session: SessionDep,
    uow: UowDep,
    clock: ClockDep,
    gateway: GatewayDep,
    runner: CommandsDep,
) -> queries.CommandPublic:
    """Translate for the station's version, queue, start, and return the queued command."""
    version = await queries.station_version(session, station_id)
    await session.commit()  # release the connection: SQLite has one, and queueing needs it
    if version is None:
        raise HTTPException(404, f"Station {station_id} not found")
    if version == "":
        raise HTTPException(409, f"Station {station_id} has not booted yet, so its OCPP version is unknown")
    try:
        action, payload = gateway.translate(version, operation)
        gateway.check(station_id, action, payload)
    except InvalidCommand as exc:
        raise HTTPException(422, str(exc)) from None
    command_id = await commands.queue_command(
        station_id, action, payload, requester=actor(request), uow=uow, clock=clock
    )
    runner.start(command_id)
    queued = await queries.command(session, command_id)
    assert queued is not None
    return queued


class Operate:
    """``operate`` with its dependencies bound, so an endpoint only builds the operation."""

    def __init__(
        self,
        request: Request,
        session: SessionDep,
        uow: UowDep,
        clock: ClockDep,
        gateway: GatewayDep,
        runner: CommandsDep,
    ) -> None:
        self.request, self.session, self.uow = request, session, uow
        self.clock, self.gateway, self.runner = clock, gateway, runner

    async def __call__(self, station_id: str, operation: Operation) -> queries.CommandPublic:
        return await operate(
            station_id,
            operation,
            self.request,
            session=self.session,
            uow=self.uow,
            clock=self.clock,
            gateway=self.gateway,
            runner=self.runner,
        )


OperateDep = Annotated[Operate, Depends()]


class EvseTargetIn(BaseModel):
    evse_id: int | None = Field(default=None, ge=1, description="None: the whole station")
    connector_id: int | None = Field(default=None, ge=1, description="1.6 stations have connector 1 only")

    @model_validator(mode="after")
    def _connector_needs_evse(self) -> Self:
        if self.connector_id is not None and self.evse_id is None:
            raise ValueError("connector_id needs an evse_id")
        return self


class ResetIn(BaseModel):
    kind: ResetKind = Field(default=ResetKind.ON_IDLE, description="OnIdle waits for sessions to end")
    evse_id: int | None = Field(default=None, ge=1, description="2.0.1 only: reset one EVSE")


class RemoteStartIn(BaseModel):
    id_token: str = Field(min_length=1, max_length=36, description="1.6 stations take 20 characters")
    id_token_type: IdTokenType = Field(default="ISO14443", description="2.0.1 only")
    evse_id: int | None = Field(default=None, ge=1, description="None: the station chooses")


class RemoteStopIn(BaseModel):
    transaction_id: int = Field(ge=1, description="Our id, as listed by /api/v1/operator/transactions")


class UnlockConnectorIn(BaseModel):
    evse_id: int = Field(ge=1)
    connector_id: int = Field(default=1, ge=1, description="1.6 stations have connector 1 only")


class ChangeAvailabilityIn(EvseTargetIn):
    status: OperationalStatus


class VariableIn(EvseTargetIn):
    component: Name50
    variable: Name50
    component_instance: Name50 | None = None
    variable_instance: Name50 | None = None
    attribute_type: AttributeType | None = Field(default=None, description="None: Actual")
    evse_id: int | None = Field(default=None, ge=1, description="The component's EVSE, if it has one")

    def ref(self) -> VariableRef:
        return VariableRef(
            self.component,
            self.variable,
            self.component_instance,
            self.variable_instance,
            self.evse_id,
            self.connector_id,
            self.attribute_type,
        )


class VariableValueIn(VariableIn):
    value: str = Field(max_length=1000)


class GetConfigurationIn(BaseModel):
    keys: list[Name50] = Field(default_factory=list, max_length=100, description="None: all keys")


class ChangeConfigurationIn(BaseModel):
    """One setting for 1.6 (``key``) and 2.0.1 (``variable``) stations; give both for a mixed fleet."""

    value: str = Field(max_length=500, description="1.6 stations take at most 500 characters")
    key: Name50 | None = Field(default=None, description="1.6 configuration key")
    variable: VariableIn | None = Field(default=None, description="2.0.1 component and variable")

    @model_validator(mode="after")
    def _names_a_setting(self) -> Self:
        if self.key is None and self.variable is None:
            raise ValueError("give a key (1.6), a variable (2.0.1) or both")
        return self

    def operation(self) -> ChangeConfiguration:
        return ChangeConfiguration(
            self.value, self.key, None if self.variable is None else self.variable.ref()
        )


class GetVariablesIn(BaseModel):
    variables: list[VariableIn] = Field(min_length=1, max_length=100)


class SetVariablesIn(BaseModel):
    values: list[VariableValueIn] = Field(min_length=1, max_length=100)


class BaseReportIn(BaseModel):
    report_base: ReportBase = ReportBase.FULL_INVENTORY


class TriggerMessageIn(EvseTargetIn):
    message: TriggerKind | Literal["DiagnosticsStatusNotification"] = Field(
        description="DiagnosticsStatusNotification (1.6's name) is LogStatusNotification"
    )

    def operation(self) -> TriggerMessage:
        kind = (
            TriggerKind.LOG_STATUS_NOTIFICATION
            if self.message == "DiagnosticsStatusNotification"
            else self.message
        )
        return TriggerMessage(TriggerKind(kind), self.evse_id, self.connector_id)


class DataTransferIn(BaseModel):
    vendor_id: str = Field(min_length=1, max_length=255)
    message_id: Name50 | None = None
    data: JsonValue = Field(default=None, description="1.6 stations get anything but a string as JSON text")


class DisplayMessageIn(BaseModel):
    id: int = Field(ge=0)
    content: str = Field(min_length=1, max_length=512)
    priority: MessagePriority = MessagePriority.NORMAL_CYCLE
    format: MessageFormat = MessageFormat.UTF8
    language: str | None = Field(default=None, max_length=8, examples=["en"])
    state: MessageState | None = Field(default=None, description="Show only in this station state")
    starts_at: AwareDatetime | None = None
    ends_at: AwareDatetime | None = None


class GetDisplayMessagesIn(BaseModel):
    ids: list[int] = Field(default_factory=list, max_length=100, description="None: all messages")
    priority: MessagePriority | None = None
    state: MessageState | None = None


class ClearDisplayMessageIn(BaseModel):
    id: int = Field(ge=0)


@router.post("/reset", status_code=status.HTTP_202_ACCEPTED)
async def reset(station_id: StationId, body: ResetIn, operate: OperateDep) -> queries.CommandPublic:
    return await operate(station_id, Reset(body.kind, body.evse_id))


@router.post("/clear-cache", status_code=status.HTTP_202_ACCEPTED)
async def clear_cache(station_id: StationId, operate: OperateDep) -> queries.CommandPublic:
    return await operate(station_id, ClearCache())


@router.post("/remote-start", status_code=status.HTTP_202_ACCEPTED)
async def remote_start(
    station_id: StationId, body: RemoteStartIn, operate: OperateDep
) -> queries.CommandPublic:
    """1.6 RemoteStartTransaction / 2.0.1 RequestStartTransaction; the command's payload shows the
    remoteStartId that the 2.0.1 transaction will carry."""
    token = IdToken(body.id_token, body.id_token_type)
    return await operate(station_id, RemoteStart(token, new_request_id(), body.evse_id))


@router.post("/remote-stop", status_code=status.HTTP_202_ACCEPTED)
async def remote_stop(
    station_id: StationId, body: RemoteStopIn, session: SessionDep, operate: OperateDep
) -> queries.CommandPublic:
    """Stop one of the station's transactions: 404 if it has no such one, 409 if it has ended."""
    found = await queries.transaction(session, body.transaction_id)
    if found is None or found.station_id != station_id:
        raise HTTPException(404, f"Station {station_id} has no transaction {body.transaction_id}")
    if found.state == TxState.ENDED:
        raise HTTPException(409, f"Transaction {body.transaction_id} has already ended")
    return await operate(station_id, RemoteStop(found.id, found.station_tx_id))


@router.post("/unlock-connector", status_code=status.HTTP_202_ACCEPTED)
async def unlock_connector(
    station_id: StationId, body: UnlockConnectorIn, operate: OperateDep
) -> queries.CommandPublic:
    return await operate(station_id, UnlockConnector(body.evse_id, body.connector_id))


@router.post("/change-availability", status_code=status.HTTP_202_ACCEPTED)
async def change_availability(
    station_id: StationId, body: ChangeAvailabilityIn, operate: OperateDep
) -> queries.CommandPublic:
    return await operate(station_id, ChangeAvailability(body.status, body.evse_id, body.connector_id))


@router.post("/get-configuration", status_code=status.HTTP_202_ACCEPTED)
async def get_configuration(
    station_id: StationId, body: GetConfigurationIn, operate: OperateDep
) -> queries.CommandPublic:
    """1.6 only; for 2.0.1 stations use get-variables or base-report."""
    return await operate(station_id, GetConfiguration(tuple(body.keys)))


@router.post("/change-configuration", status_code=status.HTTP_202_ACCEPTED)
async def change_configuration(
    station_id: StationId, body: ChangeConfigurationIn, operate: OperateDep
) -> queries.CommandPublic:
    """1.6 ChangeConfiguration of ``key`` / 2.0.1 SetVariables of ``variable``."""
    return await operate(station_id, body.operation())


@router.post("/get-variables", status_code=status.HTTP_202_ACCEPTED)
async def get_variables(
    station_id: StationId, body: GetVariablesIn, operate: OperateDep
) -> queries.CommandPublic:
    """2.0.1 only; for 1.6 stations use get-configuration."""
    return await operate(station_id, GetVariables(tuple(v.ref() for v in body.variables)))


@router.post("/set-variables", status_code=status.HTTP_202_ACCEPTED)
async def set_variables(
    station_id: StationId, body: SetVariablesIn, operate: OperateDep
) -> queries.CommandPublic:
    """2.0.1 only; for 1.6 stations use change-configuration."""
    values = tuple(VariableValue(v.ref(), v.value) for v in body.values)
    return await operate(station_id, SetVariables(values))


@router.post("/base-report", status_code=status.HTTP_202_ACCEPTED)
async def base_report(
    station_id: StationId, body: BaseReportIn, operate: OperateDep
) -> queries.CommandPublic:
    """2.0.1 GetBaseReport (the report arrives as NotifyReport); 1.6 stations, which have no
    device model, are asked for their whole configuration instead."""
    return await operate(station_id, GetBaseReport(new_request_id(), body.report_base))


@router.post("/trigger-message", status_code=status.HTTP_202_ACCEPTED)
async def trigger_message(
    station_id: StationId, body: TriggerMessageIn, operate: OperateDep
) -> queries.CommandPublic:
    return await operate(station_id, body.operation())


@router.post("/data-transfer", status_code=status.HTTP_202_ACCEPTED)
async def data_transfer(
    station_id: StationId, body: DataTransferIn, operate: OperateDep
) -> queries.CommandPublic:
    return await operate(station_id, DataTransfer(body.vendor_id, body.message_id, body.data))


# Display messages are 2.0.1 only. 1.6 stations get a 422 rather than a DataTransfer: 1.6 has no
# standard for it, each vendor's DataTransfer differs, and data-transfer already lets an operator
# send whatever their vendor documents.


@router.post("/set-display-message", status_code=status.HTTP_202_ACCEPTED)
async def set_display_message(
    station_id: StationId, body: DisplayMessageIn, operate: OperateDep
) -> queries.CommandPublic:
    """2.0.1 only (1.6 has no display messages: 422)."""
    message = DisplayMessage(**body.model_dump())
    return await operate(station_id, SetDisplayMessage(message))


@router.post("/get-display-messages", status_code=status.HTTP_202_ACCEPTED)
async def get_display_messages(
    station_id: StationId, body: GetDisplayMessagesIn, operate: OperateDep
) -> queries.CommandPublic:
    """2.0.1 only; the messages arrive as NotifyDisplayMessages."""
    operation = GetDisplayMessages(new_request_id(), tuple(body.ids), body.priority, body.state)
    return await operate(station_id, operation)


@router.post("/clear-display-message", status_code=status.HTTP_202_ACCEPTED)
async def clear_display_message(
    station_id: StationId, body: ClearDisplayMessageIn, operate: OperateDep
) -> queries.CommandPublic:
    """2.0.1 only."""
    return await operate(station_id, ClearDisplayMessage(body.id))
