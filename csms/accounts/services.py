"""Account use cases: sign-up, log-in by password or SMS code, token refresh, logout, passwords.

Argon2 runs outside any unit of work: hashing takes tens of milliseconds, and SQLite has a single
connection that everyone else would wait for. Failed log-ins look alike whatever failed, and take
as long, so neither the answer nor its timing tells whether a phone number has an account.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from dataclasses import replace
from functools import cache

from chargepoints.tables import IdTokenRow
from csms.accounts import sms_codes
from csms.accounts.errors import (
    AccountConflict,
    AccountNotFound,
    InvalidAccountData,
    InvalidCredentials,
    NotAllowed,
    NotAuthenticated,
)
from csms.accounts.model import (
    ACCESS_TTL,
    APP_TOKEN_TYPE,
    DRIVER_ROLES,
    REFRESH_TTL,
    AuthConfig,
    CodePurpose,
    Identity,
    Login,
    NewUser,
    Registration,
    Role,
)
from csms.accounts.ports import Clock, SmsSender
from csms.accounts.repository import AccountsRepository, AccountsUnitOfWork
from csms.accounts.rules import check_password, normalise_phone
from csms.accounts.tables import AuthSessionRow, SpentRefreshTokenRow, UserRow
from csms.accounts.tokens import AccessClaims, issue_access, new_refresh_token, read_access, token_hash
from csms.passwords import hash_password, verify_password_async

log = logging.getLogger(__name__)

_INVITATION_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I to misread


async def request_code(
    tenant_id: int,
    phone: str,
    purpose: CodePurpose,
    *,
    uow: AccountsUnitOfWork,
    clock: Clock,
    sms: SmsSender,
    config: AuthConfig,
) -> None:
    """Text a code to the phone. Every request is stored and limited alike, but a log-in or reset
    code goes only to phones with an account, and a sign-up code only to phones without one."""
    phone, now = normalise_phone(phone), clock.now()
    async with uow:
        if await uow.accounts.tenant(tenant_id) is None:
            raise AccountNotFound(f"Tenant {tenant_id} not found")
        code = await sms_codes.issue(uow.accounts, tenant_id, phone, purpose, config, now)
        user = await uow.accounts.user_by_phone(tenant_id, phone)
        await uow.commit()
    minutes = int(config.code_ttl.total_seconds() // 60)
    text: str | None = f"Your code is {code}. It expires in {minutes} minutes; do not share it."
    if purpose is CodePurpose.REGISTER and user is not None:
        text = "This number already has an account: log in, or reset your password."
    elif purpose is not CodePurpose.REGISTER and (user is None or user.disabled):
        text = None
    if text is not None:
        await sms.send(phone, text)


async def register(
    registration: Registration, *, uow: AccountsUnitOfWork, clock: Clock, config: AuthConfig
) -> Login:
    """A driver account for a phone the caller proved to own, with its app id token; logged in."""
    phone, now = normalise_phone(registration.phone), clock.now()
    password_hash = await _hash(registration.password) if registration.password is not None else None
    async with uow:
        repo = uow.accounts
        if await repo.tenant(registration.tenant_id) is None:
            raise AccountNotFound(f"Tenant {registration.tenant_id} not found")
        inviter = await _inviter(repo, registration)
        if not await sms_codes.spend(
            repo, registration.tenant_id, phone, CodePurpose.REGISTER, registration.code, config, now
        ):
            await uow.commit()  # keeps the wrong guess counted
            raise InvalidCredentials()
        if await repo.user_by_phone(registration.tenant_id, phone) is not None:
            raise AccountConflict("This phone number already has an account")
        spec = NewUser(registration.tenant_id, phone, Role.DRIVER, display_name=registration.display_name)
        user = await _add_user(repo, spec, password_hash, inviter.id if inviter else None, clock)
        login = await _open_session(repo, user, config, clock)
        await uow.commit()
    return login


async def create_user(spec: NewUser, *, uow: AccountsUnitOfWork, clock: Clock) -> UserRow:
    """A user of any role set up by an administrator (no SMS code); drivers get an app token."""
    spec = replace(spec, phone=normalise_phone(spec.phone))
    password_hash = await _hash(spec.password) if spec.password is not None else None
    async with uow:
        if await uow.accounts.tenant(spec.tenant_id) is None:
            raise AccountNotFound(f"Tenant {spec.tenant_id} not found")
        if await uow.accounts.user_by_phone(spec.tenant_id, spec.phone) is not None:
            raise AccountConflict("This phone number already has an account")
        user = await _add_user(uow.accounts, spec, password_hash, None, clock)
        await uow.commit()
    return user


async def login_with_password(
    tenant_id: int, phone: str, password: str, *, uow: AccountsUnitOfWork, clock: Clock, config: AuthConfig
) -> Login:
    phone = normalise_phone(phone)
    async with uow:
        user = await uow.accounts.user_by_phone(tenant_id, phone)
    stored = user.password_hash if user is not None and not user.disabled else None
    # Verify against a dummy hash when there is nothing to verify, so both take as long.
    matches = await verify_password_async(stored or _dummy_hash(), password)
    if user is None or stored is None or not matches:
        raise InvalidCredentials()
    async with uow:
        login = await _open_session(uow.accounts, user, config, clock)
        await uow.commit()
    return login


async def login_with_code(
    tenant_id: int, phone: str, code: str, *, uow: AccountsUnitOfWork, clock: Clock, config: AuthConfig
) -> Login:
    phone = normalise_phone(phone)
    async with uow:
        spent = await sms_codes.spend(
            uow.accounts, tenant_id, phone, CodePurpose.LOGIN, code, config, clock.now()
        )
        user = await uow.accounts.user_by_phone(tenant_id, phone)
        if not spent or user is None or user.disabled:
            await uow.commit()
            raise InvalidCredentials()
        login = await _open_session(uow.accounts, user, config, clock)
        await uow.commit()
    return login


async def refresh(token: str, *, uow: AccountsUnitOfWork, clock: Clock, config: AuthConfig) -> Login:
    """A new token pair for the refresh token's session; the presented token is spent.

    A spent token presented again was copied (OAuth 2.0 Security BCP, section 4.14): the whole
    session is revoked, so the thief and the victim both have to log in again.
    """
    digest, now = token_hash(token), clock.now()
    async with uow:
        repo = uow.accounts
        row = await repo.session_by_refresh(digest)
        user = await repo.user(row.user_id) if row is not None else None
        if row is None or user is None:
            await _on_unknown_refresh(uow, digest, clock)
            raise NotAuthenticated("The refresh token is invalid")
        if row.revoked_at is not None or row.expires_at <= now or user.disabled:
            raise NotAuthenticated("The session has ended; log in again")
        assert row.id is not None
        fresh = new_refresh_token()
        if not await repo.rotate_refresh(row.id, digest, token_hash(fresh), now + REFRESH_TTL, now):
            await repo.revoke_session(row.id, now)  # lost a race with the same token: a reuse too
            await uow.commit()
            raise NotAuthenticated("The refresh token was already used; log in again")
        repo.add(SpentRefreshTokenRow(token_hash=digest, session_id=row.id, spent_at=now))
        login = _login(user, row.id, fresh, config, clock)
        await uow.commit()
    return login


async def logout(identity: Identity, *, uow: AccountsUnitOfWork, clock: Clock) -> None:
    """End the session: its refresh token and its access tokens stop working at once."""
    async with uow:
        await uow.accounts.revoke_session(identity.session_id, clock.now())
        await uow.commit()


async def change_password(
    identity: Identity,
    current: str | None,
    new: str,
    *,
    uow: AccountsUnitOfWork,
    clock: Clock,
    config: AuthConfig,
) -> Login:
    """Set a new password and log every session out, then log this device back in.

    ``current`` may be left out only by a user who has no password yet (signed up by SMS).
    """
    check_password(new)
    async with uow:
        user = await uow.accounts.user(identity.user_id)
    if user is None:
        raise NotAuthenticated("The session has ended; log in again")
    if user.password_hash is not None and not (
        current is not None and await verify_password_async(user.password_hash, current)
    ):
        raise NotAllowed("The current password is wrong")
    password_hash = await _hash(new)
    async with uow:
        user = await uow.accounts.user(identity.user_id)
        assert user is not None and user.id is not None
        await _replace_password(uow.accounts, user, password_hash, clock)
        login = await _open_session(uow.accounts, user, config, clock)
        await uow.commit()
    return login


async def reset_password(
    tenant_id: int,
    phone: str,
    code: str,
    new: str,
    *,
    uow: AccountsUnitOfWork,
    clock: Clock,
    config: AuthConfig,
) -> None:
    """Set a forgotten password with a reset code; every session of the user is logged out."""
    phone = normalise_phone(phone)
    password_hash = await _hash(check_password(new))
    async with uow:
        spent = await sms_codes.spend(
            uow.accounts, tenant_id, phone, CodePurpose.RESET, code, config, clock.now()
        )
        user = await uow.accounts.user_by_phone(tenant_id, phone)
        if not spent or user is None or user.disabled:
            await uow.commit()
            raise InvalidCredentials()
        await _replace_password(uow.accounts, user, password_hash, clock)
        await uow.commit()


async def authenticate(
    access_token: str, *, uow: AccountsUnitOfWork, clock: Clock, config: AuthConfig
) -> Identity:
    """Who the access token speaks for, if its session is alive and the user's tokens still valid."""
    claims = read_access(access_token, config.secret_key, clock.now())
    async with uow:
        found = await uow.accounts.session_and_user(claims.session_id)
    if found is None:
        raise NotAuthenticated("The session has ended; log in again")
    session, user = found
    if (
        session.revoked_at is not None
        or user.id != claims.user_id
        or user.token_version != claims.version
        or user.disabled
    ):
        raise NotAuthenticated("The session has ended; log in again")
    return Identity(claims.user_id, user.tenant_id, Role(user.role), claims.session_id)


