"""Read models of a tenant's people for its operators: drivers with their id tokens and how much
they charge, and the staff (administrators, operators, investors). A tenant id of None means
every tenant (an administrator's view)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import ColumnElement, func, or_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from chargepoints.id_tokens import contains
from chargepoints.tables import IdTokenRow, TransactionRow
from csms.accounts.model import DRIVER_ROLES, Role
from csms.accounts.tables import UserRow

STAFF_ROLES = frozenset({Role.ADMIN, Role.OPERATOR, Role.INVESTOR})
RECENT_SESSIONS = 20


@dataclass(frozen=True, slots=True)
class DriverItem:
    user: UserRow
    tokens: int
    sessions: int


@dataclass(frozen=True, slots=True)
class DriverDetail:
    user: UserRow
    tokens: list[IdTokenRow]
    sessions: int
    recent: list[TransactionRow]  # newest first


async def drivers(
    session: AsyncSession, *, tenant_id: int | None, search: str, limit: int, offset: int
) -> tuple[list[DriverItem], int]:
    """A page of drivers, newest first, matching ``search`` in their name, phone or e-mail."""
    conditions = _people(DRIVER_ROLES, tenant_id, search)
    total = await session.scalar(select(func.count()).select_from(UserRow).where(*conditions))
    query = select(UserRow).where(*conditions).order_by(col(UserRow.id).desc()).limit(limit).offset(offset)
    users = list((await session.execute(query)).scalars())
    ids = [user.id for user in users if user.id is not None]
    tokens = await _counts(session, ids, sessions=False)
    sessions = await _counts(session, ids, sessions=True)
    items = [DriverItem(u, tokens.get(u.id or 0, 0), sessions.get(u.id or 0, 0)) for u in users]
    return items, int(total or 0)


async def driver(session: AsyncSession, user_id: int, *, tenant_id: int | None) -> DriverDetail | None:
    """The driver with their tokens and latest sessions; None outside the tenant."""
    query = select(UserRow).where(col(UserRow.id) == user_id, *_people(DRIVER_ROLES, tenant_id, ""))
    user = (await session.execute(query)).scalars().first()
    if user is None:
        return None
    token_rows = await session.execute(
        select(IdTokenRow).where(col(IdTokenRow.user_id) == user_id).order_by(col(IdTokenRow.id))
    )
    tokens = list(token_rows.scalars())
    theirs = col(TransactionRow.id_token).in_([t.token for t in tokens])
    count = await session.scalar(select(func.count()).select_from(TransactionRow).where(theirs))
    recent = await session.execute(
        select(TransactionRow).where(theirs).order_by(col(TransactionRow.id).desc()).limit(RECENT_SESSIONS)
    )
    return DriverDetail(user, tokens, int(count or 0), list(recent.scalars()))


async def staff(
    session: AsyncSession, *, tenant_id: int | None, limit: int, offset: int
) -> tuple[list[UserRow], int]:
    """Administrators, operators and investors, by role then id."""
    conditions = _people(STAFF_ROLES, tenant_id, "")
    total = await session.scalar(select(func.count()).select_from(UserRow).where(*conditions))
    query = (
        select(UserRow)
        .where(*conditions)
        .order_by(col(UserRow.role), col(UserRow.id))
        .limit(limit)
        .offset(offset)
    )
    return list((await session.execute(query)).scalars()), int(total or 0)


def _people(roles: Collection[str], tenant_id: int | None, search: str) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [col(UserRow.role).in_(sorted(roles))]
    if tenant_id is not None:
        conditions.append(col(UserRow.tenant_id) == tenant_id)
    if search:
        columns = (UserRow.display_name, UserRow.phone, UserRow.email)
        conditions.append(or_(*(contains(column, search) for column in columns)))
    return conditions


async def _counts(session: AsyncSession, user_ids: list[int], *, sessions: bool) -> dict[int, int]:
    """Per user: how many id tokens they have, or how many sessions those tokens started."""
    owner = col(IdTokenRow.user_id)
    query = select(owner, func.count(col(TransactionRow.id) if sessions else col(IdTokenRow.id)))
    if sessions:
        query = query.join(TransactionRow, col(TransactionRow.id_token) == col(IdTokenRow.token))
    grouped = query.where(owner.in_(user_ids)).group_by(owner)
    return {user_id: n for user_id, n in (await session.execute(grouped)).all() if user_id is not None}
