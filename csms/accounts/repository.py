"""Persistence of the accounts domain, and the unit of work its use cases commit through."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from types import TracebackType
from typing import Self

from sqlalchemy import func, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col, select

from chargepoints.tables import IdTokenRow, SiteRow, StationRow
from csms.accounts.tables import (
    AuthSessionRow,
    FavoriteRow,
    SmsCodeRow,
    SpentRefreshTokenRow,
    TenantRow,
    UserRow,
    VehicleRow,
)


class AccountsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, row: object) -> None:
        self.session.add(row)

    async def flush(self) -> None:
        await self.session.flush()

    async def delete(self, row: object) -> None:
        await self.session.delete(row)

    async def tenant(self, tenant_id: int) -> TenantRow | None:
        return await self.session.get(TenantRow, tenant_id)

    async def user(self, user_id: int) -> UserRow | None:
        return await self.session.get(UserRow, user_id)

    async def user_by_phone(self, tenant_id: int, phone: str) -> UserRow | None:
        query = select(UserRow).where(UserRow.tenant_id == tenant_id, UserRow.phone == phone)
        return (await self.session.execute(query)).scalars().first()

    async def user_by_invitation(self, code: str) -> UserRow | None:
        query = select(UserRow).where(UserRow.invitation_code == code)
        return (await self.session.execute(query)).scalars().first()

    async def auth_session(self, session_id: int) -> AuthSessionRow | None:
        return await self.session.get(AuthSessionRow, session_id)

    async def session_by_refresh(self, refresh_hash: str) -> AuthSessionRow | None:
        query = select(AuthSessionRow).where(AuthSessionRow.refresh_hash == refresh_hash)
        return (await self.session.execute(query)).scalars().first()

    async def spent_refresh(self, token_hash: str) -> SpentRefreshTokenRow | None:
        return await self.session.get(SpentRefreshTokenRow, token_hash)

    async def session_and_user(self, session_id: int) -> tuple[AuthSessionRow, UserRow] | None:
        query = (
            select(AuthSessionRow, UserRow)
            .join(UserRow, col(UserRow.id) == col(AuthSessionRow.user_id))
            .where(AuthSessionRow.id == session_id)
        )
        row = (await self.session.execute(query)).first()
        return None if row is None else (row[0], row[1])

    async def rotate_refresh(
        self, session_id: int, old_hash: str, new_hash: str, expires_at: datetime, now: datetime
    ) -> bool:
        """Swap the session's refresh token if ``old_hash`` is still the current one. Conditional,
        so of two requests racing with one token exactly one wins (the other is a reuse)."""
        result = await self.session.execute(
            update(AuthSessionRow)
            .where(
                col(AuthSessionRow.id) == session_id,
                col(AuthSessionRow.refresh_hash) == old_hash,
                col(AuthSessionRow.revoked_at).is_(None),
            )
            .values(refresh_hash=new_hash, expires_at=expires_at, last_used_at=now)
        )
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]

    async def revoke_session(self, session_id: int, now: datetime) -> None:
        condition = (col(AuthSessionRow.id) == session_id) & col(AuthSessionRow.revoked_at).is_(None)
        await self.session.execute(update(AuthSessionRow).where(condition).values(revoked_at=now))

    async def revoke_sessions(self, user_id: int, now: datetime) -> None:
        condition = (col(AuthSessionRow.user_id) == user_id) & col(AuthSessionRow.revoked_at).is_(None)
        await self.session.execute(update(AuthSessionRow).where(condition).values(revoked_at=now))

    async def codes_sent_since(self, tenant_id: int, phone: str, since: datetime) -> list[datetime]:
        """When codes went to this phone (any purpose), newest first: what rate limits count."""
        query = (
            select(SmsCodeRow.created_at)
            .where(SmsCodeRow.tenant_id == tenant_id, SmsCodeRow.phone == phone)
            .where(col(SmsCodeRow.created_at) >= since)
            .order_by(col(SmsCodeRow.created_at).desc())
        )
        return list((await self.session.execute(query)).scalars())

    async def latest_code(self, tenant_id: int, phone: str, purpose: str) -> SmsCodeRow | None:
        query = (
            select(SmsCodeRow)
            .where(
                SmsCodeRow.tenant_id == tenant_id, SmsCodeRow.phone == phone, SmsCodeRow.purpose == purpose
            )
            .order_by(col(SmsCodeRow.created_at).desc(), col(SmsCodeRow.id).desc())
            .limit(1)
        )
        return (await self.session.execute(query)).scalars().first()

    async def vehicles(self, user_id: int, *, limit: int, offset: int) -> tuple[Sequence[VehicleRow], int]:
        query = select(VehicleRow).where(VehicleRow.user_id == user_id)
        total = await self.session.scalar(select(func.count()).select_from(query.subquery())) or 0
        rows = await self.session.execute(query.order_by(col(VehicleRow.id)).limit(limit).offset(offset))
        return rows.scalars().all(), total

    async def vehicle(self, user_id: int, vehicle_id: int) -> VehicleRow | None:
        row = await self.session.get(VehicleRow, vehicle_id)
        return row if row is not None and row.user_id == user_id else None

    async def vehicle_by_plate(self, user_id: int, plate: str) -> VehicleRow | None:
        query = select(VehicleRow).where(VehicleRow.user_id == user_id, VehicleRow.plate == plate)
        return (await self.session.execute(query)).scalars().first()

    async def station_of_tenant(self, station_id: str, tenant_id: int) -> StationRow | None:
        """The station, if its site belongs to the tenant; drivers see nothing else."""
        query = (
            select(StationRow)
            .join(SiteRow, col(SiteRow.id) == col(StationRow.site_id))
            .where(StationRow.id == station_id, SiteRow.tenant_id == tenant_id)
        )
        return (await self.session.execute(query)).scalars().first()

    async def favorites(
        self, user_id: int, tenant_id: int, *, limit: int, offset: int
    ) -> tuple[Sequence[tuple[FavoriteRow, str | None]], int]:
        """The user's favourites still in the tenant, each with its site's name."""
        query = (
            select(FavoriteRow, SiteRow.name)
            .join(StationRow, col(StationRow.id) == col(FavoriteRow.station_id))
            .join(SiteRow, col(SiteRow.id) == col(StationRow.site_id))
            .where(FavoriteRow.user_id == user_id, SiteRow.tenant_id == tenant_id)
        )
        total = await self.session.scalar(select(func.count()).select_from(query.subquery())) or 0
        page = query.order_by(col(FavoriteRow.created_at).desc(), col(FavoriteRow.id).desc())
        rows = await self.session.execute(page.limit(limit).offset(offset))
        return [(favorite, name) for favorite, name in rows.all()], total

    async def favorite(self, user_id: int, station_id: str) -> FavoriteRow | None:
        query = select(FavoriteRow).where(
            FavoriteRow.user_id == user_id, FavoriteRow.station_id == station_id
        )
        return (await self.session.execute(query)).scalars().first()

    async def id_token(self, value: str) -> IdTokenRow | None:
        query = select(IdTokenRow).where(IdTokenRow.token == value)
        return (await self.session.execute(query)).scalars().first()

    async def id_tokens_of(self, user_id: int) -> Sequence[IdTokenRow]:
        query = select(IdTokenRow).where(IdTokenRow.user_id == user_id).order_by(col(IdTokenRow.id))
        return (await self.session.execute(query)).scalars().all()


class AccountsUnitOfWork:
    """One database transaction for the account use cases; rows returned stay readable after it."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def __aenter__(self) -> Self:
        self.session = self._sessions()
        self.accounts = AccountsRepository(self.session)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.session.expunge_all()
        try:
            await self.session.rollback()
        finally:
            await self.session.close()

    async def commit(self) -> None:
        await self.session.commit()
