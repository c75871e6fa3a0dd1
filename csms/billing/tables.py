"""Tables of money: the double-entry ledger, payment orders and their callbacks, wallet holds,
refunds, and coupons. Postings are only ever added; corrections are reversing entries."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

import chargepoints.tables  # noqa: F401  (holds and refunds refer to transactions)
import csms.accounts.tables  # noqa: F401  (wallets belong to users, revenue to tenants)
from csms.db import Money, UtcDateTime


class LedgerAccountRow(SQLModel, table=True):
    """One account of the ledger, in one currency: a driver's wallet, a tenant's revenue ...

    ``owner`` names whose it is ("user:12", "tenant:3", "provider:stripe", "platform").
    ``balance`` is a cache of the sum of its postings, kept in the posting's transaction and
    checked against them by a job; the postings are the truth.
    """

    __tablename__ = "ledger_accounts"
    __table_args__ = (UniqueConstraint("kind", "owner", "currency"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=20)  # csms.billing.model.AccountKind
    owner: str = Field(max_length=60)
    currency: str = Field(max_length=3)
    balance: Decimal = Field(default=Decimal(0), sa_type=Money)
    created_at: datetime = Field(sa_type=UtcDateTime)


class LedgerEntryRow(SQLModel, table=True):
    """A balanced set of postings made at once. ``key`` makes it happen once: a retried
    recharge, settlement or refund finds the entry its first attempt made. A reversal names
    the entry it undoes, and an entry is reversed at most once."""

    __tablename__ = "ledger_entries"
    __table_args__ = (UniqueConstraint("key"), UniqueConstraint("reverses_id"))

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=120)
    kind: str = Field(max_length=20)  # csms.billing.model.EntryKind
    memo: str | None = Field(default=None, max_length=255)
    reverses_id: int | None = Field(default=None, foreign_key="ledger_entries.id")
    created_by: str = Field(max_length=100)
    created_at: datetime = Field(sa_type=UtcDateTime)


class LedgerPostingRow(SQLModel, table=True):
    """One side of an entry: a signed amount on one account (credit +, debit -)."""

    __tablename__ = "ledger_postings"
    __table_args__ = (Index(None, "account_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    entry_id: int = Field(foreign_key="ledger_entries.id", index=True)
    account_id: int = Field(foreign_key="ledger_accounts.id")
    amount: Decimal = Field(sa_type=Money)
    currency: str = Field(max_length=3)


class RechargePackageRow(SQLModel, table=True):
    """A recharge promotion: pay ``pay``, get ``pay + bonus`` in the wallet."""

    __tablename__ = "recharge_packages"

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: int = Field(foreign_key="tenants.id", ondelete="CASCADE", index=True)
    name: str = Field(max_length=100)
    pay: Decimal = Field(sa_type=Money)
    bonus: Decimal = Field(default=Decimal(0), sa_type=Money)
    currency: str = Field(max_length=3)
    active: bool = True
    created_at: datetime = Field(sa_type=UtcDateTime)


class PaymentOrderRow(SQLModel, table=True):
    """A driver's recharge, from the order we ask a provider for to the money arriving."""

    __tablename__ = "payment_orders"
    __table_args__ = (UniqueConstraint("provider", "provider_ref"), Index(None, "user_id", "created_at"))

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", ondelete="CASCADE")
    tenant_id: int = Field(foreign_key="tenants.id", ondelete="CASCADE")
    provider: str = Field(max_length=20)
    provider_ref: str | None = Field(default=None, max_length=100)
    amount: Decimal = Field(sa_type=Money)
    bonus: Decimal = Field(default=Decimal(0), sa_type=Money)
    refunded: Decimal = Field(default=Decimal(0), sa_type=Money)
    currency: str = Field(max_length=3)
    package_id: int | None = Field(default=None, foreign_key="recharge_packages.id", ondelete="SET NULL")
    status: str = Field(default="Created", max_length=12)  # Created, Paid, Failed, Closed
    created_at: datetime = Field(sa_type=UtcDateTime)
    paid_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class PaymentEventRow(SQLModel, table=True):
    """A provider's callback, kept by its event id: stored in the transaction that acts on it,
    so a replayed callback finds it and changes nothing."""

    __tablename__ = "payment_events"
    __table_args__ = (UniqueConstraint("provider", "event_id"),)

    id: int | None = Field(default=None, primary_key=True)
    provider: str = Field(max_length=20)
    event_id: str = Field(max_length=120)
    order_id: int | None = Field(default=None, foreign_key="payment_orders.id", ondelete="SET NULL")
    kind: str = Field(max_length=40)
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    received_at: datetime = Field(sa_type=UtcDateTime)


