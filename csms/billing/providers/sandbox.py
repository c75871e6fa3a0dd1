"""A provider for development and tests that behaves like a real one: its checkout needs no
payment, and a short while later it calls our webhook, signed like Stripe with a secret derived
from the server's key. It can deliver each event twice and a "failed" before the "paid", as real
providers do on retries, so the callback handling is exercised the same way.

How it reaches the webhook is a ``Deliver``: over HTTP to the server's public URL, or straight
into the same verify-and-handle path the webhook route uses (no HTTP; one process)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import secrets
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime

import httpx

from chargepoints.ports import Clock
from csms.billing.payments import Callback, Checkout
from csms.billing.providers.stripe import lower, minor_units, read_event
from csms.billing.signatures import stripe_header, verify_stripe
from csms.billing.tables import PaymentOrderRow

log = logging.getLogger(__name__)

Deliver = Callable[[dict[str, str], bytes], Awaitable[None]]


def sandbox_secret(server_key: str) -> str:
    """The webhook secret, derived so that every node of one deployment shares it."""
    return hmac.new(server_key.encode(), b"csms sandbox payments", hashlib.sha256).hexdigest()


def over_http(url: str, client: httpx.AsyncClient) -> Deliver:
    """Deliver by POSTing to our own webhook at ``url``, as a provider would."""

    async def deliver(headers: dict[str, str], body: bytes) -> None:
        answer = await client.post(url, content=body, headers=headers)
        answer.raise_for_status()

    return deliver


class SandboxProvider:
    name = "sandbox"

    def __init__(
        self,
        secret: str,
        *,
        clock: Clock,
        tolerance_s: int,
        delay_s: float = 0.2,
        twice: bool = False,
        out_of_order: bool = False,
    ) -> None:
        self.secret, self.clock, self.tolerance_s = secret, clock, tolerance_s
        self.delay_s, self.twice, self.out_of_order = delay_s, twice, out_of_order
        self.deliver: Deliver | None = None  # set once the webhook path exists (see module doc)
        self._tasks: set[asyncio.Task[None]] = set()

    async def checkout(self, order: PaymentOrderRow) -> Checkout:
        ref = f"sbx_{secrets.token_hex(12)}"
        events = [self._event("payment_intent.succeeded", ref, order)]
        if self.out_of_order:
            events.insert(0, self._event("payment_intent.payment_failed", ref, order))
        if self.twice:
            events.append(events[-1])
        task = asyncio.create_task(self._send(events))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return Checkout(
            ref, None, {"order_id": str(order.id), "amount": str(order.amount), "currency": order.currency}
        )

    def verify(self, headers: Mapping[str, str], raw_body: bytes, now: datetime) -> Callback:
        verify_stripe(lower(headers).get("stripe-signature"), raw_body, self.secret, now, self.tolerance_s)
        return read_event(raw_body)

    async def stop(self) -> None:
        """Cancel the deliveries still waiting (shut-down)."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def _event(self, kind: str, ref: str, order: PaymentOrderRow) -> bytes:
        obj = {
            "id": ref,
            "object": "payment_intent",
            "amount_received": minor_units(order.amount, order.currency),
            "currency": order.currency.lower(),
            "metadata": {"order_id": str(order.id)},
        }
        event = {"id": f"evt_{secrets.token_hex(12)}", "type": kind, "data": {"object": obj}}
        return json.dumps(event).encode()

    async def _send(self, events: list[bytes]) -> None:
        for body in events:
            await asyncio.sleep(self.delay_s)
            stamp = int(self.clock.now().timestamp())
            headers = {
                "Stripe-Signature": stripe_header(self.secret, stamp, body),
                "Content-Type": "application/json",
            }
            try:
                assert self.deliver is not None, "SandboxProvider.deliver was not wired"
                await self.deliver(headers, body)
            except Exception:  # a provider logs a failed delivery and carries on with the next
                log.exception("Sandbox delivery failed")
