"""Runs each package's ``jobs.py`` functions on a schedule."""

from __future__ import annotations

import gc
from collections.abc import Callable
from datetime import timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from chargepoints import alarms, cdrs, jobs, reservations, review
from chargepoints.ports import Clock, StationGateway
from chargepoints.repository import UnitOfWork
from csms.accounts import jobs as account_jobs
from csms.billing import coupon_jobs, invoices
from csms.settings import Settings
from web import idempotency, signing


def create_scheduler(
    settings: Settings, make_uow: Callable[[], UnitOfWork], clock: Clock, gateway: StationGateway
) -> AsyncIOScheduler:
    scheduler = AsyncIOScheduler(timezone="UTC")

    async def purge() -> None:
        await jobs.purge_message_log(
            uow=make_uow(), clock=clock, retention_days=settings.message_log_retention_days
        )

    scheduler.add_job(purge, "interval", hours=1, id="purge-message-log", coalesce=True, max_instances=1)

    async def expire_coupons() -> None:
        await coupon_jobs.expire(uow=make_uow(), clock=clock)

    scheduler.add_job(
        expire_coupons, "interval", minutes=10, id="expire-coupons", coalesce=True, max_instances=1
    )

    async def issue_invoices() -> None:
        first = clock.now().replace(day=1)
        last_month = (first - timedelta(days=1)).strftime("%Y-%m")
        await invoices.issue_invoices(last_month, uow=make_uow(), clock=clock)

    scheduler.add_job(issue_invoices, "cron", day=1, hour=2, id="issue-invoices", coalesce=True)

    async def purge_load() -> None:
        await jobs.purge_load_history(uow=make_uow(), clock=clock, retention_days=settings.load_history_days)

    scheduler.add_job(
        purge_load, "interval", hours=6, id="purge-load-history", coalesce=True, max_instances=1
    )

    async def expire_reservations() -> None:
        await reservations.expire(uow=make_uow(), clock=clock)

    scheduler.add_job(expire_reservations, "interval", minutes=1, id="expire-reservations", coalesce=True)

    async def settle_sessions() -> None:
        await cdrs.sweep(uow=make_uow(), clock=clock)

    scheduler.add_job(
        settle_sessions, "interval", minutes=5, id="settle-sessions", coalesce=True, max_instances=1
    )

    async def flag_stale_sessions() -> None:
        await review.flag_stale(
            uow=make_uow(), clock=clock, after=timedelta(hours=settings.stale_session_hours)
        )

    scheduler.add_job(flag_stale_sessions, "interval", minutes=15, id="flag-stale-sessions", coalesce=True)

    async def check_offline_stations() -> None:
        after = timedelta(minutes=settings.offline_alarm_minutes)
        await alarms.check_offline(uow=make_uow(), clock=clock, gateway=gateway, after=after)

    scheduler.add_job(
        check_offline_stations, "interval", minutes=1, id="offline-alarms", coalesce=True, max_instances=1
    )

    async def purge_api_keys() -> None:
        await idempotency.purge_expired(uow=make_uow(), clock=clock)
        await signing.purge_nonces(uow=make_uow(), clock=clock)

    scheduler.add_job(
        purge_api_keys, "interval", minutes=10, id="purge-api-keys", coalesce=True, max_instances=1
    )

    async def purge_accounts() -> None:
        await account_jobs.purge_expired(uow=make_uow(), clock=clock)

    scheduler.add_job(
        purge_accounts, "interval", hours=1, id="purge-accounts", coalesce=True, max_instances=1
    )
    # Long-lived objects (connections, handlers) are frozen so the collector stops rescanning
    # them: at thousands of connections a full collection otherwise stalls replies for seconds.
    scheduler.add_job(gc.freeze, "interval", minutes=5, id="gc-freeze")
    return scheduler
