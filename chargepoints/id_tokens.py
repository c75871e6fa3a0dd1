"""Id tokens as operators manage them: the cards and app tokens of a tenant's drivers, blocked and
unblocked with an audit trail.

A token belongs to the tenant of the driver it is linked to; a token linked to nobody belongs to
no tenant, so only administrators (whose scope is None) see it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, func, or_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select
from sqlmodel.sql.expression import Select

from chargepoints.errors import TokenNotFound
from chargepoints.model import TokenStatus
from chargepoints.ports import Clock
from chargepoints.repository import UnitOfWork
from chargepoints.tables import IdTokenRow
from csms import audit
from csms.accounts.tables import UserRow


@dataclass(frozen=True, slots=True)
class TokenFilter:
    tenant_id: int | None = None
    status: str | None = None
    search: str = ""  # part of the token or of its driver's name or phone


@dataclass(frozen=True, slots=True)
class TokenItem:
    token: IdTokenRow
    owner: UserRow | None


async def tokens(
    session: AsyncSession, where: TokenFilter, *, limit: int, offset: int
) -> tuple[list[TokenItem], int]:
    """A page of tokens with their drivers, by token value."""
    conditions = _conditions(where)
    counted = select(func.count()).select_from(IdTokenRow).outerjoin(UserRow, _owner()).where(*conditions)
    total = await session.scalar(counted)
    query = (
        select(IdTokenRow, UserRow)
        .outerjoin(UserRow, _owner())
        .where(*conditions)
        .order_by(col(IdTokenRow.token))
        .limit(limit)
        .offset(offset)
    )
    rows = (await session.execute(query)).all()
    return [TokenItem(token, owner) for token, owner in rows], int(total or 0)


async def token_item(session: AsyncSession, token: str, *, tenant_id: int | None) -> TokenItem | None:
    """One token with its driver, if it is in the tenant."""
    found = (await session.execute(_one(token, tenant_id))).first()
    return None if found is None else TokenItem(found[0], found[1])


async def set_status(
    token: str, status: TokenStatus, actor: str, *, tenant_id: int | None, uow: UnitOfWork, clock: Clock
) -> IdTokenRow:
    """Block or unblock a token (any status an operator may set); the next authorisation at a
    station sees it. Raises TokenNotFound for a token outside the tenant."""
    async with uow:
        found = (await uow.session.execute(_one(token, tenant_id))).first()
        if found is None:
            raise TokenNotFound(token)
        row = found[0]
        before, now = row.status, clock.now()
        if before != status:
            row.status = status
            audit.record(
                uow.session,
                actor=actor,
                action="id_token.status",
                subject=f"id_token:{token}",
                details={"from": before, "to": status.value},
                at=now,
            )
            await uow.commit()
    return row


def _one(token: str, tenant_id: int | None) -> Select[IdTokenRow, UserRow]:
    query = select(IdTokenRow, UserRow).outerjoin(UserRow, _owner()).where(col(IdTokenRow.token) == token)
    if tenant_id is not None:
        query = query.where(col(UserRow.tenant_id) == tenant_id)
    return query.execution_options(populate_existing=True)


def _owner() -> ColumnElement[bool]:
    return col(UserRow.id) == col(IdTokenRow.user_id)


def _conditions(where: TokenFilter) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if where.tenant_id is not None:
        conditions.append(col(UserRow.tenant_id) == where.tenant_id)
    if where.status is not None:
        conditions.append(col(IdTokenRow.status) == where.status)
    if where.search:
        columns = (IdTokenRow.token, UserRow.display_name, UserRow.phone)
        conditions.append(or_(*(contains(column, where.search) for column in columns)))
    return conditions


def contains(column: Any, text: str) -> ColumnElement[bool]:
    """Case-insensitive substring match; the user's % and _ are matched literally."""
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return func.lower(col(column)).like(f"%{escaped}%", escape="\\")
