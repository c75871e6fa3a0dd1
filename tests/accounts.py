"""Builders for accounts: tenants, logged-in drivers, and an SMS outbox that keeps the codes."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

from csms.accounts import services
from csms.accounts.model import NewUser, Role
from csms.accounts.repository import AccountsUnitOfWork
from csms.bootstrap import System
from tariffs import services as tariff_services

PASSWORD = "correct horse battery"
_tenants = itertools.count(1)


@dataclass(frozen=True)
class Driver:
    user_id: int
    tenant_id: int
    access_token: str
    refresh_token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


async def a_tenant(system: System, *, currency: str = "CNY") -> int:
    row = await tariff_services.create_tenant(
        f"T-{next(_tenants)}", currency, "test", uow=system.uow(), clock=system.clock
    )
    assert row.id is not None
    return row.id


async def a_driver(
    system: System,
    *,
    tenant_id: int | None = None,
    phone: str = "+8613800000001",
    role: str = "driver",
    password: str = PASSWORD,
) -> Driver:
    """A user (a driver unless ``role`` says otherwise) with an app id token, logged in."""
    tenant_id = tenant_id or await a_tenant(system)
    spec = NewUser(tenant_id, phone, Role(role), password=password)
    await services.create_user(spec, uow=AccountsUnitOfWork(system.sessions), clock=system.clock)
    login = await services.login_with_password(
        tenant_id,
        phone,
        password,
        uow=AccountsUnitOfWork(system.sessions),
        clock=system.clock,
        config=system.auth,
    )
    return Driver(login.identity.user_id, tenant_id, login.access_token, login.refresh_token)


class Outbox:
    """An SmsSender that keeps what it was asked to send."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    async def send(self, phone: str, text: str) -> None:
        self.sent.append((phone, text))

    def code_for(self, phone: str) -> str:
        """The last code texted to ``phone``."""
        for to, text in reversed(self.sent):
            found = re.search(r"\b(\d{6})\b", text)
            if to == phone and found:
                return found.group(1)
        raise AssertionError(f"no code was texted to {phone}: {self.sent}")
