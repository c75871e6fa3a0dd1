"""The tenant's library of charging profiles: named definitions an operator applies to stations.

A template holds a profile in the operator API's words without its EVSE or transaction, which
are chosen when it is applied. Changes are audited; applying one goes through the station's
ordinary set-profile path, so what the station took is recorded there.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from chargepoints.errors import ChargingError
from chargepoints.load_tables import ProfileTemplateRow
from chargepoints.ports import Clock
from chargepoints.repository import UnitOfWork
from csms import audit
from csms.accounts.tables import TenantRow


class TemplateNotFound(ChargingError):
    pass


class TemplateNameTaken(ChargingError):
    pass


async def add(
    tenant_id: int, name: str, definition: dict[str, Any], actor: str, *, uow: UnitOfWork, clock: Clock
) -> ProfileTemplateRow:
    now = clock.now()
    async with uow:
        if await uow.session.get(TenantRow, tenant_id) is None:
            raise TemplateNotFound(f"Tenant {tenant_id} not found")
        row = ProfileTemplateRow(
            tenant_id=tenant_id, name=name, definition=definition, created_at=now, updated_at=now
        )
        uow.session.add(row)
        try:
            await uow.session.flush()
        except IntegrityError:
            raise TemplateNameTaken(f"The library already has a profile named {name!r}") from None
        _audit(uow.session, actor, "profile_template.add", row, clock)
        await uow.commit()
    return row


async def change(
    template_id: int, name: str, definition: dict[str, Any], actor: str, *, uow: UnitOfWork, clock: Clock
) -> ProfileTemplateRow:
    async with uow:
        row = await _get(uow.session, template_id)
        row.name, row.definition, row.updated_at = name, definition, clock.now()
        try:
            await uow.session.flush()
        except IntegrityError:
            raise TemplateNameTaken(f"The library already has a profile named {name!r}") from None
        _audit(uow.session, actor, "profile_template.change", row, clock)
        await uow.commit()
    return row


async def remove(template_id: int, actor: str, *, uow: UnitOfWork, clock: Clock) -> None:
    async with uow:
        row = await _get(uow.session, template_id)
        _audit(uow.session, actor, "profile_template.remove", row, clock)
        await uow.session.delete(row)
        await uow.commit()


async def templates(session: AsyncSession, tenant_id: int | None) -> list[ProfileTemplateRow]:
    query = select(ProfileTemplateRow).order_by(
        col(ProfileTemplateRow.tenant_id), col(ProfileTemplateRow.name)
    )
    if tenant_id is not None:
        query = query.where(col(ProfileTemplateRow.tenant_id) == tenant_id)
    return list((await session.execute(query)).scalars())


async def template(session: AsyncSession, template_id: int) -> ProfileTemplateRow:
    return await _get(session, template_id)


async def _get(session: AsyncSession, template_id: int) -> ProfileTemplateRow:
    row = await session.get(ProfileTemplateRow, template_id)
    if row is None:
        raise TemplateNotFound(f"Profile template {template_id} not found")
    return row


def _audit(session: AsyncSession, actor: str, action: str, row: ProfileTemplateRow, clock: Clock) -> None:
    details = {"tenant_id": row.tenant_id, "name": row.name, "definition": row.definition}
    audit.record(
        session,
        actor=actor,
        action=action,
        subject=f"profile_template:{row.id}",
        details=details,
        at=clock.now(),
    )
