"""Driver API for orders: the driver's sessions and what they cost, itemised from their charge
detail records, and a printable HTML receipt. Amounts travel as decimal strings, never floats."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, HTTPException
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from pydantic import BaseModel, Field

from chargepoints import driver_views
from chargepoints.driver_views import Order, OrderStatus
from chargepoints.errors import TransactionNotFound
from chargepoints.tables import CdrRow
from csms.accounts.tables import TenantRow
from tariffs.currency import billed
from tariffs.model import LineKind
from web.api.driver_sessions import DriverDep
from web.api.operator import Page
from web.deps import DbId, PageDep, UowDep

router = APIRouter(prefix="/api/v1/me/orders", tags=["orders"])
templates = Environment(
    loader=PackageLoader("web", "templates"), autoescape=select_autoescape(), undefined=StrictUndefined
)


class OrderLineOut(BaseModel):
    kind: str = Field(examples=["energy"])
    band: str | None = Field(examples=["peak"])
    quantity: str = Field(description="kWh, minutes or sessions")
    unit_price: str
    amount: str = Field(description="Exact, before the one rounding of the subtotal")


class OrderOut(BaseModel):
    transaction_id: int
    status: OrderStatus
    station_id: str
    evse_id: int | None
    site_name: str | None
    started_at: datetime | None
    ended_at: datetime | None
    energy_wh: int | None = Field(description="Billed energy once the CDR is out, metered before")
    total: Decimal | None = Field(description="The billed total, once the session has its CDR")
    currency: str | None


class OrderDetailOut(OrderOut):
    site_address: str | None
    time_zone: str = Field(description="The site's zone, in which tariff bands are read")
    stop_reason: str | None
    cdr_id: int | None
    charging_s: int | None
    idle_s: int | None
    total_s: int | None
    lines: list[OrderLineOut]
    subtotal: Decimal | None
    tax: Decimal | None


def _summary(order: Order) -> dict[str, object]:
    tx, cdr, site = order.transaction, order.cdr, order.site
    return {
        "transaction_id": tx.id,
        "status": order.status,
        "station_id": tx.station_id,
        "evse_id": tx.evse_id,
        "site_name": site.name if site else None,
        "started_at": tx.started_at,
        "ended_at": tx.ended_at,
        "energy_wh": cdr.energy_wh if cdr else tx.energy_wh,
        "total": billed(cdr.total, cdr.currency) if cdr else None,
        "currency": cdr.currency if cdr else None,
    }


def _detail(order: Order) -> OrderDetailOut:
    tx, cdr, site = order.transaction, order.cdr, order.site
    return OrderDetailOut.model_validate(
        {
            **_summary(order),
            "site_address": site.address if site else None,
            "time_zone": site.time_zone if site else "UTC",
            "stop_reason": tx.stop_reason,
            "cdr_id": cdr.id if cdr else None,
            "charging_s": cdr.charging_s if cdr else None,
            "idle_s": cdr.idle_s if cdr else None,
            "total_s": cdr.total_s if cdr else None,
            "lines": cdr.lines if cdr else [],
            "subtotal": billed(cdr.subtotal, cdr.currency) if cdr else None,
            "tax": billed(cdr.tax, cdr.currency) if cdr else None,
        }
    )


@router.get("", response_model=Page[OrderOut])
async def list_orders(driver: DriverDep, uow: UowDep, page: PageDep) -> Page[OrderOut]:
    """The driver's sessions, newest first, with their billed totals."""
    async with uow:
        found, total = await driver_views.orders(uow.session, driver, limit=page.limit, offset=page.offset)
    items = [OrderOut.model_validate(_summary(order)) for order in found]
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


async def _order(driver: DriverDep, uow: UowDep, transaction_id: int) -> Order:
    try:
        async with uow:
            return await driver_views.order(uow.session, driver, transaction_id)
    except TransactionNotFound as exc:
        raise HTTPException(404, str(exc)) from None


