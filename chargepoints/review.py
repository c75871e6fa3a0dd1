"""The operator's review queue: sessions the rules flagged wait here, unbilled, for a decision.

Accepting bills the measured data, correcting bills the energy the operator gives (the CDR keeps
both), voiding bills nothing. Each decision is audited in the transaction that makes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from chargepoints import cdrs
from chargepoints.errors import ChargingError, TransactionNotFound
from chargepoints.model import ENERGY_REGISTER, TxState
from chargepoints.ports import Clock
from chargepoints.repository import UnitOfWork
from chargepoints.rules.review import ReviewState, stop_missing
from chargepoints.tables import CdrRow, MeterSampleRow, TransactionRow
from csms import audit

STALE_BATCH = 500


class NotUnderReview(ChargingError):
    """The session is not waiting for a decision: it was decided already, or never flagged."""


@dataclass(frozen=True, slots=True)
class Accept:
    note: str | None = None


@dataclass(frozen=True, slots=True)
class Correct:
    energy_wh: int
    note: str


@dataclass(frozen=True, slots=True)
class Void:
    note: str


Decision = Accept | Correct | Void


async def pending(session: AsyncSession, *, limit: int, offset: int) -> tuple[list[TransactionRow], int]:
    """The queue, oldest first."""
    waiting = col(TransactionRow.review_state) == ReviewState.PENDING
    total = await session.scalar(select(func.count()).select_from(TransactionRow).where(waiting))
    query = select(TransactionRow).where(waiting).order_by(col(TransactionRow.id)).limit(limit).offset(offset)
    return list((await session.execute(query)).scalars()), int(total or 0)


async def decide(
    transaction_id: int, decision: Decision, *, actor: str, uow: UnitOfWork, clock: Clock
) -> CdrRow | None:
    """Apply the operator's decision; the CDR it produced, or None for a void.

    Raises TransactionNotFound, or NotUnderReview for a session that is not pending (also when a
    concurrent decision or the sweep wrote its CDR first).
    """
    now = clock.now()
    try:
        async with uow:
            tx = await cdrs.locked_transaction(uow.session, transaction_id)
            if tx is None:
                raise TransactionNotFound(f"Transaction {transaction_id} not found")
            if tx.review_state != ReviewState.PENDING:
                state = tx.review_state or "not flagged"
                raise NotUnderReview(f"Transaction {transaction_id} is not awaiting review ({state})")
            if tx.state != TxState.ENDED:
                await _close(uow.session, tx, now)
            cdr, details = await _apply(uow, tx, decision, now)
            audit.record(
                uow.session,
                actor=actor,
                action=f"session.{tx.review_state}",
                subject=f"transaction:{transaction_id}",
                details=details,
                at=now,
            )
            await uow.commit()
            return cdr
    except IntegrityError:
        raise NotUnderReview(f"Transaction {transaction_id} already has a CDR") from None


async def _apply(
    uow: UnitOfWork, tx: TransactionRow, decision: Decision, now: datetime
) -> tuple[CdrRow | None, dict[str, Any]]:
    details: dict[str, Any] = {"note": decision.note, "reasons": [r["code"] for r in tx.review_reasons]}
    if isinstance(decision, Void):
        tx.review_state = ReviewState.VOIDED
        return None, details
    correction = None
    if isinstance(decision, Correct):
        correction = cdrs.Correction(decision.energy_wh, decision.note)
    cdr = await cdrs.write(uow, tx, await cdrs.measure(uow, tx), now, correction)
    tx.review_state = ReviewState.ACCEPTED if correction is None else ReviewState.CORRECTED
    details |= {"cdr_id": cdr.id, "energy_wh": cdr.energy_wh, "measured_wh": max(tx.energy_wh or 0, 0)}
    return cdr, details


async def _close(session: AsyncSession, tx: TransactionRow, now: datetime) -> None:
    """End a session whose stop never came at its last register reading: billing stops there."""
    last = await session.scalar(
        select(func.max(MeterSampleRow.timestamp)).where(
            col(MeterSampleRow.transaction_id) == tx.id, col(MeterSampleRow.measurand) == ENERGY_REGISTER
        )
    )
    tx.state, tx.charging_state = TxState.ENDED, None
    tx.ended_at = max(filter(None, (last, tx.started_at)), default=now)
    tx.updated_at = now


async def flag_stale(*, uow: UnitOfWork, clock: Clock, after: timedelta) -> int:
    """Flag running sessions nothing was heard of for ``after``: their stop was probably lost,
    and without a decision they would never be billed. Returns how many were flagged."""
    now = clock.now()
    async with uow:
        query = (
            select(TransactionRow)
            .where(
                col(TransactionRow.state) == TxState.ACTIVE,
                col(TransactionRow.review_state).is_(None),
                col(TransactionRow.updated_at) < now - after,
            )
            .order_by(col(TransactionRow.id))
            .limit(STALE_BATCH)
        )
        rows = list((await uow.session.execute(query)).scalars())
        for tx in rows:
            missing = stop_missing(tx.updated_at, now, after)
            cdrs.flag(tx, [*cdrs.start_reasons(tx), *([missing] if missing else [])])
        await uow.commit()
    return len(rows)
