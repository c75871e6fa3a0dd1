"""Portal log-in use cases: staff sessions in a browser, their language, and investors' sites.

Staff (administrators, operators, investors) log in with a phone number or an e-mail address and a
password. The session lives in a row; the browser's cookie holds a random token whose hash is kept,
so logging out, a password change or disabling the user ends the session on the next request.
Drivers have the app: they may not log in here, which they are told only once their password is
right, so the answer never tells whether a phone number has an account.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from functools import cache

from sqlalchemy import delete, func, update
from sqlmodel import col, select

from chargepoints.tables import SiteRow
from csms.accounts import services
from csms.accounts.errors import (
    AccountNotFound,
    InvalidAccountData,
    InvalidCredentials,
    NotAllowed,
    NotAuthenticated,
)
from csms.accounts.model import AuthConfig, Identity, Role
from csms.accounts.portal_tables import PortalSessionRow, SiteInvestorRow, UserLanguageRow
from csms.accounts.ports import Clock
from csms.accounts.repository import AccountsUnitOfWork
from csms.accounts.rules import normalise_phone
from csms.accounts.tables import TenantRow, UserRow
from csms.passwords import hash_password, verify_password_async

PORTAL_ROLES = frozenset({Role.ADMIN, Role.OPERATOR, Role.INVESTOR})
LANGUAGES = ("en", "zh_CN")
SESSION_TTL = timedelta(hours=12)


@dataclass(frozen=True, slots=True)
class PortalIdentity:
    """Who a portal cookie speaks for, checked against the live session row."""

    user_id: int
    tenant_id: int
    role: Role
    session_id: int
    name: str
    language: str | None = None
    site_ids: frozenset[int] = frozenset()
    tenant_filter: int | None = None


@dataclass(frozen=True, slots=True)
class PortalLogin:
    identity: PortalIdentity
    token: str  # goes into the cookie, and nowhere else


@dataclass(frozen=True, slots=True)
class Ownership:
    """One investor's share in one site, for the table administrators keep."""

    site_id: int
    site_name: str
    user_id: int
    investor: str


async def log_in(
    login: str, password: str, *, uow: AccountsUnitOfWork, clock: Clock, ttl: timedelta = SESSION_TTL
) -> PortalLogin:
    """A portal session for the staff user whose phone or e-mail and password match.

    The same phone may have accounts at several tenants; the first staff account (oldest first)
    whose password matches wins. Raises InvalidCredentials, or NotAllowed for a driver.
    """
    async with uow:
        users = await _users_by_login(uow, login)
    staff = [u for u in users if Role(u.role) in PORTAL_ROLES]
    others = [u for u in users if Role(u.role) not in PORTAL_ROLES]
    candidates: list[UserRow | None] = [*staff] or [None]  # None: still take as long
    for user in candidates:
        if await _password_matches(user, password):
            assert user is not None
            return await _open(uow, user, clock, ttl)
    for driver in others:
        if await _password_matches(driver, password):
            raise NotAllowed("Driver accounts cannot log in to the portal: use the app")
    raise InvalidCredentials()


async def session(token: str, *, uow: AccountsUnitOfWork, clock: Clock) -> PortalIdentity:
    """Who the cookie's token speaks for; NotAuthenticated once the session has ended."""
    query = (
        select(PortalSessionRow, UserRow, UserLanguageRow.language)
        .join(UserRow, col(UserRow.id) == col(PortalSessionRow.user_id))
        .outerjoin(UserLanguageRow, col(UserLanguageRow.user_id) == col(UserRow.id))
        .where(PortalSessionRow.token_hash == _digest(token))
    )
    async with uow:
        found = (await uow.session.execute(query)).first()
        if found is None:
            raise NotAuthenticated("Log in first")
        row, user, language = found
        if (
            row.revoked_at is not None
            or row.expires_at <= clock.now()
            or row.token_version != user.token_version
            or user.disabled
            or Role(user.role) not in PORTAL_ROLES
        ):
            raise NotAuthenticated("The session has ended; log in again")
        sites = await _sites_of(uow, user) if user.role == Role.INVESTOR else frozenset()
    assert row.id is not None
    return _identity(user, row.id, language, sites, row.tenant_filter)


