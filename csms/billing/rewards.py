"""Points a settled session earns: for its energy, for what it cost, and, on an invited driver's
first paid session, the invitation reward for both the driver and who invited them.

Runs inside the settlement's transaction. Every award is keyed ("kwh:<tx>", "spend:<tx>",
"invited:<invitee>", "inviter:<invitee>"), so a repeated settlement, or a later paid session of
the same driver, awards nothing again.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from math import floor

from sqlalchemy.ext.asyncio import AsyncSession

from csms.accounts.tables import UserRow
from csms.billing import points


def energy_points(energy_wh: int, per_kwh: int) -> int:
    """Whole points for the energy: floor(kWh * per_kwh), in integers so nothing is lost."""
    return max(energy_wh, 0) * per_kwh // 1000


def spend_points(paid: Decimal, per_unit: int) -> int:
    """Points for every whole currency unit paid."""
    return max(floor(paid), 0) * per_unit


async def after_settlement(
    session: AsyncSession,
    *,
    user_id: int,
    transaction_id: int,
    energy_wh: int,
    paid: Decimal,
    currency: str,
    now: datetime,
    per_kwh: int,
    per_unit: int,
    invitation: int,
) -> None:
    """Award a settled session's points in the caller's transaction (it commits). ``paid`` is what
    the driver paid, in ``currency``, after any discount."""
    for key, amount, reason in (
        (f"kwh:{transaction_id}", energy_points(energy_wh, per_kwh), "kwh"),
        (f"spend:{transaction_id}", spend_points(paid, per_unit), "spend"),
    ):
        if amount > 0:
            await points.earn(session, user_id, key, amount, reason, now)
    if paid > 0 and invitation > 0:
        await _invitation(session, user_id, invitation, now)


async def _invitation(session: AsyncSession, user_id: int, amount: int, now: datetime) -> None:
    """Both sides' reward, once: the first paid session claims the keys, later ones find them."""
    user = await session.get(UserRow, user_id)
    if user is None or user.invited_by is None:
        return
    if await points.earn(session, user_id, f"invited:{user_id}", amount, "invitation", now):
        await points.earn(session, user.invited_by, f"inviter:{user_id}", amount, "invitation", now)