class WalletHoldRow(SQLModel, table=True):
    """Money set aside from a wallet while a session charges; settled once its CDR is final."""

    __tablename__ = "wallet_holds"

    transaction_id: int = Field(primary_key=True, foreign_key="transactions.id", ondelete="CASCADE")
    user_id: int = Field(foreign_key="users.id", ondelete="CASCADE", index=True)
    amount: Decimal = Field(sa_type=Money)
    currency: str = Field(max_length=3)
    status: str = Field(default="Held", max_length=10)  # Held, Settled, Released
    created_at: datetime = Field(sa_type=UtcDateTime)
    settled_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class RefundRow(SQLModel, table=True):
    """A refund a driver or operator asked for, approved by an operator, paid back to the
    original payment."""

    __tablename__ = "refunds"
    __table_args__ = (UniqueConstraint("key"),)

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=120)
    user_id: int = Field(foreign_key="users.id", ondelete="CASCADE", index=True)
    order_id: int | None = Field(default=None, foreign_key="payment_orders.id")
    transaction_id: int | None = Field(default=None, foreign_key="transactions.id")
    amount: Decimal = Field(sa_type=Money)
    currency: str = Field(max_length=3)
    reason: str | None = Field(default=None, max_length=255)
    status: str = Field(default="Requested", max_length=10)  # Requested, Approved, Rejected, Paid
    requested_by: str = Field(max_length=100)
    decided_by: str | None = Field(default=None, max_length=100)
    created_at: datetime = Field(sa_type=UtcDateTime)
    decided_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class CouponTemplateRow(SQLModel, table=True):
    """What a coupon gives and who may use it. ``issued`` counts coupons handed out; with a
    ``stock`` it only rises while below it (one conditional UPDATE), so a flash campaign never
    oversells."""

    __tablename__ = "coupon_templates"

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: int = Field(foreign_key="tenants.id", ondelete="CASCADE", index=True)
    name: str = Field(max_length=100)
    kind: str = Field(max_length=20)  # amount_off, percent_off, free_service_fee
    value: Decimal = Field(default=Decimal(0), sa_type=Money)  # amount, or percent
    cap: Decimal | None = Field(default=None, sa_type=Money)  # most a percent coupon takes off
    min_spend: Decimal = Field(default=Decimal(0), sa_type=Money)
    currency: str = Field(max_length=3)
    station_ids: list[str] = Field(default_factory=list, sa_type=JSON)  # empty: every station
    valid_from: datetime | None = Field(default=None, sa_type=UtcDateTime)
    valid_to: datetime | None = Field(default=None, sa_type=UtcDateTime)
    valid_days: int | None = None  # a coupon expires this many days after it is issued
    per_user_limit: int = 1
    stock: int | None = None
    issued: int = 0
    points_price: int | None = None  # drivers may redeem this many points for one; None: not for points
    created_at: datetime = Field(sa_type=UtcDateTime)


class CouponRow(SQLModel, table=True):
    """One coupon in a driver's hands; ``serial`` (1..stock) makes each unit of stock one row."""

    __tablename__ = "coupons"
    __table_args__ = (
        UniqueConstraint("template_id", "serial"),
        UniqueConstraint("transaction_id"),
        Index(None, "user_id", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    template_id: int = Field(foreign_key="coupon_templates.id", ondelete="CASCADE")
    serial: int
    user_id: int = Field(foreign_key="users.id", ondelete="CASCADE")
    source: str = Field(max_length=12)  # direct, campaign, invitation, points
    status: str = Field(default="Available", max_length=10)  # Available, Used, Expired
    issued_at: datetime = Field(sa_type=UtcDateTime)
    expires_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    reminded_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    used_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    transaction_id: int | None = Field(default=None, foreign_key="transactions.id")
    discount: Decimal | None = Field(default=None, sa_type=Money)


class PointsEntryRow(SQLModel, table=True):
    """Points a driver earned (+) or spent (-). ``key`` names why, so nothing is earned twice:
    "kwh:<tx>", "spend:<tx>", "sign_in:<user>:<date>", "invited:<invitee>", "redeem:<coupon>"."""

    __tablename__ = "points_entries"
    __table_args__ = (UniqueConstraint("key"), Index(None, "user_id", "id"))

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", ondelete="CASCADE")
    key: str = Field(max_length=80)
    points: int
    reason: str = Field(max_length=12)  # kwh, spend, sign_in, invitation, redeem
    created_at: datetime = Field(sa_type=UtcDateTime)


class VipLevelRow(SQLModel, table=True):
    """A tenant's VIP level: drivers who spent at least ``min_spend`` over the last 90 days pay
    ``service_fee_discount`` (a fraction, 0.2 = 20 %) less service fee."""

    __tablename__ = "vip_levels"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: int = Field(foreign_key="tenants.id", ondelete="CASCADE")
    name: str = Field(max_length=50)
    min_spend: Decimal = Field(sa_type=Money)
    service_fee_discount: Decimal = Field(sa_type=Money)
    created_at: datetime = Field(sa_type=UtcDateTime)


class InvoiceRow(SQLModel, table=True):
    """A post-paid (fleet) account's sessions of one month, billed together."""

    __tablename__ = "invoices"
    __table_args__ = (UniqueConstraint("user_id", "period", "currency"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", ondelete="CASCADE")
    tenant_id: int = Field(foreign_key="tenants.id", ondelete="CASCADE")
    period: str = Field(max_length=7)  # YYYY-MM, UTC
    currency: str = Field(max_length=3)
    sessions: int
    energy_wh: int
    total: Decimal = Field(sa_type=Money)
    status: str = Field(default="Issued", max_length=8)  # Issued, Paid
    created_at: datetime = Field(sa_type=UtcDateTime)
    paid_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