async def log_out(session_id: int, *, uow: AccountsUnitOfWork, clock: Clock) -> None:
    async with uow:
        condition = (col(PortalSessionRow.id) == session_id) & col(PortalSessionRow.revoked_at).is_(None)
        await uow.session.execute(update(PortalSessionRow).where(condition).values(revoked_at=clock.now()))
        await uow.commit()


async def change_password(
    user_id: int,
    current: str,
    new: str,
    *,
    tenant_filter: int | None = None,
    uow: AccountsUnitOfWork,
    clock: Clock,
    config: AuthConfig,
    ttl: timedelta = SESSION_TTL,
) -> PortalLogin:
    """Set a new password through the accounts use case, which logs every session out (portal
    sessions die with the user's token version), then log this browser back in."""
    async with uow:
        user = await uow.accounts.user(user_id)
    if user is None:
        raise NotAuthenticated("The session has ended; log in again")
    api_identity = Identity(user_id, user.tenant_id, Role(user.role), 0)  # only its user counts
    login = await services.change_password(api_identity, current, new, uow=uow, clock=clock, config=config)
    await services.logout(login.identity, uow=uow, clock=clock)  # the app session it opened is not needed
    return await _open(uow, user, clock, ttl, tenant_filter=tenant_filter)


async def set_language(user_id: int, language: str, *, uow: AccountsUnitOfWork) -> None:
    if language not in LANGUAGES:
        raise InvalidAccountData(f"Unknown language {language!r}")
    async with uow:
        row = await uow.session.get(UserLanguageRow, user_id)
        if row is None:
            uow.accounts.add(UserLanguageRow(user_id=user_id, language=language))
        else:
            row.language = language
        await uow.commit()


async def set_tenant_filter(session_id: int, tenant_id: int | None, *, uow: AccountsUnitOfWork) -> None:
    """The tenant an administrator's session looks at (None: every tenant)."""
    async with uow:
        if tenant_id is not None and await uow.accounts.tenant(tenant_id) is None:
            raise AccountNotFound(f"Tenant {tenant_id} not found")
        values = {"tenant_filter": tenant_id}
        await uow.session.execute(
            update(PortalSessionRow).where(col(PortalSessionRow.id) == session_id).values(**values)
        )
        await uow.commit()


async def assign_site(
    user_id: int, site_id: int, *, tenant_id: int | None, uow: AccountsUnitOfWork, clock: Clock
) -> None:
    """Record that the investor owns the site. Both belong to the investor's tenant, and to
    ``tenant_id`` unless it is None (an administrator). Assigning twice changes nothing."""
    async with uow:
        user, site = await uow.accounts.user(user_id), await uow.session.get(SiteRow, site_id)
        if user is None or user.role != Role.INVESTOR or tenant_id not in (None, user.tenant_id):
            raise AccountNotFound(f"Investor {user_id} not found")
        if site is None or site.tenant_id != user.tenant_id:
            raise AccountNotFound(f"Site {site_id} not found at the investor's tenant")
        if await uow.session.get(SiteInvestorRow, (site_id, user_id)) is None:
            uow.accounts.add(SiteInvestorRow(site_id=site_id, user_id=user_id, created_at=clock.now()))
            await uow.commit()


async def unassign_site(
    user_id: int, site_id: int, *, tenant_id: int | None, uow: AccountsUnitOfWork
) -> None:
    async with uow:
        query = delete(SiteInvestorRow).where(
            col(SiteInvestorRow.user_id) == user_id, col(SiteInvestorRow.site_id) == site_id
        )
        if tenant_id is not None:
            in_tenant = select(SiteRow.id).where(SiteRow.tenant_id == tenant_id)
            query = query.where(col(SiteInvestorRow.site_id).in_(in_tenant))
        await uow.session.execute(query)
        await uow.commit()


async def ownerships(*, tenant_id: int | None, uow: AccountsUnitOfWork) -> Sequence[Ownership]:
    """Every investor↔site pair in the tenant (all tenants for None), by site then investor."""
    query = (
        select(SiteRow.id, SiteRow.name, UserRow)
        .join(SiteInvestorRow, col(SiteInvestorRow.site_id) == col(SiteRow.id))
        .join(UserRow, col(UserRow.id) == col(SiteInvestorRow.user_id))
        .order_by(col(SiteRow.name), col(UserRow.id))
    )
    if tenant_id is not None:
        query = query.where(SiteRow.tenant_id == tenant_id)
    async with uow:
        rows = (await uow.session.execute(query)).all()
    return [Ownership(site, name, user.id, user.display_name or user.phone) for site, name, user in rows]