@router.get("/{transaction_id}")
async def get_order(transaction_id: DbId, driver: DriverDep, uow: UowDep) -> OrderDetailOut:
    """One session itemised: energy, durations, the CDR's lines per tariff band, tax and total."""
    return _detail(await _order(driver, uow, transaction_id))


@dataclass(frozen=True, slots=True)
class ReceiptLine:
    item: str
    quantity: str
    unit_price: str
    amount: str


@dataclass(frozen=True, slots=True)
class Receipt:
    """What ``receipt.html`` shows, formatted: times in the site's zone, money to the minor unit."""

    number: str
    operator: str
    issued: str
    site: str
    address: str | None
    station_id: str
    evse_id: int | None
    started: str
    ended: str
    time_zone: str
    energy_kwh: str
    duration: str
    idle: str | None
    lines: list[ReceiptLine]
    subtotal: str
    tax: str
    total: str
    currency: str


_ITEMS = {
    LineKind.ENERGY: ("Energy", "kWh"),
    LineKind.SERVICE: ("Service fee", "kWh"),
    LineKind.TIME: ("Charging time", "min"),
    LineKind.IDLE: ("Idle fee", "min"),
    LineKind.SESSION: ("Session fee", ""),
    LineKind.MINIMUM: ("Minimum price", ""),
    LineKind.MAXIMUM: ("Maximum price", ""),
}


def _line(line: dict[str, str | None], currency: str) -> ReceiptLine:
    item, unit = _ITEMS[LineKind(line["kind"] or "")]
    quantity = Decimal(line["quantity"] or 0).quantize(Decimal("0.001"), ROUND_HALF_UP).normalize()
    return ReceiptLine(
        f"{item} ({line['band']})" if line["band"] else item,
        f"{quantity:f} {unit}".strip(),
        line["unit_price"] or "",
        f"{billed(Decimal(line['amount'] or 0), currency):f}",
    )


def _span(seconds: int) -> str:
    hours, minutes = divmod(round(seconds / 60), 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"


def receipt(order: Order, cdr: CdrRow, operator: str) -> Receipt:
    zone = ZoneInfo(order.site.time_zone if order.site else "UTC")
    currency = cdr.currency or ""

    def local(at: datetime) -> str:
        return at.astimezone(zone).strftime("%Y-%m-%d %H:%M")

    return Receipt(
        number=f"{cdr.id:08d}",
        operator=operator,
        issued=local(cdr.created_at),
        site=order.site.name if order.site else cdr.station_id,
        address=order.site.address if order.site else None,
        station_id=cdr.station_id,
        evse_id=cdr.evse_id,
        started=local(cdr.started_at),
        ended=local(cdr.ended_at),
        time_zone=zone.key,
        energy_kwh=f"{Decimal(cdr.energy_wh) / 1000:.3f}",
        duration=_span(cdr.total_s),
        idle=_span(cdr.idle_s) if cdr.idle_s >= timedelta(minutes=1).total_seconds() else None,
        lines=[_line(line, currency) for line in cdr.lines],
        subtotal=f"{billed(cdr.subtotal, currency):f}",
        tax=f"{billed(cdr.tax, currency):f}",
        total=f"{billed(cdr.total, currency):f}",
        currency=currency,
    )


@router.get("/{transaction_id}/receipt", response_class=HTMLResponse)
async def get_receipt(transaction_id: DbId, driver: DriverDep, uow: UowDep) -> HTMLResponse:
    """A printable receipt: 409 until the session is billed."""
    order = await _order(driver, uow, transaction_id)
    if order.cdr is None:
        raise HTTPException(409, f"Session {transaction_id} has not been billed yet ({order.status})")
    async with uow:
        tenant = await uow.session.get(TenantRow, driver.tenant_id)
    operator = tenant.name if tenant else ""
    page = templates.get_template("receipt.html").render(receipt=receipt(order, order.cdr, operator))
    return HTMLResponse(page)
