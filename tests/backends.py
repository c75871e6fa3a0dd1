"""Test databases and buses: SQLite + in-process bus, and PostgreSQL + Redis.

Every test gets a fresh database: a copy of a migrated SQLite file, or a PostgreSQL database
cloned from a migrated template. With ``CI=true`` an unreachable PostgreSQL or Redis fails the
run instead of skipping, so CI can never pass by testing less.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import uuid
from functools import cache
from pathlib import Path

import asyncpg
import pytest

from csms.migrate import upgrade

PG_DSN = os.environ.get("CSMS_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("CSMS_TEST_REDIS", "redis://127.0.0.1:6379/15")
TEMPLATE = "csms_test_template"


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def require(service: str, host: str, port: int) -> None:
    if _reachable(host, port):
        return
    message = f"{service} is not reachable on {host}:{port}"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{message}; CI requires it (the test command starts it when installed)")
    pytest.skip(message)


def require_postgres() -> None:
    require("PostgreSQL", "127.0.0.1", 5432)


def require_redis() -> None:
    require("Redis", "127.0.0.1", 6379)


def asyncpg_url(database: str) -> str:
    return PG_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://") + f"/{database}"


async def _admin(*statements: str) -> None:
    connection = await asyncpg.connect(PG_DSN)
    try:
        for statement in statements:
            await connection.execute(statement)
    finally:
        await connection.close()


@cache
def sqlite_template(directory: Path) -> Path:
    path = directory / "template.db"
    upgrade(f"sqlite+aiosqlite:///{path}")
    return path


def fresh_sqlite(template_dir: Path, tmp_path: Path) -> str:
    target = tmp_path / "csms.db"
    shutil.copyfile(sqlite_template(template_dir), target)
    return f"sqlite+aiosqlite:///{target}"


@cache
def postgres_template(worker: str) -> str:
    name = f"{TEMPLATE}_{worker}"
    asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"'))
    upgrade(asyncpg_url(name))
    return name


def fresh_postgres(worker: str) -> str:
    name = f"csms_test_{uuid.uuid4().hex[:12]}"
    template = postgres_template(worker)
    asyncio.run(_admin(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    return name


def drop_postgres(name: str) -> None:
    asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
