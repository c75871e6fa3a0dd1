"""Tables behind the API's safety features: idempotency keys, signing clients and their nonces."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Index, LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel

from csms.db import UtcDateTime


class IdempotencyKeyRow(SQLModel, table=True):
    """One ``Idempotency-Key`` of one caller: claimed while its request runs (``status`` None),
    then holding the answer that a retry gets back. The unique pair is what stops two
    concurrent requests with the same key from both running."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("caller", "key"), Index(None, "expires_at"))

    id: int | None = Field(default=None, primary_key=True)
    caller: str = Field(max_length=100)  # "user:42" or "ip:203.0.113.9"
    key: str = Field(max_length=255)
    method: str = Field(max_length=10)
    path: str = Field(max_length=2048)
    body_hash: str = Field(max_length=64)  # sha256 hex of the request body
    status: int | None = None
    headers: dict[str, str] = Field(default_factory=dict, sa_type=JSON)
    body: bytes | None = Field(default=None, sa_type=LargeBinary)
    created_at: datetime = Field(sa_type=UtcDateTime)
    expires_at: datetime = Field(sa_type=UtcDateTime)


class ApiClientRow(SQLModel, table=True):
    """An app that may sign its requests. No secret is stored: it is derived from the server's
    secret key and ``client_id`` whenever a signature is checked (see ``web.signing``)."""

    __tablename__ = "api_clients"

    id: int | None = Field(default=None, primary_key=True)
    client_id: str = Field(unique=True, max_length=64)
    name: str = Field(max_length=100)
    require_signature: bool = True
    created_at: datetime = Field(sa_type=UtcDateTime)


class ApiNonceRow(SQLModel, table=True):
    """A nonce a client has used; the unique pair turns a replayed request into a failed insert."""

    __tablename__ = "api_nonces"
    __table_args__ = (UniqueConstraint("client_id", "nonce"), Index(None, "seen_at"))

    id: int | None = Field(default=None, primary_key=True)
    client_id: int = Field(foreign_key="api_clients.id", ondelete="CASCADE")
    nonce: str = Field(max_length=128)
    seen_at: datetime = Field(sa_type=UtcDateTime)
