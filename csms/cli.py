"""The ``csms`` command: run the server, migrate, provision stations, tokens and portal users, the demo."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from collections.abc import Callable, Coroutine, Sequence
from datetime import datetime
from typing import Any

import uvicorn

from chargepoints import admin
from chargepoints.errors import InvalidStationId
from chargepoints.model import RegistrationStatus, TokenStatus
from chargepoints.ports import SystemClock
from chargepoints.repository import UnitOfWork
from csms import demo, migrate, runtime
from csms.accounts import portal
from csms.accounts import services as accounts
from csms.accounts.errors import AccountError
from csms.accounts.model import NewUser, Role
from csms.accounts.repository import AccountsUnitOfWork
from csms.app import create_app
from csms.db import create_engine, session_factory
from csms.passwords import hash_password
from csms.settings import Settings, SettingsError, load_settings


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "handler"):
        parser.print_help()
        return 2
    try:
        settings = load_settings(
            database_url=getattr(args, "database_url", None),
            redis_url=getattr(args, "redis_url", None),
            host=getattr(args, "host", None),
            port=getattr(args, "port", None),
            log_level=getattr(args, "log_level", None),
        )
    except SettingsError as exc:
        print(f"csms: configuration error: {exc}", file=sys.stderr)
        return 2
    handler: Callable[[argparse.Namespace, Settings], int] = args.handler
    return handler(args, settings)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="csms", description="OCPP charging station management system")
    commands = parser.add_subparsers(title="commands")

    run = commands.add_parser("run", help="run the server (OCPP endpoint and API on one port)")
    _server_flags(run)
    run.set_defaults(handler=_run)

    mig = commands.add_parser("migrate", help="bring the database schema up to date")
    mig.add_argument("--database-url")
    mig.set_defaults(handler=_migrate)

    station = commands.add_parser("station", help="provision stations").add_subparsers(title="actions")
    add = station.add_parser("add", help="create or update a station")
    add.add_argument("station_id")
    add.add_argument("--password", help="security profile 1 password (HTTP Basic auth)")
    add.add_argument("--status", choices=[s.value for s in RegistrationStatus], default="Accepted")
    add.add_argument("--database-url")
    add.set_defaults(handler=_station_add)

    token = commands.add_parser("token", help="provision id tokens").add_subparsers(title="actions")
    tadd = token.add_parser("add", help="create or update an id token")
    tadd.add_argument("token")
    tadd.add_argument("--status", choices=[s.value for s in TokenStatus], default="Accepted")
    tadd.add_argument("--expires", type=_aware_datetime, help="ISO 8601 expiry, e.g. 2027-01-01T00:00:00Z")
    tadd.add_argument("--group", help="group id (1.6 parentIdTag)")
    tadd.add_argument("--type", default="ISO14443", help="2.0.1 IdTokenType (default ISO14443)")
    tadd.add_argument("--database-url")
    tadd.set_defaults(handler=_token_add)

    user = commands.add_parser("user", help="portal log-ins").add_subparsers(title="actions")
    uadd = user.add_parser("add", help="create an administrator, operator or investor who logs in to /portal")
    uadd.add_argument("--role", choices=sorted(portal.PORTAL_ROLES), required=True)
    uadd.add_argument("--tenant", required=True, help="tenant id or name")
    uadd.add_argument("--phone", required=True, help="E.164, e.g. +8613800000000; logs in with it")
    uadd.add_argument("--email", help="may log in with it instead of the phone number")
    uadd.add_argument("--name", help="display name")
    uadd.add_argument("--password", help="asked for when left out (keeps it out of the shell history)")
    uadd.add_argument("--site", type=int, action="append", default=[], help="an investor's site id (repeat)")
    uadd.add_argument("--database-url")
    uadd.set_defaults(handler=_user_add)

    demo = commands.add_parser("demo", help="server + seeded data + emulated stations, on SQLite")
    _server_flags(demo)
    demo.add_argument("--stations", type=int, default=10)
    demo.add_argument("--duration", type=float, default=0, help="stop after this many seconds (0 = Ctrl-C)")
    demo.set_defaults(handler=_demo)
    return parser


def _server_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host")
    parser.add_argument("--port", type=int)
    parser.add_argument("--database-url")
    parser.add_argument("--redis-url")
    parser.add_argument("--log-level")


def _aware_datetime(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise argparse.ArgumentTypeError("give a time zone, e.g. 2027-01-01T00:00:00Z")
    return parsed


def _with_uow(settings: Settings, work: Callable[[UnitOfWork], Coroutine[Any, Any, bool]]) -> bool:
    async def run() -> bool:
        engine = create_engine(settings.database_url)
        try:
            return await work(UnitOfWork(session_factory(engine)))
        finally:
            await engine.dispose()

    return asyncio.run(run())


def _run(args: argparse.Namespace, settings: Settings) -> int:
    runtime.configure_logging(settings)
    runtime.raise_open_file_limit()
    runtime.tune_gc()
    address = f"{settings.host}:{settings.port}"
    print(f"csms listening on http://{address}  (OCPP: ws://{address}/ocpp/<station id>)")
    uvicorn.run(create_app(settings), **runtime.uvicorn_options(settings))  # type: ignore[arg-type]
    return 0


def _migrate(args: argparse.Namespace, settings: Settings) -> int:
    migrate.upgrade(settings.database_url)
    print("database is up to date")
    return 0


def _station_add(args: argparse.Namespace, settings: Settings) -> int:
    spec = admin.StationSpec(
        args.station_id,
        hash_password(args.password) if args.password else None,
        RegistrationStatus(args.status),
    )
    try:
        created = _with_uow(settings, lambda uow: admin.put_station(spec, uow=uow, clock=SystemClock()))
    except InvalidStationId as exc:
        print(f"csms: invalid station id {exc}", file=sys.stderr)
        return 2
    print(f"station {args.station_id} {'created' if created else 'updated'}")
    return 0


def _token_add(args: argparse.Namespace, settings: Settings) -> int:
    spec = admin.TokenSpec(args.token, TokenStatus(args.status), args.expires, args.group, args.type)
    created = _with_uow(settings, lambda uow: admin.put_token(spec, uow=uow, clock=SystemClock()))
    print(f"id token {args.token} {'created' if created else 'updated'}")
    return 0


def _user_add(args: argparse.Namespace, settings: Settings) -> int:
    password = args.password or getpass.getpass("Password: ")

    async def add() -> int:
        engine = create_engine(settings.database_url)
        uow, clock = AccountsUnitOfWork(session_factory(engine)), SystemClock()
        try:
            tenant_id = await portal.resolve_tenant(args.tenant, uow=uow)
            spec = NewUser(tenant_id, args.phone, Role(args.role), password, args.name, args.email)
            user = await accounts.create_user(spec, uow=uow, clock=clock)
            assert user.id is not None
            for site_id in args.site:
                await portal.assign_site(user.id, site_id, tenant_id=tenant_id, uow=uow, clock=clock)
            return user.id
        finally:
            await engine.dispose()

    try:
        user_id = asyncio.run(add())
    except AccountError as exc:
        print(f"csms: {exc}", file=sys.stderr)
        return 2
    print(f"{args.role} {args.phone} created (user {user_id}); log in at /portal")
    return 0


def _demo(args: argparse.Namespace, settings: Settings) -> int:
    return demo.run(settings, stations=args.stations, duration=args.duration)


if __name__ == "__main__":
    sys.exit(main())
