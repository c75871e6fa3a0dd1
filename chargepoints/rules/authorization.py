"""Whether an id token may charge, from what the operator stored about it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from chargepoints.model import AuthorizationResult, AuthorizationStatus, TokenStatus


@dataclass(frozen=True, slots=True)
class StoredToken:
    status: TokenStatus
    expires_at: datetime | None = None
    group_id: str | None = None
    master_pass: bool = False


def decide(
    token: StoredToken | None, *, now: datetime, in_other_transaction: bool = False
) -> AuthorizationResult:
    """Blocked beats expired beats concurrent use; unknown tokens are refused.

    ``in_other_transaction`` yields ConcurrentTx (OCPP 1.6 §7.1 AuthorizationStatus) unless the
    token is a master pass, which exists to stop anybody's session.
    """
    if token is None:
        return AuthorizationResult(AuthorizationStatus.UNKNOWN)
    expires, group = token.expires_at, token.group_id
    if token.status is TokenStatus.BLOCKED:
        return AuthorizationResult(AuthorizationStatus.BLOCKED, expires, group)
    if token.status is TokenStatus.INVALID:
        return AuthorizationResult(AuthorizationStatus.INVALID, expires, group)
    if token.status is TokenStatus.EXPIRED or (expires is not None and expires <= now):
        return AuthorizationResult(AuthorizationStatus.EXPIRED, expires, group)
    if in_other_transaction and not token.master_pass:
        return AuthorizationResult(AuthorizationStatus.CONCURRENT_TX, expires, group)
    return AuthorizationResult(AuthorizationStatus.ACCEPTED, expires, group)