async def investors_and_sites(
    *, tenant_id: int | None, uow: AccountsUnitOfWork
) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    """The investors and the sites an ownership may pair, as (id, label), in the tenant (or all)."""
    people = select(UserRow.id, UserRow.display_name, UserRow.phone).where(
        UserRow.role == Role.INVESTOR.value
    )
    places = select(SiteRow.id, SiteRow.name).where(col(SiteRow.tenant_id).is_not(None))
    if tenant_id is not None:
        people, places = (
            people.where(UserRow.tenant_id == tenant_id),
            places.where(SiteRow.tenant_id == tenant_id),
        )
    async with uow:
        users = (await uow.session.execute(people.order_by(col(UserRow.id)))).all()
        sites = (await uow.session.execute(places.order_by(col(SiteRow.name)))).all()
    return [(i, name or phone) for i, name, phone in users], [(i, name) for i, name in sites]


async def tenants(*, uow: AccountsUnitOfWork) -> list[tuple[int, str]]:
    """Every tenant's id and name, by name: an administrator's choice of tenant."""
    async with uow:
        rows = await uow.session.execute(select(TenantRow.id, TenantRow.name).order_by(col(TenantRow.name)))
    return [(tenant_id, name) for tenant_id, name in rows.all() if tenant_id is not None]


async def resolve_tenant(ref: str, *, uow: AccountsUnitOfWork) -> int:
    """A tenant given by id or by name (as an operator types it on the command line)."""
    where = col(TenantRow.id) == int(ref) if ref.isdigit() else col(TenantRow.name) == ref
    async with uow:
        found: int | None = (await uow.session.execute(select(TenantRow.id).where(where))).scalar()
    if found is None:
        raise AccountNotFound(f"No tenant {ref!r}")
    return found


async def _users_by_login(uow: AccountsUnitOfWork, login: str) -> Sequence[UserRow]:
    login = login.strip()
    if "@" in login:
        where = func.lower(col(UserRow.email)) == login.lower()
    else:
        try:
            where = col(UserRow.phone) == normalise_phone(login)
        except InvalidAccountData:
            return []
    query = select(UserRow).where(where, col(UserRow.disabled).is_(False)).order_by(col(UserRow.id))
    return (await uow.session.execute(query)).scalars().all()


async def _password_matches(user: UserRow | None, password: str) -> bool:
    """Verifies against a dummy hash when there is no user, so a miss takes as long as a hit."""
    stored = user.password_hash if user is not None else None
    matches = await verify_password_async(stored or _dummy_hash(), password)
    return matches and stored is not None


async def _open(
    uow: AccountsUnitOfWork, user: UserRow, clock: Clock, ttl: timedelta, *, tenant_filter: int | None = None
) -> PortalLogin:
    token, now = secrets.token_urlsafe(32), clock.now()
    async with uow:
        fresh = await uow.accounts.user(user.id) if user.id is not None else None
        if fresh is None or fresh.id is None or fresh.disabled:
            raise InvalidCredentials()
        row = PortalSessionRow(
            user_id=fresh.id,
            token_hash=_digest(token),
            token_version=fresh.token_version,
            tenant_filter=tenant_filter,
            created_at=now,
            expires_at=now + ttl,
        )
        uow.accounts.add(row)
        await uow.accounts.flush()
        language = await uow.session.get(UserLanguageRow, fresh.id)
        sites = await _sites_of(uow, fresh) if fresh.role == Role.INVESTOR else frozenset()
        await uow.commit()
    assert row.id is not None
    identity = _identity(fresh, row.id, language.language if language else None, sites, tenant_filter)
    return PortalLogin(identity, token)


async def _sites_of(uow: AccountsUnitOfWork, user: UserRow) -> frozenset[int]:
    query = select(SiteInvestorRow.site_id).where(SiteInvestorRow.user_id == user.id)
    return frozenset((await uow.session.execute(query)).scalars())


def _identity(
    user: UserRow, session_id: int, language: str | None, sites: frozenset[int], tenant_filter: int | None
) -> PortalIdentity:
    assert user.id is not None
    name = user.display_name or user.email or user.phone
    return PortalIdentity(
        user.id, user.tenant_id, Role(user.role), session_id, name, language, sites, tenant_filter
    )


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@cache
def _dummy_hash() -> str:
    return hash_password(secrets.token_urlsafe(16))
