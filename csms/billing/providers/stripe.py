"""Stripe: a hosted Checkout Session per order, and its webhook events signed with the
endpoint secret (``Stripe-Signature``). The sandbox speaks the same event format."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import httpx

from csms.billing.payments import Callback, Checkout, ProviderUnavailable
from csms.billing.signatures import MalformedCallback, verify_stripe
from csms.billing.tables import PaymentOrderRow
from tariffs.currency import minor_unit

API = "https://api.stripe.com"
_KINDS = {  # Stripe's event type -> our kind; others are kept as they are
    "checkout.session.completed": "paid",
    "checkout.session.async_payment_succeeded": "paid",
    "payment_intent.succeeded": "paid",
    "checkout.session.async_payment_failed": "failed",
    "payment_intent.payment_failed": "failed",
    "checkout.session.expired": "closed",
    "payment_intent.canceled": "closed",
}


@dataclass(frozen=True, slots=True)
class StripeConfig:
    api_key: str
    webhook_secret: str
    success_url: str
    cancel_url: str


def minor_units(amount: Decimal, currency: str) -> int:
    """Stripe counts in the currency's smallest unit (cents, fen; yen as they are)."""
    return int(amount / minor_unit(currency.upper()))


def read_event(raw_body: bytes) -> Callback:
    """A Stripe event (``payment_intent.*`` or ``checkout.session.*``) in our terms; the order id
    travels in the object's metadata or as the session's client_reference_id."""
    try:
        event: dict[str, Any] = json.loads(raw_body)
        kind = _KINDS.get(event["type"], str(event["type"]))
        obj: dict[str, Any] = event["data"]["object"]
        reference = obj.get("client_reference_id") or (obj.get("metadata") or {}).get("order_id")
        cents = obj.get("amount_total", obj.get("amount_received"))
        currency = obj.get("currency")
        paid = kind == "paid" and obj.get("payment_status", "paid") == "paid"
        return Callback(
            event_id=str(event["id"]),
            provider_ref=obj.get("id"),
            order_id=int(reference) if reference is not None else None,
            kind=kind if paid or kind != "paid" else str(event["type"]),
            paid=paid,
            amount=None
            if cents is None or currency is None
            else Decimal(int(cents)) * minor_unit(currency.upper()),
            currency=currency.upper() if currency else None,
            payload=event,
        )
    except (ValueError, KeyError, TypeError, AttributeError):
        raise MalformedCallback("Not a Stripe event") from None


def lower(headers: Mapping[str, str]) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


class StripeProvider:
    name = "stripe"

    def __init__(self, config: StripeConfig, *, tolerance_s: int, client: httpx.AsyncClient) -> None:
        self.config, self.tolerance_s, self.client = config, tolerance_s, client

    async def checkout(self, order: PaymentOrderRow) -> Checkout:
        """A Checkout Session; its id is the order's provider reference, its url the pay page."""
        form = {
            "mode": "payment",
            "client_reference_id": str(order.id),
            "metadata[order_id]": str(order.id),
            "payment_intent_data[metadata][order_id]": str(order.id),
            "line_items[0][quantity]": "1",
            "line_items[0][price_data][currency]": order.currency.lower(),
            "line_items[0][price_data][unit_amount]": str(minor_units(order.amount, order.currency)),
            "line_items[0][price_data][product_data][name]": "Wallet recharge",
            "success_url": self.config.success_url,
            "cancel_url": self.config.cancel_url,
        }
        try:
            answer = await self.client.post(
                f"{API}/v1/checkout/sessions",
                data=form,
                auth=(self.config.api_key, ""),
                headers={"Idempotency-Key": f"order-{order.id}"},
            )
            answer.raise_for_status()
            session = answer.json()
            return Checkout(str(session["id"]), str(session["url"]), {})
        except (httpx.HTTPError, ValueError, KeyError) as exc:
            raise ProviderUnavailable(f"Stripe did not open a checkout: {exc}") from exc

    def verify(self, headers: Mapping[str, str], raw_body: bytes, now: datetime) -> Callback:
        signature = lower(headers).get("stripe-signature")
        verify_stripe(signature, raw_body, self.config.webhook_secret, now, self.tolerance_s)
        return read_event(raw_body)