async def _on_unknown_refresh(uow: AccountsUnitOfWork, digest: str, clock: Clock) -> None:
    spent = await uow.accounts.spent_refresh(digest)
    if spent is not None:
        log.warning("A rotated refresh token was used again; revoking session %s", spent.session_id)
        await uow.accounts.revoke_session(spent.session_id, clock.now())
        await uow.commit()


async def _inviter(repo: AccountsRepository, registration: Registration) -> UserRow | None:
    if not registration.invitation_code:
        return None
    inviter = await repo.user_by_invitation(registration.invitation_code.strip().upper())
    if inviter is None or inviter.tenant_id != registration.tenant_id:
        raise InvalidAccountData("Unknown invitation code")
    return inviter


async def _add_user(
    repo: AccountsRepository,
    spec: NewUser,
    password_hash: str | None,
    invited_by: int | None,
    clock: Clock,
) -> UserRow:
    now = clock.now()
    user = UserRow(
        tenant_id=spec.tenant_id,
        role=spec.role.value,
        phone=spec.phone,
        email=spec.email,
        display_name=spec.display_name,
        password_hash=password_hash,
        invitation_code=await _new_invitation_code(repo),
        invited_by=invited_by,
        created_at=now,
    )
    repo.add(user)
    await repo.flush()
    if spec.role in DRIVER_ROLES:
        token = await _new_app_token(repo)
        repo.add(IdTokenRow(token=token, type=APP_TOKEN_TYPE, user_id=user.id, created_at=now))
    return user


