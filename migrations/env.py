"""Alembic environment: async engine, the shared metadata, batch mode so SQLite can alter tables."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

import chargepoints.alarm_tables
import chargepoints.feedback_tables
import chargepoints.load_tables
import chargepoints.tables  # noqa: F401  (registers the tables on the metadata)
import csms.accounts.portal_tables
import csms.accounts.tables
import csms.audit
import csms.billing.tables  # noqa: F401
import tariffs.tables  # noqa: F401
import web.quality_tables  # noqa: F401
from csms.db import create_engine, metadata
from csms.settings import load_settings


def _url() -> str:
    url = context.config.attributes.get("url")
    return str(url) if url else load_settings().database_url


def _migrate(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run() -> None:
    engine = create_engine(_url())
    async with engine.connect() as connection:
        await connection.run_sync(_migrate)
        await connection.commit()
    await engine.dispose()


if context.is_offline_mode():
    context.configure(url=_url(), target_metadata=metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    asyncio.run(_run())
