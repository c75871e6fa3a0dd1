"""One-time SMS codes: six digits, kept only as a keyed hash, short-lived, single use.

A code dies after ``MAX_ATTEMPTS`` wrong guesses, so guessing one of a million values is
hopeless; the send limits stop a caller from texting a phone without end (and running up the bill).
"""

from __future__ import annotations

import hmac
import secrets
from datetime import datetime, timedelta

from csms.accounts.errors import TooManyCodes
from csms.accounts.model import AuthConfig, CodePurpose
from csms.accounts.repository import AccountsRepository
from csms.accounts.tables import SmsCodeRow
from csms.accounts.tokens import keyed_hash

MAX_ATTEMPTS = 5
MIN_INTERVAL = timedelta(seconds=60)
HOURLY_LIMIT = 5


def new_code() -> str:
    return f"{secrets.randbelow(1_000_000):06d}"


def code_hash(key: str, tenant_id: int, phone: str, purpose: CodePurpose, code: str) -> str:
    return keyed_hash(key, f"{tenant_id}:{phone}:{purpose.value}:{code}")


def retry_after(sent: list[datetime], now: datetime) -> int | None:
    """Seconds until another code may go to a phone that got codes at ``sent`` (newest first)."""
    waits = []
    if sent and now - sent[0] < MIN_INTERVAL:
        waits.append(MIN_INTERVAL - (now - sent[0]))
    if len(sent) >= HOURLY_LIMIT and now - sent[HOURLY_LIMIT - 1] < timedelta(hours=1):
        waits.append(timedelta(hours=1) - (now - sent[HOURLY_LIMIT - 1]))
    return max(1, int(max(waits).total_seconds() + 0.999)) if waits else None


async def issue(
    repo: AccountsRepository,
    tenant_id: int,
    phone: str,
    purpose: CodePurpose,
    config: AuthConfig,
    now: datetime,
) -> str:
    """Store a new code for the phone and return it in clear (for the text message only)."""
    wait = retry_after(await repo.codes_sent_since(tenant_id, phone, now - timedelta(hours=1)), now)
    if wait is not None:
        raise TooManyCodes(wait)
    code = new_code()
    repo.add(
        SmsCodeRow(
            tenant_id=tenant_id,
            phone=phone,
            purpose=purpose.value,
            code_hash=code_hash(config.secret_key, tenant_id, phone, purpose, code),
            expires_at=now + config.code_ttl,
            created_at=now,
        )
    )
    return code


async def spend(
    repo: AccountsRepository,
    tenant_id: int,
    phone: str,
    purpose: CodePurpose,
    code: str,
    config: AuthConfig,
    now: datetime,
) -> bool:
    """Mark the phone's latest code for ``purpose`` used if ``code`` is it; False otherwise.

    Only the latest code counts: asking for a new one retires the old. A wrong guess is counted
    in the caller's transaction, which must commit even when it then refuses the request.
    """
    row = await repo.latest_code(tenant_id, phone, purpose.value)
    if row is None or row.used_at is not None or row.expires_at <= now or row.attempts >= MAX_ATTEMPTS:
        return False
    expected = code_hash(config.secret_key, tenant_id, phone, purpose, code)
    if not hmac.compare_digest(row.code_hash, expected):
        row.attempts += 1
        return False
    row.used_at = now
    return True