async def _new_invitation_code(repo: AccountsRepository) -> str:
    while True:  # 32^8 codes: a clash is rare, and checked rather than left to the constraint
        code = "".join(secrets.choice(_INVITATION_ALPHABET) for _ in range(8))
        if await repo.user_by_invitation(code) is None:
            return code


async def _new_app_token(repo: AccountsRepository) -> str:
    while True:  # 19 characters: within OCPP 1.6's 20-character idTag
        token = "APP" + secrets.token_hex(8).upper()
        if await repo.id_token(token) is None:
            return token


async def _open_session(repo: AccountsRepository, user: UserRow, config: AuthConfig, clock: Clock) -> Login:
    assert user.id is not None
    now, refresh_token = clock.now(), new_refresh_token()
    row = AuthSessionRow(
        user_id=user.id,
        refresh_hash=token_hash(refresh_token),
        expires_at=now + REFRESH_TTL,
        created_at=now,
        last_used_at=now,
    )
    repo.add(row)
    await repo.flush()
    assert row.id is not None
    return _login(user, row.id, refresh_token, config, clock)


def _login(user: UserRow, session_id: int, refresh_token: str, config: AuthConfig, clock: Clock) -> Login:
    assert user.id is not None
    identity = Identity(user.id, user.tenant_id, Role(user.role), session_id)
    claims = AccessClaims(user.id, user.tenant_id, identity.role, session_id, user.token_version)
    access = issue_access(claims, config.secret_key, clock.now())
    return Login(identity, access, refresh_token, int(ACCESS_TTL.total_seconds()))


async def _replace_password(
    repo: AccountsRepository, user: UserRow, password_hash: str, clock: Clock
) -> None:
    assert user.id is not None
    user.password_hash = password_hash
    user.token_version += 1
    await repo.revoke_sessions(user.id, clock.now())


async def _hash(password: str) -> str:
    return await asyncio.to_thread(hash_password, check_password(password))


@cache
def _dummy_hash() -> str:
    return hash_password(secrets.token_urlsafe(16))
