"""Read models other packages ask of the accounts: which id tokens are a driver's."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from chargepoints.tables import IdTokenRow
from csms.accounts.errors import AccountNotFound
from csms.accounts.model import APP_TOKEN_TYPE


async def driver_tokens(session: AsyncSession, user_id: int) -> list[str]:
    """The id token values linked to the driver, the app token included: a charging session is the
    driver's when its ``id_token`` is one of these."""
    query = select(IdTokenRow.token).where(IdTokenRow.user_id == user_id).order_by(col(IdTokenRow.id))
    return list((await session.execute(query)).scalars())


async def app_token(session: AsyncSession, user_id: int) -> str:
    """The driver's own virtual id token, created at sign-up, that remote starts from the app use."""
    query = (
        select(IdTokenRow.token)
        .where(IdTokenRow.user_id == user_id, IdTokenRow.type == APP_TOKEN_TYPE)
        .order_by(col(IdTokenRow.id))
        .limit(1)
    )
    token = await session.scalar(query)
    if token is None:
        raise AccountNotFound(f"User {user_id} has no app token")
    return token
